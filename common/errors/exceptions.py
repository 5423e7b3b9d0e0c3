"""The application's exception family. Services raise these; handlers render them."""

from typing import Any

from .problems import FieldError


class ApplicationError(Exception):
    """Base of every error a service raises on purpose. `code` is stable and documented."""

    status = 400
    code = "bad_request"
    default_detail = "The request could not be processed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        if code:
            self.code = code
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)


class ValidationFailed(ApplicationError):
    status = 400
    code = "validation_error"
    default_detail = "The request body or parameters are invalid."


class Unauthenticated(ApplicationError):
    status = 401
    code = "not_authenticated"
    default_detail = "Authentication credentials were not provided or are invalid."


class PermissionDenied(ApplicationError):
    status = 403
    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class NotFound(ApplicationError):
    status = 404
    code = "not_found"
    default_detail = "The resource was not found."


class Conflict(ApplicationError):
    status = 409
    code = "conflict"
    default_detail = "The request conflicts with the current state of the resource."


class RequestTimeout(ApplicationError):
    """The client stopped sending the request body (a streamed body's idle timeout, common/asgi/streaming.py)."""

    status = 408
    code = "request_timeout"
    default_detail = "The request body stopped arriving."


class RateLimited(ApplicationError):
    status = 429
    code = "rate_limited"
    default_detail = "Too many requests; retry after the time given in Retry-After."


class ServiceUnavailable(ApplicationError):
    """A backend (database, cache) is unreachable. Carries `Retry-After`
    (SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS) unless the raiser gives its own."""

    status = 503
    code = "service_unavailable"
    default_detail = "A service this request needs is unavailable; retry later."

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        if "Retry-After" not in self.headers:
            from django.conf import settings

            self.headers["Retry-After"] = str(int(getattr(settings, "SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS", 5)))
