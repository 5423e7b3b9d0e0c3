"""Errors of the outbound client. Both carry a stable `code` and a human `detail`."""

from common.errors.exceptions import ApplicationError
from common.errors.problems import FieldError


class OutboundBlocked(ApplicationError):
    """The target URL is refused (bad syntax, scheme, host or address). Nothing was sent.

    Codes: url_invalid, url_scheme_not_allowed, url_host_not_allowed, url_unresolvable, request_invalid.
    Raised from a view it renders as a 422 problem; serializers turn it into a field error with
    `as_field_error(attr)`.
    """

    status = 422
    code = "url_not_allowed"
    default_detail = "The URL is not allowed as an outbound target."

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, code=code)

    def as_field_error(self, attr: str) -> FieldError:
        return {"attr": attr, "code": self.code, "detail": self.detail}


class OutboundError(Exception):
    """The request was allowed but the exchange failed in transport.

    Codes: timeout, connection_failed, tls_error, protocol_error.
    """

    def __init__(self, code: str, detail: str, *, before_send: bool = False) -> None:
        self.code = code
        self.detail = detail
        self.before_send = before_send  # nothing reached the target (safe to retry at once)
        super().__init__(f"{code}: {detail}")
