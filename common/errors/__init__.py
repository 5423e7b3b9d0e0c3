"""One error format for every failure: RFC 9457 `application/problem+json` with a stable `code`.

Services raise `ApplicationError` subclasses; `drf_exception_handler` and the Django handlers
(`handler400/403/404/500`, CSRF failure, rate-limit view) turn every failure into the same body.
"""

from .exceptions import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    RequestTimeout,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from .handlers import (
    application_error_response,
    as_service_unavailable,
    bad_request,
    csrf_failure,
    drf_exception_handler,
    page_not_found,
    permission_denied,
    ratelimited_view,
    server_error,
)
from .problems import PROBLEM_CONTENT_TYPE, FieldError, problem_response

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "ApplicationError",
    "Conflict",
    "FieldError",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "RequestTimeout",
    "ServiceUnavailable",
    "Unauthenticated",
    "ValidationFailed",
    "application_error_response",
    "as_service_unavailable",
    "bad_request",
    "csrf_failure",
    "drf_exception_handler",
    "page_not_found",
    "permission_denied",
    "problem_response",
    "ratelimited_view",
    "server_error",
]
