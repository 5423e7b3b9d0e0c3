"""The AutoSchema every DRF view uses (`REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`).

On top of drf-spectacular's operation it documents what the platform does to every request:

- the error responses an operation can give, each an RFC 9457 `Problem` served as
  `application/problem+json`: 400 when it takes a body or query parameters (413 with a body), 401 when
  it needs credentials, 403 when a permission or the session's CSRF check can refuse, 404 when the path
  names a resource, 415 when it takes a body (a form encoding, or JSON in a charset other than UTF-8),
  429 on every `/api/` path;
- error statuses a view declares without a body (`OpenApiResponse(description=...)`) get the Problem body;
- the rate-limit headers on the 2xx responses of `/api/` paths (and on 429, with `Retry-After`);
- a read-only string with a format (`uri`, `email`, ...) whose model column may be blank is documented
  as that format or "" (drf-spectacular does so only for writable fields with `allow_blank`).

Views add their own statuses with `@extend_schema(responses={..., 409: OpenApiResponse(description="...")})`.
"""

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ComponentRegistry, ResolvedComponent
from rest_framework import permissions, serializers

from .components import (
    ERROR_RESPONSES,
    HEADERS,
    PROBLEM_SCHEMA,
    PROBLEM_SCHEMA_NAME,
    RATE_LIMIT_HEADERS,
    error_response_component,
    header_ref,
    problem_content,
)
from .extensions import SESSION_SCHEME

API_PATH_PREFIX = "/api/"

# Permissions that refuse only anonymous callers: those answer 401, never 403.
_LOGIN_ONLY_PERMISSIONS = (permissions.AllowAny, permissions.IsAuthenticated, permissions.IsAuthenticatedOrReadOnly)


# What stays on the property when its type moves into `oneOf` (drf-spectacular's own list for allow_blank).
_OUTER_KEYS = ("readOnly", "writeOnly", "nullable", "deprecated", "description", "title")


def _stored_value_may_be_blank(field: Any) -> bool:
    """A read-only ModelSerializer field over a text column with `blank=True` (URLField, EmailField, ...): it
    renders what is stored, "" included, but DRF gives read-only fields no `allow_blank`, so drf-spectacular
    documents the bare format and a client validating against the schema rejects "" ."""
    parent = getattr(field, "parent", None)
    if not field.read_only or not isinstance(parent, serializers.ModelSerializer):
        return False
    model: Any = getattr(parent.Meta, "model", None)
    try:
        model_field = model._meta.get_field(field.source)
    except (AttributeError, FieldDoesNotExist):
        return False
    return isinstance(model_field, models.CharField | models.TextField) and model_field.blank


def requires_authentication(operation: dict[str, Any]) -> bool:
    """True when the operation lists security requirements and none of them is the empty (anonymous) one."""
    security = operation.get("security") or []
    return bool(security) and {} not in security


class AutoSchema(SpectacularAutoSchema):
    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses: dict[str, Any] = operation.setdefault("responses", {})
        self._give_declared_errors_a_problem_body(responses)
        for status in self.error_statuses(operation):
            if str(status) not in responses:  # what the view declares wins
                responses[str(status)] = self._error_response_ref(status)
        if self.path.startswith(API_PATH_PREFIX):
            for code, response in responses.items():
                if code.startswith("2") and "$ref" not in response:
                    headers = response.setdefault("headers", {})
                    for name in RATE_LIMIT_HEADERS:
                        headers.setdefault(name, self._header_ref(name))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def error_statuses(self, operation: dict[str, Any]) -> list[int]:
        """The error statuses the platform itself can return for this operation."""
        has_body = "requestBody" in operation
        has_query = any(param.get("in") == "query" for param in operation.get("parameters", []))
        statuses: list[int] = []
        if has_body or has_query:
            statuses.append(400)
        if requires_authentication(operation):
            statuses.append(401)
        if self._can_be_forbidden(operation):
            statuses.append(403)
        if "{" in self.path:
            statuses.append(404)
        if has_body:
            statuses.extend((413, 415))
        if self.path.startswith(API_PATH_PREFIX):
            statuses.append(429)
        return statuses

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        if schema.get("type") == "string" and "format" in schema and _stored_value_may_be_blank(field):
            outer = {key: schema.pop(key) for key in _OUTER_KEYS if key in schema}
            inner = dict(schema)
            schema.clear()
            schema.update(outer, oneOf=[inner, {"type": "string", "maxLength": 0}])

    def _can_be_forbidden(self, operation: dict[str, Any]) -> bool:
        if any(not isinstance(permission, _LOGIN_ONLY_PERMISSIONS) for permission in self.view.get_permissions()):
            return True
        # SessionAuthentication refuses an unsafe request without a valid CSRF token with 403.
        uses_session = any(SESSION_SCHEME in requirement for requirement in operation.get("security") or [])
        return uses_session and self.method not in permissions.SAFE_METHODS

    def _give_declared_errors_a_problem_body(self, responses: dict[str, Any]) -> None:
        for code, response in responses.items():
            if code[:1] in ("4", "5") and "$ref" not in response and not response.get("content"):
                self._give_problem_schema()
                response["content"] = problem_content()

    def _give_problem_schema(self) -> None:
        self._register(PROBLEM_SCHEMA_NAME, ResolvedComponent.SCHEMA, PROBLEM_SCHEMA)

    def _header_ref(self, name: str) -> dict[str, str]:
        self._register(name, ResolvedComponent.HEADER, HEADERS[name])
        return header_ref(name)

    def _error_response_ref(self, status: int) -> dict[str, str]:
        name, _description, _examples, headers = ERROR_RESPONSES[status]
        self._give_problem_schema()
        for header in headers:
            self._header_ref(header)
        return self._register(name, ResolvedComponent.RESPONSE, error_response_component(status))

    def _register(self, name: str, kind: str, schema: dict[str, Any]) -> dict[str, str]:
        component = ResolvedComponent(name=name, type=kind, object=f"common.openapi.{kind}.{name}", schema=schema)
        self.registry.register_on_missing(component)
        return component.ref
