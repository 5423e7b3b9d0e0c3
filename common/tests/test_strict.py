"""Issue 9 item 11: strict input, done once in common/ (common.strict) and inherited by every API."""

from __future__ import annotations

import importlib
import inspect

import pytest
from rest_framework import serializers

from common.strict import Serializer, StrictInputMixin, parse_ascii_int

pytestmark = pytest.mark.django_db

AUTH = "/api/v1/auth"
NOTIFICATIONS = "/api/v1/notifications"


class Sample(Serializer):
    name = serializers.CharField(required=False)
    email = serializers.EmailField(required=False)
    flag = serializers.BooleanField(required=False)
    count = serializers.IntegerField(required=False)
    ident = serializers.UUIDField(required=False)
    kind = serializers.ChoiceField(choices=["a", "b"], required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    note = serializers.CharField(required=False, allow_null=True)


@pytest.mark.parametrize(
    ("data", "attr"),
    [
        ({"name": 0}, "name"),
        ({"name": 1.5}, "name"),
        ({"name": True}, "name"),
        ({"name": ["x"]}, "name"),
        ({"email": 12}, "email"),
        ({"flag": 0}, "flag"),
        ({"flag": 1}, "flag"),
        ({"flag": "no"}, "flag"),
        ({"flag": "off"}, "flag"),
        ({"flag": "true"}, "flag"),
        ({"count": "3"}, "count"),
        ({"count": "٣"}, "count"),
        ({"count": True}, "count"),
        ({"ident": 1234}, "ident"),
        ({"kind": 1}, "kind"),
        ({"tags": ["ok", 2]}, "tags"),
    ],
)
def test_json_types_are_not_coerced(data, attr):
    serializer = Sample(data=data)
    assert not serializer.is_valid()
    errors = serializer.errors[attr]
    first = next(iter(errors.values())) if isinstance(errors, dict) else errors  # a list: errors by index
    assert first[0].code == "invalid"


def test_values_of_the_right_type_pass():
    data = {"name": "0", "flag": False, "count": 3, "kind": "a", "tags": ["x"], "note": None}
    serializer = Sample(data=data)
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == data


@pytest.mark.parametrize("text", ["٣", "３", "-1", "+1", " 1", "1.0", "", "1" * 19])
def test_parse_ascii_int_refuses_non_ascii_digits_and_signs(text):
    with pytest.raises(ValueError):
        parse_ascii_int(text)


def test_every_project_serializer_is_strict():
    """The next apps inherit strictness by subclassing common.strict's bases; this catches one that does not."""
    for app in ("auth_app", "notifications", "orders", "file_processor", "webhook_tester"):
        try:
            module = importlib.import_module(f"{app}.serializers")
        except ModuleNotFoundError:
            continue
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, serializers.BaseSerializer) and cls.__module__ == module.__name__:
                assert issubclass(cls, StrictInputMixin), (
                    f"{app}.serializers.{name} must subclass common.strict's bases"
                )


# --- Through the APIs --------------------------------------------------------------------------------


def test_a_number_for_a_string_field_is_400(auth_client, user):
    response = auth_client.patch(f"{AUTH}/users/me", {"name": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0] == {"attr": "name", "code": "invalid", "detail": "Not a valid string."}
    user.refresh_from_db()
    assert user.name == "Ada"


@pytest.mark.parametrize("value", [0, "no", "off", "false", None])
def test_broadcast_takes_only_json_booleans(staff_user, make_access_token, api_client, value):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_access_token(staff_user)}")
    response = api_client.post(NOTIFICATIONS, {"title": "Hi", "broadcast": value}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == "broadcast"


@pytest.mark.parametrize("content_type", ["form", "multipart"])
def test_json_endpoints_refuse_form_encodings_with_415(api_client, user, password, content_type):
    data = {"email": user.email, "password": password}
    if content_type == "form":
        response = api_client.post(
            f"{AUTH}/login", "email=ada%40example.com&password=x", content_type="application/x-www-form-urlencoded"
        )
    else:
        response = api_client.post(f"{AUTH}/login", data, format="multipart")
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "query",
    ["sort=", "limit=", "cursor=", "limit=%D9%A3", "unread=", "kind=", "unread=true&unread=false", "unread=yes"],
)
def test_empty_duplicated_or_non_ascii_query_parameters_are_400(auth_client, query):
    response = auth_client.get(f"{NOTIFICATIONS}?{query}")
    assert response.status_code == 400, (query, response.content)
    assert response["Content-Type"] == "application/problem+json"


def test_well_formed_query_parameters_still_work(auth_client):
    assert auth_client.get(f"{NOTIFICATIONS}?unread=true&kind=order.paid&limit=5&sort=seq").status_code == 200
    assert auth_client.get(f"{AUTH}/sessions?limit=5").status_code == 200


def test_the_browsable_api_still_renders(auth_client):
    response = auth_client.get(f"{AUTH}/users/me", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Raw data" in response.content or b"_content" in response.content


def test_the_schema_states_the_enforced_limits(api_client):
    schema = api_client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert components["RegisterRequest"]["properties"]["password"]["minLength"] == 8
    assert components["RegisterRequest"]["properties"]["password"]["maxLength"] == 4096
    assert components["LoginRequest"]["properties"]["password"]["minLength"] == 1
    parameters = schema["paths"]["/api/v1/notifications/events"]["get"]["parameters"]
    by_name = {parameter["name"]: parameter["schema"] for parameter in parameters}
    assert by_name["Last-Event-ID"]["pattern"] == "^[0-9]{1,18}$"
    assert by_name["after"]["minimum"] == 0
    assert by_name["after"]["maximum"] == 10**18 - 1


def test_query_param_with_nul_is_400_not_a_database_error():
    # `?q=%00` reached PostgreSQL (which refuses U+0000 in text) and answered 500.
    from django.http import QueryDict

    from common.errors.exceptions import ValidationFailed
    from common.strict import query_param

    with pytest.raises(ValidationFailed) as caught:
        query_param(QueryDict("q=a%00b"), "q")
    assert caught.value.errors is not None and caught.value.errors[0]["attr"] == "q"
