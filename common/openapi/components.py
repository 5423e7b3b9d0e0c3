"""Shared OpenAPI components: the RFC 9457 `Problem` schema, the error responses and the rate-limit headers.

They are plain OpenAPI objects. `AutoSchema` registers them in the generator's component registry when
an operation refers to them, so a schema holds only the components its operations use.
"""

from typing import Any

from common.errors import PROBLEM_CONTENT_TYPE
from common.errors.problems import problem_body

PROBLEM_SCHEMA_NAME = "Problem"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "An RFC 9457 problem document. Every non-2xx response has this shape and the media type "
        f"`{PROBLEM_CONTENT_TYPE}`. `code` is stable; clients branch on it, not on `detail`."
    ),
    "properties": {
        "type": {"type": "string", "format": "uri", "description": "A URI naming the kind of problem."},
        "title": {"type": "string", "description": "The HTTP status phrase."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status code."},
        "detail": {"type": "string", "description": "What went wrong with this request, for people."},
        "code": {"type": "string", "description": "A stable machine-readable error code.", "example": "not_found"},
        "errors": {
            "type": "array",
            "description": "Field errors; present only when the problem is about request fields.",
            "items": {
                "type": "object",
                "properties": {
                    "attr": {
                        "type": "string",
                        "nullable": True,
                        "description": "The field path (dotted for nested fields); null for the whole body.",
                    },
                    "code": {"type": "string", "description": "A stable code for this field error."},
                    "detail": {"type": "string", "description": "What is wrong with this field."},
                },
                "required": ["attr", "code", "detail"],
            },
        },
    },
    "required": ["type", "title", "status", "detail", "code"],
    "example": problem_body(status=404, code="not_found", detail="The resource was not found."),
}


def _header(description: str, schema: dict[str, Any], example: Any) -> dict[str, Any]:
    return {"description": description, "schema": {**schema, "example": example}}


_INT = {"type": "integer", "minimum": 0}
_STR = {"type": "string"}

# Names as they appear on the wire; the components use the same names.
RATE_LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Policy": _header(
        "The quota that applies: policy name, `q` requests per `w` seconds (IETF RateLimit header fields draft).",
        _STR,
        '"anon";q=100;w=900',
    ),
    "RateLimit": _header(
        "What is left: `r` requests remaining, `t` seconds until the window resets (IETF draft).",
        _STR,
        '"anon";r=99;t=900',
    ),
    "X-RateLimit-Limit": _header("Requests allowed in the current window.", _INT, 100),
    "X-RateLimit-Remaining": _header("Requests left in the current window.", _INT, 99),
    "X-RateLimit-Reset": _header("Seconds (not a timestamp) until the current window resets.", _INT, 900),
}
RETRY_AFTER_HEADER = "Retry-After"
HEADERS: dict[str, dict[str, Any]] = {
    **RATE_LIMIT_HEADERS,
    RETRY_AFTER_HEADER: _header("Seconds to wait before retrying.", _INT, 60),
}


def _example(summary: str, status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "value": problem_body(status=status, code=code, detail=detail, **extra)}


# status -> (component name, description, named examples, extra headers)
ERROR_RESPONSES: dict[int, tuple[str, str, dict[str, dict[str, Any]], tuple[str, ...]]] = {
    400: (
        "BadRequest",
        "The request body or query parameters are invalid.",
        {
            "validation_error": _example(
                "A field is invalid",
                400,
                "validation_error",
                "The request has invalid fields; see `errors`.",
                errors=[
                    {"attr": "email", "code": "invalid", "detail": "Enter a valid email address."},
                    {"attr": "items.0.quantity", "code": "min_value", "detail": "Ensure this value is >= 1."},
                ],
            ),
            "malformed_json": _example("The body is not JSON", 400, "malformed_json", "JSON parse error."),
        },
        (),
    ),
    401: (
        "Unauthenticated",
        "No valid credentials: send `Authorization: Bearer <access token>` or `X-API-Key: <key>`.",
        {
            "not_authenticated": _example(
                "No credentials", 401, "not_authenticated", "Authentication credentials were not provided."
            ),
            "authentication_failed": _example(
                "Bad or expired token", 401, "authentication_failed", "The access token has expired."
            ),
        },
        (),
    ),
    403: (
        "PermissionDenied",
        "The caller is authenticated but may not do this.",
        {
            "permission_denied": _example(
                "Not allowed", 403, "permission_denied", "You do not have permission to perform this action."
            ),
        },
        (),
    ),
    404: (
        "NotFound",
        "No resource with this id exists, or the caller may not see it.",
        {"not_found": _example("Unknown id", 404, "not_found", "The resource was not found.")},
        (),
    ),
    413: (
        "PayloadTooLarge",
        "The request body is larger than the limit for this endpoint.",
        {
            "payload_too_large": _example(
                "Body too large",
                413,
                "payload_too_large",
                "The request body is 2097152 bytes; the limit here is 1048576 bytes.",
            )
        },
        (),
    ),
    415: (
        "UnsupportedMediaType",
        "The body's media type is not accepted here: JSON (UTF-8) unless the operation says otherwise.",
        {
            "unsupported_media_type": _example(
                "Not JSON",
                415,
                "unsupported_media_type",
                'Unsupported media type "application/x-www-form-urlencoded" in request.',
            )
        },
        (),
    ),
    422: (
        "UnprocessableContent",
        "The request is well-formed but cannot be processed.",
        {"unprocessable": _example("Cannot process", 422, "unprocessable", "The request cannot be processed.")},
        (),
    ),
    429: (
        "RateLimited",
        "Too many requests. Wait for the number of seconds in `Retry-After`.",
        {
            "rate_limited": _example(
                "Quota exhausted", 429, "rate_limited", "Too many requests; retry after the time given in Retry-After."
            )
        },
        (RETRY_AFTER_HEADER, *RATE_LIMIT_HEADERS),
    ),
}


def header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def problem_schema_ref() -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA_NAME}"}


def error_response_component(status: int) -> dict[str, Any]:
    """The `components.responses` entry for one error status."""
    _name, description, examples, headers = ERROR_RESPONSES[status]
    component: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": problem_schema_ref(), "examples": examples}},
    }
    if headers:
        component["headers"] = {name: header_ref(name) for name in headers}
    return component


def problem_content() -> dict[str, Any]:
    """Response content for an error status a view declares without a body (409, 503, ...)."""
    return {PROBLEM_CONTENT_TYPE: {"schema": problem_schema_ref()}}
