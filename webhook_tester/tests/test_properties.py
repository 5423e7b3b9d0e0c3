"""The seed plan's numbered properties owned by the Webhook Tester (24-28)."""

import base64
import json
import string
import uuid

import pytest
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from webhook_tester import services
from webhook_tester.models import Bin, CapturedEvent
from webhook_tester.serializers import EventSerializer, event_payload

from .conftest import asgi_call, hook

pytestmark = pytest.mark.django_db(transaction=True)

db_property = hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
API = "/api/v1/bins"

TOKEN = string.ascii_letters + string.digits + "!#$&'*+-.^_`|~"
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]) | st.text(
    alphabet=string.ascii_uppercase, min_size=1, max_size=12
)
# Path and query characters a client can send unencoded, plus percent-escapes.
PATH_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"
segments = st.lists(
    st.text(alphabet=PATH_CHARS, min_size=1, max_size=8) | st.sampled_from(["%20", "%2F", "%C3%A9", "%00"]),
    max_size=4,
)
queries = st.text(alphabet=PATH_CHARS + "/?%=&", max_size=40)
header_names = st.text(alphabet=TOKEN, min_size=1, max_size=20)
# Field values: visible Latin-1 and inner spaces/tabs (servers strip leading/trailing whitespace).
header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=40
).map(str.strip)
headers = st.lists(st.tuples(header_names, header_values), max_size=8)
bodies = st.binary(max_size=2048)


def _chunks(body: bytes, cut: int) -> list[bytes]:
    if not body:
        return [b""]
    cut = cut % (len(body) + 1)
    return [body[:cut], body[cut:]]


@db_property
@given(names=st.lists(st.text(max_size=30).map(lambda s: s.replace("\x00", "")), min_size=1, max_size=6))
def test_property_24_bin_creation_uniqueness(auth_client, user, names):
    Bin.objects.all().delete()
    created = []
    for name in names:
        response = auth_client.post(API, {"name": name}, format="json")
        assert response.status_code == 201, response.json()
        created.append(response.json())
    ids = [item["id"] for item in created]
    assert len(set(ids)) == len(ids)
    assert len({item["url"] for item in created}) == len(ids)
    for item, name in zip(created, names, strict=True):
        assert uuid.UUID(item["id"]).version == 4  # random, unguessable
        assert auth_client.get(f"{API}/{item['id']}").json()["name"] == name.strip()  # names are trimmed


@db_property
@given(method=methods, path=segments, query=queries, header_list=headers, body=bodies, cut=st.integers(0, 4096))
def test_property_25_request_capture_completeness(auth_client, bin, method, path, query, header_list, body, cut):
    sub_path = "".join(f"/{segment}" for segment in path)
    raw_headers = [(name.encode(), value.encode("latin-1")) for name, value in header_list]
    result = async_to_sync(asgi_call)(
        method, hook(bin, sub_path), query=query.encode(), headers=raw_headers, chunks=_chunks(body, cut)
    )
    assert result.status == 200, result.body
    event = CapturedEvent.objects.get(pk=result.json()["id"])
    assert event.method == method
    assert event.path == hook(bin, sub_path)
    assert event.sub_path == sub_path
    assert event.query_string == query
    assert event.headers == [[name, value] for name, value in header_list]
    assert bytes(event.body) == body
    assert event.content_length == len(body)
    # ... and the API gives back the same bytes and pairs.
    detail = auth_client.get(f"{API}/{bin.pk}/events/{event.pk}").json()
    assert base64.b64decode(detail["body_base64"]) == body
    assert detail["headers"] == [[name, value] for name, value in header_list]
    assert detail["method"] == method and detail["query_string"] == query
    event.delete()


@db_property
@given(counts=st.tuples(st.integers(0, 3), st.integers(0, 3)), probe=st.sampled_from(["get", "patch", "delete"]))
def test_property_26_bin_ownership_isolation(auth_client, user, other_user, make_access_token, counts, probe):
    from rest_framework.test import APIClient

    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {make_access_token(other_user)}")
    Bin.objects.all().delete()
    mine = [services.bin_create(owner=user)[0] for _ in range(counts[0])]
    theirs = [services.bin_create(owner=other_user)[0] for _ in range(counts[1])]
    assert {item["id"] for item in auth_client.get(API).json()["items"]} == {str(b.pk) for b in mine}
    assert {item["id"] for item in other.get(API).json()["items"]} == {str(b.pk) for b in theirs}
    for client, foreign in ((auth_client, theirs), (other, mine)):
        for bin in foreign:
            paths = [f"{API}/{bin.pk}"] + ([] if probe == "patch" else [f"{API}/{bin.pk}/events"])
            for path in paths:
                response = (
                    getattr(client, probe)(path, {}, format="json")
                    if probe == "patch"
                    else getattr(client, probe)(path)
                )
                assert response.status_code == 404, (probe, path)
    assert Bin.objects.filter(pk__in=[b.pk for b in mine + theirs]).count() == len(mine) + len(theirs)


@db_property
@given(targets=st.lists(st.integers(0, 2), min_size=0, max_size=12), limit=st.integers(1, 5))
def test_property_27_event_retrieval_for_bin(auth_client, user, targets, limit):
    Bin.objects.all().delete()
    bins = [services.bin_create(owner=user)[0] for _ in range(3)]
    sent: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for index in targets:
        result = async_to_sync(asgi_call)("POST", hook(bins[index]), chunks=[str(index).encode()])
        sent[index].append(result.json()["id"])
    for index, bin in enumerate(bins):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            page = auth_client.get(f"{API}/{bin.pk}/events", params).json()
            seen += [item["id"] for item in page["items"]]
            assert all(item["bin_id"] == str(bin.pk) for item in page["items"])
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
        assert seen == list(reversed(sent[index]))  # exactly this bin's events, newest first, no repeats


@db_property
@given(header_list=headers, body=bodies, query=queries)
def test_property_28_webhook_event_round_trip(bin, header_list, body, query):
    raw_headers = [(name.encode(), value.encode("latin-1")) for name, value in header_list]
    result = async_to_sync(asgi_call)("PUT", hook(bin, "/rt"), query=query.encode(), headers=raw_headers, chunks=[body])
    event = CapturedEvent.objects.get(pk=result.json()["id"])
    payload = event_payload(event)
    decoded = json.loads(json.dumps(payload))
    assert decoded == payload
    assert decoded == EventSerializer(event).data
    # Everything needed to rebuild the request is in the JSON.
    assert base64.b64decode(decoded["body_base64"]) == bytes(event.body) == body
    assert decoded["headers"] == event.headers
    assert decoded["method"] == "PUT" and decoded["sub_path"] == "/rt" and decoded["query_string"] == query
    assert decoded["body"] == (body.decode("utf-8") if decoded["body_is_text"] else None)
    event.delete()
