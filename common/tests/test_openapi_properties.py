"""Seed-plan properties 29 and 30: the OpenAPI schema is complete and survives a round trip.

Both run over whatever the schema holds (the five APIs grow as their issues land) plus the test-only
"widgets" API of `common/tests/openapi_urls.py`, so they always meet real operations.
"""

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from .openapi_support import API_NAMES, fetch_schemas, operation_defects, operations

Schemas = tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, bytes]]


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return fetch_schemas()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_29_openapi_spec_completeness(schemas: Schemas, data: st.DataObject) -> None:
    combined, _per_api, _raw = schemas
    all_operations = operations(combined)
    assert all_operations, "the combined schema has no operations"
    path, method, operation = data.draw(st.sampled_from(all_operations), label="operation")
    assert operation_defects(combined, path, method, operation) == []


def test_property_29_every_operation_checked(schemas: Schemas) -> None:
    """The same check over every operation at once, so one report lists every incomplete operation."""
    combined, _per_api, _raw = schemas
    defects = [defect for op in operations(combined) for defect in operation_defects(combined, *op)]
    assert defects == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(api=st.sampled_from(["combined", *API_NAMES]))
def test_property_30_openapi_round_trip(schemas: Schemas, api: str) -> None:
    combined, per_api, raw = schemas
    schema = combined if api == "combined" else per_api[api]

    # What was served parses to the object, and the object survives serialise -> parse unchanged.
    assert json.loads(raw[api]) == schema
    assert json.loads(json.dumps(schema)) == schema

    validate(schema)  # openapi-spec-validator: a valid OpenAPI 3 document

    if api != "combined":
        # A per-API schema is a subset of the combined one: its paths, with the same operations.
        assert set(schema["paths"]) <= set(combined["paths"])
        for path, item in schema["paths"].items():
            assert path == f"/api/v1/{api}" or path.startswith(f"/api/v1/{api}/")
            assert item == combined["paths"][path]
        for kind, components in schema.get("components", {}).items():
            for name, component in components.items():
                assert combined["components"][kind][name] == component, f"{kind}/{name} differs from the combined"
