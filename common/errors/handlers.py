"""Every failure, from DRF or plain Django, leaves as one problem+json document."""

import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions as drf
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings

from .exceptions import ApplicationError, ServiceUnavailable
from .problems import PROBLEM_CONTENT_TYPE, FieldError, problem_body, problem_response

logger = logging.getLogger(__name__)

_RATELIMITED_DETAIL = "Too many requests; retry later."
_RATELIMITED_HEADERS = {"Retry-After": "60"}

_DRF_CODES: dict[type[drf.APIException], str] = {
    drf.ParseError: "malformed_request",
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "authentication_failed",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "rate_limited",
}


def flatten_errors(detail: Any, attr: str | None = None) -> list[FieldError]:
    """Turn DRF's nested error detail into a flat list of `{attr, code, detail}`."""
    if isinstance(detail, dict):
        flat: list[FieldError] = []
        for key, value in detail.items():
            child = None if key in ("non_field_errors", api_settings.NON_FIELD_ERRORS_KEY) else str(key)
            flat.extend(flatten_errors(value, _join(attr, child)))
        return flat
    if isinstance(detail, list):
        flat = []
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            flat.extend(flatten_errors(value, _join(attr, str(index)) if nested else attr))
        return flat
    # A message may echo the input ('"\ud800" is not a valid choice.'): a lone surrogate could not be
    # encoded as UTF-8 by the renderer (a 500), so it becomes U+FFFD.
    text = str(detail).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return [FieldError(attr=attr, code=getattr(detail, "code", None) or "invalid", detail=text)]


def _join(parent: str | None, child: str | None) -> str | None:
    if parent is None:
        return child
    if child is None:
        return parent
    return f"{parent}.{child}"


def _problem_drf_response(
    status: int,
    code: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    return Response(
        problem_body(status=status, code=code, detail=detail, errors=errors, extra=extra),
        status=status,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _unavailable_types() -> tuple[type[BaseException], ...]:
    from django.db import InterfaceError, OperationalError

    types: list[type[BaseException]] = [OperationalError, InterfaceError]
    try:  # psycopg is absent in an embedded-only install
        import psycopg
        import psycopg_pool
    except ImportError:
        pass
    else:
        types += [psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout]
    return tuple(types)


def as_service_unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """A 503 `service_unavailable` (with Retry-After) when `exc` says the database is unreachable.

    django.db's OperationalError/InterfaceError (what Django raises for psycopg's, a pool timeout
    included, and for SQLite's "database is locked") and psycopg's own, should one escape Django's
    wrapper. Anything else: None.
    """
    if not isinstance(exc, _unavailable_types()):
        return None
    logger.warning("database unavailable: %s", type(exc).__name__, exc_info=exc)
    return ServiceUnavailable("The database is unavailable; retry later.")


def application_error_response(exc: ApplicationError) -> HttpResponse:
    """An application error as a plain Django problem+json response (outside DRF's exception handler)."""
    return problem_response(
        status=exc.status, code=exc.code, detail=exc.detail, errors=exc.errors, headers=exc.headers, extra=exc.extra
    )


def drf_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: map every known exception to problem+json; let unknown ones reach handler500."""
    response = _drf_problem(exc)
    if response is not None:
        _render_as_json(context)
    return response


def _render_as_json(context: dict[str, Any]) -> None:
    """Errors are JSON even when the client negotiated the browsable API's HTML."""
    request = context.get("request")
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = PROBLEM_CONTENT_TYPE


def _drf_problem(exc: Exception) -> Response | None:
    exc = as_service_unavailable(exc) or exc
    if isinstance(exc, ApplicationError):
        return _problem_drf_response(exc.status, exc.code, exc.detail, exc.errors, exc.headers, exc.extra)
    if isinstance(exc, Ratelimited):  # django-ratelimit's block=True; it subclasses PermissionDenied
        return _problem_drf_response(429, "rate_limited", _RATELIMITED_DETAIL, headers=dict(_RATELIMITED_HEADERS))
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(detail=exc.messages)
    elif isinstance(exc, RequestDataTooBig):
        return _problem_drf_response(413, "payload_too_large", "The request body exceeds the size limit.")
    if not isinstance(exc, drf.APIException):
        return None

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    wait = getattr(exc, "wait", None)
    if isinstance(exc, drf.Throttled) and wait is not None:
        headers["Retry-After"] = str(max(1, int(wait)))

    if isinstance(exc, drf.ValidationError):
        errors = flatten_errors(exc.detail)
        detail = errors[0]["detail"] if len(errors) == 1 else "The request has invalid fields; see `errors`."
        return _problem_drf_response(400, "validation_error", detail, errors, headers)

    code = _DRF_CODES.get(type(exc)) or _code_from_detail(exc)
    if isinstance(exc, drf.ParseError) and "JSON" in str(exc.detail):
        code = "malformed_json"
    elif isinstance(exc, drf.PermissionDenied) and str(exc.detail).startswith("CSRF Failed"):
        # SessionAuthentication's own CSRF check (DRF views are csrf_exempt for Django's middleware).
        code = "csrf_failed"
    return _problem_drf_response(exc.status_code, code, str(exc.detail), None, headers)


def _code_from_detail(exc: drf.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    for klass, code in _DRF_CODES.items():
        if isinstance(exc, klass):
            return code
    return "error"


# --- Django's own handlers (config/urls.py points at these) ------------------------------------------


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return problem_response(status=413, code="payload_too_large", detail="The request body exceeds the size limit.")
    if exception is not None and type(exception).__name__ == "DisallowedHost":
        return problem_response(status=400, code="disallowed_host", detail="The Host header is not allowed.")
    if isinstance(exception, SuspiciousOperation):
        return problem_response(status=400, code="bad_request", detail="The request was rejected as malformed.")
    return problem_response(status=400, code="bad_request", detail="The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, Ratelimited):
        return ratelimited_view(request, exception)
    return problem_response(
        status=403, code="permission_denied", detail="You do not have permission to perform this action."
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(status=404, code="not_found", detail="No resource exists at this path.")


def server_error(request: HttpRequest) -> HttpResponse:
    return problem_response(status=500, code="server_error", detail="An unexpected error occurred; it has been logged.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return problem_response(status=403, code="csrf_failed", detail=f"CSRF verification failed: {reason}".strip())


def ratelimited_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """django-ratelimit's RATELIMIT_VIEW and its `block=True` decorator: 429 problems, not 403.

    The decorator does not say when its window ends, so Retry-After is a fixed minute; code that can
    should use `common.ratelimit.check_rate` + `rate_limited_error`, which send the exact headers.
    """
    return problem_response(
        status=HTTPStatus.TOO_MANY_REQUESTS,
        code="rate_limited",
        detail=_RATELIMITED_DETAIL,
        headers=_RATELIMITED_HEADERS,
    )
