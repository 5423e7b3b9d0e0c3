"""The schema endpoints, the AutoSchema's error responses and headers, and the docs pages' HTML."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

from common.errors import PROBLEM_CONTENT_TYPE
from common.openapi import views as openapi_views
from common.openapi.components import ERROR_RESPONSES, RATE_LIMIT_HEADERS

from .openapi_support import (
    API_NAMES,
    TEST_API,
    TEST_URLCONF,
    deref,
    fetch_schemas,
    is_problem_response,
    operations,
    reachable_refs,
)

Schemas = tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, bytes]]
WIDGETS = f"/api/v1/{TEST_API}"


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return fetch_schemas()


@pytest.fixture
def combined(schemas: Schemas) -> dict[str, Any]:
    return schemas[0]


@pytest.fixture
def test_urls(settings: Any) -> Iterator[None]:
    settings.ROOT_URLCONF = TEST_URLCONF
    openapi_views.clear_schema_cache()
    yield
    openapi_views.clear_schema_cache()


def _statuses(schema: dict[str, Any], path: str, method: str) -> set[str]:
    return set(schema["paths"][path][method]["responses"])


# --- the endpoints -----------------------------------------------------------------------------------


def test_combined_schema_is_json_openapi_3(client: Client) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["openapi"].startswith("3.")


def test_combined_schema_answers_the_openapi_media_type(client: Client) -> None:
    response = client.get("/openapi.json", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")


@pytest.mark.parametrize("api", list(API_NAMES[:-1]))
def test_each_api_serves_its_own_schema(client: Client, api: str) -> None:
    response = client.get(f"/api/v1/{api}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert api in schema["info"]["title"]
    assert [tag["name"] for tag in schema.get("tags", [])] == [api]
    assert all(path == f"/api/v1/{api}" or path.startswith(f"/api/v1/{api}/") for path in schema["paths"])


def test_per_api_schema_holds_only_its_paths_and_the_components_they_use(schemas: Schemas) -> None:
    combined, per_api, _raw = schemas
    widgets = per_api[TEST_API]
    assert set(widgets["paths"]) == {p for p in combined["paths"] if p.startswith(WIDGETS)}
    for api, schema in per_api.items():
        used = reachable_refs(schema, schema["paths"])
        defined = {
            f"#/components/{kind}/{name}"
            for kind, items in schema.get("components", {}).items()
            if kind != "securitySchemes"
            for name in items
        }
        assert defined == used, f"{api}: unused components {defined - used}"
        scheme_names = {name for _p, _m, op in operations(schema) for req in op.get("security", []) for name in req}
        assert set(schema.get("components", {}).get("securitySchemes", {})) == scheme_names


def test_schema_is_cached_when_debug_is_off(test_urls: None, settings: Any, client: Client) -> None:
    settings.DEBUG = False
    first = client.get("/openapi.json").json()
    cached = openapi_views._schema_cache[(TEST_URLCONF, "combined")]
    assert client.get("/openapi.json").json() == first
    assert openapi_views._schema_cache[(TEST_URLCONF, "combined")] is cached


def test_schema_is_regenerated_when_debug_is_on(test_urls: None, settings: Any, client: Client) -> None:
    settings.DEBUG = True
    assert client.get("/openapi.json").status_code == 200
    assert openapi_views._schema_cache == {}


def test_schema_command_validates_without_warnings(tmp_path: Path) -> None:
    """`manage.py spectacular --validate --fail-on-warn` passes: every view resolves cleanly."""
    out = tmp_path / "openapi.json"
    call_command("spectacular", "--format", "openapi-json", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.stat().st_size > 0


# --- the AutoSchema ----------------------------------------------------------------------------------


def test_operations_are_tagged_by_api(combined: dict[str, Any]) -> None:
    for path, _method, operation in operations(combined):
        match = re.match(r"^/api/v1/([a-z]+)", path)
        if match:
            assert match.group(1) in operation["tags"]


def test_list_with_query_parameters_documents_400_401_429(combined: dict[str, Any]) -> None:
    assert _statuses(combined, WIDGETS, "get") == {"200", "400", "401", "429"}


def test_create_with_body_documents_400_401_403_413_415_429(combined: dict[str, Any]) -> None:
    # 403: the session scheme's CSRF check can refuse an unsafe method; 415: a body that is not UTF-8 JSON.
    assert _statuses(combined, WIDGETS, "post") == {"201", "400", "401", "403", "413", "415", "429"}


def test_detail_with_object_permission_documents_403_and_404(combined: dict[str, Any]) -> None:
    assert _statuses(combined, WIDGETS + "/{id}", "get") == {"200", "401", "403", "404", "429"}


def test_public_operation_documents_no_401(combined: dict[str, Any]) -> None:
    operation = combined["paths"][WIDGETS + "/ping"]["get"]
    assert operation["security"] == [{}]
    assert set(operation["responses"]) == {"200", "429"}


def test_declared_error_without_body_gets_the_problem_body(combined: dict[str, Any]) -> None:
    conflict = combined["paths"][WIDGETS + "/{id}"]["delete"]["responses"]["409"]
    assert conflict["description"] == "The widget is in use."
    assert is_problem_response(combined, conflict)


def test_every_error_response_is_a_problem(combined: dict[str, Any]) -> None:
    for _path, _method, operation in operations(combined):
        for code, response in operation["responses"].items():
            if code[0] in "45":
                assert is_problem_response(combined, response), code


def test_problem_component_follows_rfc_9457(combined: dict[str, Any]) -> None:
    problem = combined["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "code", "errors"}
    assert set(problem["properties"]["errors"]["items"]["properties"]) == {"attr", "code", "detail"}
    assert set(problem["example"]) >= {"type", "title", "status", "detail", "code"}


def test_error_responses_are_problem_json_with_examples(combined: dict[str, Any]) -> None:
    responses = combined["components"]["responses"]
    for status, (name, *_rest) in ERROR_RESPONSES.items():
        if name not in responses:
            continue
        examples = responses[name]["content"][PROBLEM_CONTENT_TYPE]["examples"]
        assert examples
        assert all(example["value"]["status"] == status for example in examples.values())


def test_rate_limit_headers_on_success_and_429(combined: dict[str, Any]) -> None:
    ok = combined["paths"][WIDGETS]["get"]["responses"]["200"]
    assert set(ok["headers"]) == set(RATE_LIMIT_HEADERS)
    limited = deref(combined, combined["paths"][WIDGETS]["get"]["responses"]["429"])
    assert set(limited["headers"]) == {"Retry-After", *RATE_LIMIT_HEADERS}
    for header in limited["headers"].values():
        assert "schema" in deref(combined, header)


def test_security_schemes(combined: dict[str, Any]) -> None:
    schemes = combined["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["bearerAuth"]["bearerFormat"] == "JWT"
    assert schemes["apiKeyAuth"] == {**schemes["apiKeyAuth"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["cookieAuth"]["in"] == "cookie"
    assert combined["paths"][WIDGETS]["get"]["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}, {"cookieAuth": []}]


# --- the pages -----------------------------------------------------------------------------------


_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
_ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""", re.I)


