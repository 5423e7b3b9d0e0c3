"""Helpers the OpenAPI tests share: fetching the served schemas, walking operations and `$ref`s."""

from collections.abc import Iterator
from typing import Any

from django.test import Client, override_settings

from common.errors import PROBLEM_CONTENT_TYPE
from common.openapi.views import clear_schema_cache
from config.urls import API_APPS

TEST_URLCONF = "common.tests.openapi_urls"
TEST_API = "widgets"
API_NAMES = [*API_APPS, TEST_API]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PROBLEM_REF = "#/components/schemas/Problem"

Operation = tuple[str, str, dict[str, Any]]


def fetch_schemas() -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, bytes]]:
    """The combined schema and every per-API schema, as served under the test URL conf (plus raw bodies)."""
    clear_schema_cache()
    with override_settings(ROOT_URLCONF=TEST_URLCONF):
        client = Client()
        raw: dict[str, bytes] = {}
        response = client.get("/openapi.json")
        assert response.status_code == 200, response.content[:500]
        raw["combined"] = response.content
        combined = response.json()
        per_api = {}
        for api in API_NAMES:
            response = client.get(f"/api/v1/{api}/openapi.json")
            assert response.status_code == 200, response.content[:500]
            raw[api] = response.content
            per_api[api] = response.json()
    clear_schema_cache()
    return combined, per_api, raw


def operations(schema: dict[str, Any]) -> list[Operation]:
    return [
        (path, method, operation)
        for path, item in schema.get("paths", {}).items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def resolve(schema: dict[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer (`#/components/...`); KeyError when it does not resolve."""
    assert ref.startswith("#/"), f"non-local $ref {ref!r}"
    node: Any = schema
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def deref(schema: dict[str, Any], node: Any) -> Any:
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        assert node["$ref"] not in seen, f"$ref cycle at {node['$ref']}"
        seen.add(node["$ref"])
        node = resolve(schema, node["$ref"])
    return node


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


def reachable_refs(schema: dict[str, Any], start: Any, unresolved: set[str] | None = None) -> set[str]:
    """Every `$ref` reachable from `start`, following references through the components.

    A reference that does not resolve is added to `unresolved` when given, else raises KeyError.
    """
    found: set[str] = set()
    pending = list(refs_in(start))
    while pending:
        ref = pending.pop()
        if ref in found:
            continue
        found.add(ref)
        try:
            target = resolve(schema, ref)
        except KeyError:
            if unresolved is None:
                raise
            unresolved.add(ref)
            continue
        pending.extend(refs_in(target))
    return found


def is_public(operation: dict[str, Any]) -> bool:
    return {} in (operation.get("security") or [])


def is_problem_response(schema: dict[str, Any], response: Any) -> bool:
    content = deref(schema, response).get("content", {})
    media = content.get(PROBLEM_CONTENT_TYPE)
    return bool(media) and media.get("schema", {}).get("$ref") == PROBLEM_REF


def operation_defects(schema: dict[str, Any], path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """What property 29 finds missing in one operation; empty when it is complete."""
    where = f"{method.upper()} {path}"
    defects = []
    if not operation.get("operationId"):
        defects.append(f"{where}: no operationId")
    if not (operation.get("summary") or operation.get("description")):
        defects.append(f"{where}: neither summary nor description (add a docstring or extend_schema(summary=...))")
    if not operation.get("tags"):
        defects.append(f"{where}: no tag")
    responses = operation.get("responses", {})
    if not any(code.startswith("2") for code in responses):
        defects.append(f"{where}: no 2xx response")
    if not any(code.startswith("4") and is_problem_response(schema, resp) for code, resp in responses.items()):
        defects.append(f"{where}: no 4xx response with a Problem body")
    security = operation.get("security") or []
    if not is_public(operation) and not any(requirement for requirement in security):
        defects.append(f"{where}: no security requirement and not marked public")
    unresolved: set[str] = set()
    reachable_refs(schema, operation, unresolved)
    defects.extend(f"{where}: $ref {ref} does not resolve" for ref in sorted(unresolved))
    for requirement in security:
        for name in requirement:
            if name not in schema.get("components", {}).get("securitySchemes", {}):
                defects.append(f"{where}: security scheme {name} is not defined")
    return defects
