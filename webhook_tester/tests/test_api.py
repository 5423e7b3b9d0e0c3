"""The REST API: bins CRUD with ownership isolation, events list/detail/delete/clear, exports."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from webhook_tester.models import Bin, CapturedEvent

from .conftest import capture, hook

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1/bins"


@pytest.fixture
def other_client(other_user, make_access_token):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_access_token(other_user)}")
    return client


def test_create_list_get_patch_delete(auth_client, user, settings):
    created = auth_client.post(API, {"name": "first"}, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["url"].endswith(f"/hooks/{data['id']}")
    assert data["response"] is None and data["read_key"] is None
    assert data["event_cap"] == settings.BINS_EVENT_CAP
    listed = auth_client.get(API).json()
    assert [item["id"] for item in listed["items"]] == [data["id"]]
    assert listed["items"][0]["event_count"] == 0
    patched = auth_client.patch(
        f"{API}/{data['id']}",
        {"name": "renamed", "response": {"status": 201, "body": "ok", "headers": {"X-A": "1"}}},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["name"] == "renamed"
    assert patched.json()["response"]["status"] == 201
    assert capture("POST", f"/hooks/{data['id']}").status == 201  # the change applies at once here
    assert auth_client.delete(f"{API}/{data['id']}").status_code == 204
    assert auth_client.get(f"{API}/{data['id']}").status_code == 404
    assert capture("POST", f"/hooks/{data['id']}").status == 404


def test_anonymous_is_401(api_client, bin):
    assert api_client.get(API).status_code == 401
    assert api_client.get(f"{API}/{bin.pk}/events").status_code == 401


def test_another_users_bin_is_404_everywhere(other_client, bin):
    capture("POST", hook(bin), chunks=[b"secret"])
    event = CapturedEvent.objects.get()
    base = f"{API}/{bin.pk}"
    for method, path in [
        ("get", base),
        ("patch", base),
        ("delete", base),
        ("get", f"{base}/events"),
        ("delete", f"{base}/events"),
        ("get", f"{base}/events/{event.pk}"),
        ("delete", f"{base}/events/{event.pk}"),
        ("get", f"{base}/events/{event.pk}/export"),
        ("post", f"{base}/events/{event.pk}/replay"),
        ("get", f"{base}/events/{event.pk}/replays"),
    ]:
        response = (
            getattr(other_client, method)(path, {}, format="json")
            if method in ("post", "patch")
            else getattr(other_client, method)(path)
        )
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.json()["code"] == "bin_not_found"
    assert other_client.get(API).json()["items"] == []
    assert Bin.objects.filter(pk=bin.pk).exists() and CapturedEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("response", "attr"),
    [
        ({"status": 99}, "response.status"),
        ({"status": 600}, "response.status"),
        ({"headers": {"Set-Cookie": "a=b"}}, "response.headers"),
        ({"headers": {"X-Frame-Options": "ALLOW"}}, "response.headers"),
        ({"headers": {"X-A": "line\r\nInjected: yes"}}, "response.headers"),
        ({"body": "x" * (64 * 1024 + 1)}, "response.body"),
        ({"delay_ms": 10_001}, "response.delay_ms"),
        ({"content_type": "not a type"}, "response.content_type"),
    ],
)
def test_bad_custom_responses_are_400(auth_client, response, attr):
    result = auth_client.post(API, {"response": response}, format="json")
    assert result.status_code == 400, result.json()
    assert result.json()["errors"][0]["attr"] == attr


def test_bin_limit_per_user(auth_client, settings):
    settings.BINS_MAX_PER_USER = 2
    assert auth_client.post(API, {}, format="json").status_code == 201
    assert auth_client.post(API, {}, format="json").status_code == 201
    result = auth_client.post(API, {}, format="json")
    assert result.status_code == 409 and result.json()["code"] == "bin_limit"


def _capture_some(bin):
    capture(
        "POST",
        hook(bin, "/github/push"),
        headers=[(b"content-type", b"application/json"), (b"X-GitHub-Event", b"push")],
        chunks=[b'{"ref": "main"}'],
    )
    capture("GET", hook(bin, "/status"), query=b"check=1")
    capture("PUT", hook(bin, "/github/release"), headers=[(b"content-type", b"text/plain")], chunks=[b"release notes"])
    return list(CapturedEvent.objects.filter(bin=bin).order_by("received_at"))


def test_events_newest_first_with_keyset_pages(auth_client, bin):
    events = _capture_some(bin)
    first = auth_client.get(f"{API}/{bin.pk}/events", {"limit": 2}).json()
    assert [item["id"] for item in first["items"]] == [str(events[2].pk), str(events[1].pk)]
    assert first["has_more"] is True
    second = auth_client.get(f"{API}/{bin.pk}/events", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [item["id"] for item in second["items"]] == [str(events[0].pk)]
    assert second["has_more"] is False


def test_event_filters(auth_client, bin):
    events = _capture_some(bin)
    url = f"{API}/{bin.pk}/events"

    def ids(**params):
        response = auth_client.get(url, params)
        assert response.status_code == 200, response.json()
        return {item["id"] for item in response.json()["items"]}

    assert ids(method="get") == {str(events[1].pk)}
    assert ids(path_prefix="/github") == {str(events[0].pk), str(events[2].pk)}
    assert ids(content_type="text/") == {str(events[2].pk)}
    assert ids(q="release") == {str(events[2].pk)}  # body
    assert ids(q="x-github-event") == {str(events[0].pk)}  # header name, any case
    assert ids(q="nothing-like-this") == set()
    after = (events[1].received_at).isoformat()
    assert ids(received_after=after) == {str(events[1].pk), str(events[2].pk)}
    assert ids(received_before=after) == {str(events[0].pk)}
    bad = auth_client.get(url, {"received_after": "yesterday"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["attr"] == "received_after"


def test_event_detail_delete_and_clear(auth_client, bin):
    events = _capture_some(bin)
    detail = auth_client.get(f"{API}/{bin.pk}/events/{events[0].pk}").json()
    assert detail["headers"] == [["content-type", "application/json"], ["X-GitHub-Event", "push"]]
    assert detail["body"] == '{"ref": "main"}'
    assert base64.b64decode(detail["body_base64"]) == b'{"ref": "main"}'
    assert auth_client.get(f"{API}/{bin.pk}/events/{events[1].pk}").json()["query"] == [["check", "1"]]
    assert auth_client.delete(f"{API}/{bin.pk}/events/{events[0].pk}").status_code == 204
    assert auth_client.get(f"{API}/{bin.pk}/events/{events[0].pk}").status_code == 404
    assert auth_client.delete(f"{API}/{bin.pk}/events").json() == {"deleted": 2}
    assert CapturedEvent.objects.count() == 0


def test_binary_body_detail_has_no_text(auth_client, bin):
    capture("POST", hook(bin), chunks=[b"\x00\xff\xfe"])
    event = CapturedEvent.objects.get()
    detail = auth_client.get(f"{API}/{bin.pk}/events/{event.pk}").json()
    assert detail["body"] is None and detail["body_is_text"] is False
    assert base64.b64decode(detail["body_base64"]) == b"\x00\xff\xfe"


def test_read_key_lets_others_read_but_not_write(auth_client, api_client, bin):
    key = auth_client.patch(f"{API}/{bin.pk}", {"read_key": True}, format="json").json()["read_key"]
    assert key.startswith("bk_")
    capture("POST", hook(bin), chunks=[b"shared"])
    event = CapturedEvent.objects.get()
    api_client.credentials(HTTP_X_BIN_KEY=key)
    assert api_client.get(f"{API}/{bin.pk}").status_code == 200
    assert api_client.get(f"{API}/{bin.pk}/events").json()["items"][0]["id"] == str(event.pk)
    assert api_client.get(f"{API}/{bin.pk}/events/{event.pk}/export", {"format": "raw"}).content == b"shared"
    assert api_client.delete(f"{API}/{bin.pk}/events").status_code == 401
    api_client.credentials(HTTP_X_BIN_KEY=key + "x")
    assert api_client.get(f"{API}/{bin.pk}").status_code == 404
    auth_client.patch(f"{API}/{bin.pk}", {"read_key": False}, format="json")
    api_client.credentials(HTTP_X_BIN_KEY=key)
    assert api_client.get(f"{API}/{bin.pk}").status_code == 404


def test_export_har_and_raw(auth_client, bin):
    capture(
        "POST",
        hook(bin, "/x"),
        query=b"a=1",
        headers=[(b"content-type", b"application/octet-stream")],
        chunks=[b"\x00\x01"],
    )
    event = CapturedEvent.objects.get()
    url = f"{API}/{bin.pk}/events/{event.pk}/export"
    har = json.loads(auth_client.get(url, {"format": "har"}).content)
    entry = har["log"]["entries"][0]
    assert har["log"]["version"] == "1.2"
    assert entry["request"]["method"] == "POST"
    assert entry["request"]["url"].endswith(f"/hooks/{bin.pk}/x?a=1")
    assert entry["request"]["queryString"] == [{"name": "a", "value": "1"}]
    assert base64.b64decode(entry["request"]["postData"]["text"]) == b"\x00\x01"
    raw = auth_client.get(url, {"format": "raw"})
    assert raw.content == b"\x00\x01" and raw["Content-Type"] == "application/octet-stream"
    assert "attachment" in raw["Content-Disposition"]
    assert auth_client.get(url, {"format": "pdf"}).status_code == 400


def test_expired_bin_still_readable_until_purged(auth_client, bin):
    bin.expires_at = timezone.now() - timedelta(seconds=1)
    bin.save()
    assert auth_client.get(f"{API}/{bin.pk}").status_code == 200


def test_renew_restarts_retention(auth_client, bin):
    bin.expires_at = timezone.now() + timedelta(hours=1)
    bin.save()
    renewed = auth_client.patch(f"{API}/{bin.pk}", {"renew": True}, format="json").json()
    assert renewed["expires_at"] > (timezone.now() + timedelta(days=6)).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"name": 0}, "name"),
        ({"notify": "yes"}, "notify"),
        ({"event_cap": "10"}, "event_cap"),
        ({"response": {"status": "201"}}, "response.status"),
    ],
)
def test_json_types_are_not_coerced(auth_client, body, attr):
    response = auth_client.post(API, body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["attr"] == attr


def test_empty_or_repeated_query_parameters_are_400(auth_client, bin):
    assert auth_client.get(f"{API}/{bin.pk}/events?method=").status_code == 400
    assert auth_client.get(f"{API}/{bin.pk}/events?q=a&q=b").status_code == 400


@pytest.mark.parametrize("name", ["q", "path_prefix", "method", "content_type"])
def test_nul_in_an_event_filter_is_400_not_500(auth_client, bin, name):
    # PostgreSQL refuses U+0000 in a text parameter: `?q=%00` was a 500 before the query reached a row.
    response = auth_client.get(f"{API}/{bin.pk}/events?{name}=a%00b")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == name


def test_a_bin_without_replay_url_answers_as_the_schema_says(auth_client, openapi_conformance):
    # replay_url is "" until set; the schema said `format: uri`, so a schema-checking client refused it.
    created = auth_client.post(API, {"name": "no replay target"}, format="json")
    assert created.json()["replay_url"] == ""
    openapi_conformance(created, API, "post")
    bin_path = f"{API}/{{bin_id}}"
    shown = auth_client.get(f"{API}/{created.json()['id']}")
    openapi_conformance(shown, bin_path, "get")
    openapi_conformance(auth_client.patch(f"{API}/{created.json()['id']}", {}, format="json"), bin_path, "patch")
    openapi_conformance(auth_client.get(API), API, "get")


def test_a_refused_replay_url_is_a_documented_422(auth_client, bin, openapi_conformance):
    refused = auth_client.post(API, {"name": "x", "replay_url": "http://127.0.0.1/"}, format="json")
    assert refused.status_code == 422 and refused.json()["code"] == "url_host_not_allowed"
    openapi_conformance(refused, API, "post")
    patched = auth_client.patch(f"{API}/{bin.pk}", {"replay_url": "ftp://example.com/"}, format="json")
    assert patched.status_code == 422
    openapi_conformance(patched, f"{API}/{{bin_id}}", "patch")


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"])
def test_an_event_filter_datetime_with_no_utc_instant_is_400_not_500(auth_client, bin, value):
    response = auth_client.get(f"{API}/{bin.pk}/events", {"received_after": value})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "received_after"