def _assert_self_contained(html: str) -> list[str]:
    """No inline script, no asset from another host; returns the static asset URLs."""
    for attributes, body in _SCRIPT.findall(html):
        assert "src=" in attributes and not body.strip(), "inline <script> would need 'unsafe-inline'"
    urls = _ASSET.findall(html)
    assert not [url for url in urls if re.match(r"^(https?:)?//", url)], urls
    return [url for url in urls if url.startswith("/static/")]


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/stoplight", "/"])
def test_docs_pages_load_only_local_assets(client: Client, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, _, sources = part.strip().partition(" ")
        directives[name] = sources
    script_sources = directives.get("script-src", directives.get("default-src", ""))
    assert "'self'" in script_sources
    assert "'unsafe-inline'" not in script_sources and "'unsafe-eval'" not in script_sources
    for url in _assert_self_contained(response.content.decode()):
        assert finders.find(url.removeprefix("/static/")), f"{page}: static file {url} not found"


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/stoplight", "/", "/openapi.json"])
def test_options_on_a_docs_page_is_200_with_allow(client: Client, page: str) -> None:
    # OPTIONS /docs was a 500: DRF rendered its metadata with the Swagger page's renderer and no template.
    response = client.options(page)
    assert response.status_code == 200
    assert "GET" in response["Allow"]


def test_swagger_start_up_script_is_served_as_javascript(client: Client) -> None:
    response = client.get("/docs?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    body = response.content.decode()
    assert '"/openapi.json"' in body
    assert '"validatorUrl": null' in body


def test_stoplight_points_at_the_combined_schema(client: Client) -> None:
    html = client.get("/stoplight").content.decode()
    assert 'apiDescriptionUrl="/openapi.json"' in html


def test_landing_page_links_docs_admin_health_and_each_api(client: Client) -> None:
    html = client.get("/").content.decode()
    for link in (
        "/docs",
        "/redoc",
        "/stoplight",
        "/openapi.json",
        "/admin/",
        "/health",
        *[f"/api/v1/{api}/openapi.json" for api in API_NAMES[:-1]],
    ):
        assert f'href="{link}"' in html, link
