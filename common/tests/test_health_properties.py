"""Seed property 34: the health endpoints answer whatever the shape of the request."""

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HEADER_NAMES = [
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Authorization",
    "Cache-Control",
    "Cookie",
    "If-None-Match",
    "Origin",
    "User-Agent",
    "X-Api-Key",
    "X-Forwarded-For",
    "X-Request-ID",
]
printable = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
requests = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "HEAD"]),
        "host": st.sampled_from(["testserver", "localhost", "127.0.0.1"]),
        "headers": st.dictionaries(st.sampled_from(HEADER_NAMES), printable, max_size=6),
        "query": st.dictionaries(
            st.text(alphabet=string.ascii_letters + string.digits + "_-.", min_size=1, max_size=12),
            st.text(max_size=30),
            max_size=5,
        ),
    }
)


def send(client, path: str, http_request: dict):
    call = client.get if http_request["method"] == "GET" else client.head
    return call(path, data=http_request["query"], headers={**http_request["headers"], "Host": http_request["host"]})


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(http_request=requests)
def test_property_34_health_check_availability(client, http_request):
    """/health/live is always 200; /health is 200 with every check ok while all services are up."""
    live = send(client, "/health/live", http_request)
    ready = send(client, "/health", http_request)

    for response in (live, ready):
        assert response.status_code == 200, response.content
        assert response["Cache-Control"] == "no-store"
        assert response["Content-Type"] == "application/json"
        assert "RateLimit" not in response
    if http_request["method"] == "GET":
        assert live.json() == {"status": "ok"}
        body = ready.json()
        assert body["status"] == "ok"
        assert {result["status"] for result in body["checks"].values()} == {"ok"}
    else:
        assert live.content == b"" and ready.content == b""
