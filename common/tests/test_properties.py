"""The seed plan's numbered properties owned by common/ (07, 31, 33, 35), and 36 (issue 8)."""

import datetime as dt
import json

import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from common.pagination import keyset_page

User = get_user_model()
# Shared by every DB-touching property: no deadline (CI machines vary) and function-scoped fixtures allowed.
db_property = hsettings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
BASE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

# --- Property 07 ----------------------------------------------------------------------------------

# Few distinct values so that many rows share a sort key (the case DRF's CursorPagination gets wrong).
user_rows = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),  # created_at offset in seconds
        st.sampled_from(["", "a", "B", "b", "é"]),  # name
        st.booleans(),  # is_staff
    ),
    min_size=0,
    max_size=14,
)


@pytest.mark.django_db
@pytest.mark.urls("common.tests.urls")
@hsettings(db_property, max_examples=40)
@given(
    rows=user_rows,
    limit=st.integers(min_value=1, max_value=6),
    field=st.sampled_from(["created_at", "name", "email", "is_staff"]),
    descending=st.booleans(),
    through_http=st.booleans(),
)
def test_property_07_cursor_pagination_consistency(client, rows, limit, field, descending, through_http):
    """Walking every page yields each row exactly once, in exactly the order of order_by(f, pk)."""
    User.objects.all().delete()
    User.objects.bulk_create(
        [
            User(
                email=f"u{index}@example.com",
                name=name,
                is_staff=is_staff,
                created_at=BASE_TIME + dt.timedelta(seconds=offset),
            )
            for index, (offset, name, is_staff) in enumerate(rows)
        ]
    )
    # auto_now_add overrides the value on insert; set the duplicated timestamps afterwards.
    for index, (offset, _name, _staff) in enumerate(rows):
        User.objects.filter(email=f"u{index}@example.com").update(created_at=BASE_TIME + dt.timedelta(seconds=offset))
    sign = "-" if descending else ""
    expected = [str(pk) for pk in User.objects.order_by(f"{sign}{field}", f"{sign}pk").values_list("pk", flat=True)]

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(len(rows) + 2):
        if through_http:
            params = {"limit": str(limit), "sort": f"{sign}{field}", **({"cursor": cursor} if cursor else {})}
            response = client.get("/api/v1/test/users", params)
            assert response.status_code == 200, response.content
            body = response.json()
            page_ids, cursor, has_more = [item["id"] for item in body["items"]], body["next_cursor"], body["has_more"]
        else:
            page = keyset_page(
                User.objects.all(),
                sort=f"{sign}{field}",
                limit=limit,
                cursor=cursor,
                ordering_fields=["created_at", "name", "email", "is_staff"],
            )
            page_ids, cursor, has_more = [str(u.pk) for u in page.items], page.next_cursor, page.has_more
        assert len(page_ids) <= limit
        assert has_more == (cursor is not None)
        if has_more:
            assert len(page_ids) == limit
        seen.extend(page_ids)
        if not has_more:
            break
    assert seen == expected


# --- Property 31 ----------------------------------------------------------------------------------


def _fresh_ips(count: int, period: int) -> list[str]:
    """Distinct IPs whose counter windows do not roll over during the example (see test_ratelimit)."""
    from common.tests.test_ratelimit import fresh_ip

    return [fresh_ip(period, prefix=f"198.18.{index}") for index in range(count)]


@pytest.mark.django_db
@pytest.mark.urls("common.tests.urls")
@hsettings(db_property, max_examples=25)
@given(
    limit=st.integers(min_value=1, max_value=6),
    requests_per_ip=st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=3),
    path=st.sampled_from(["/api/v1/test/ping", "/api/v1/unknown/path", "/api/v1/test/users"]),
)
def test_property_31_rate_limit_enforcement(client, settings, limit, requests_per_ip, path):
    """Per IP, exactly the first N requests pass; the rest are 429 with headers; remaining counts down."""
    from django.core.cache import cache

    cache.clear()
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_ANON = f"{limit}/1d"
    ips = _fresh_ips(len(requests_per_ip), 86400)
    # Interleave the clients' requests so that one IP's counter cannot leak into another's.
    schedule = [(ip, n) for index, ip in enumerate(ips) for n in range(requests_per_ip[index])]
    schedule.sort(key=lambda item: (item[1], item[0]))
    for ip, n in schedule:
        response = client.get(path, REMOTE_ADDR=ip)
        assert response["RateLimit-Policy"] == f'"anon";q={limit};w=86400'
        assert response["X-RateLimit-Limit"] == str(limit)
        assert response["X-RateLimit-Remaining"] == str(max(0, limit - (n + 1)))
        reset = int(response["X-RateLimit-Reset"])
        assert 0 < reset <= 86400
        assert response["RateLimit"] == f'"anon";r={max(0, limit - (n + 1))};t={reset}'
        if n < limit:
            assert response.status_code != 429
            assert "Retry-After" not in response
        else:
            assert response.status_code == 429
            assert response["Content-Type"] == "application/problem+json"
            assert response.json()["code"] == "rate_limited"
            assert response["Retry-After"] == str(reset)


# --- Property 35 ----------------------------------------------------------------------------------

KNOWN_PATHS = [
    # the real URL map (platform, docs, admin, the five APIs' roots)
    "/health/live",
    "/openapi.json",
    "/admin/",
    "/admin/login/",
    "/api/v1/auth/login",
    "/api/v1/auth/me",
    "/api/v1/orders",
    "/api/v1/files",
    "/api/v1/notifications",
    "/api/v1/bins",
    # the test views: DRF, plain Django, failing ones
    "/api/v1/test/ping",
    "/api/v1/test/users",
    "/api/v1/test/session",
    "/api/v1/test/boom",
    "/api/v1/test/conflict",
    "/api/v1/test/django-boom",
    "/api/v1/test/django-get-only",
    "/api/v1/test/django-form",
    "/api/v1/test/django-suspicious",
]
PATH_CHARS = "abcdefghijklmnopqrstuvwxyzABC0123456789-._~%/:@!$&'()*+,;="
paths = st.one_of(
    st.sampled_from(KNOWN_PATHS),
    st.text(alphabet=PATH_CHARS, max_size=40).map(lambda tail: "/api/v1/" + tail),
    st.text(alphabet=PATH_CHARS, max_size=20).map(lambda tail: "/" + tail),
    st.tuples(st.sampled_from(KNOWN_PATHS), st.sampled_from(["?limit=0", "?limit=x", "?sort=zz", "?cursor=%%"])).map(
        "".join
    ),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "HTTP_ACCEPT": st.sampled_from(["application/json", "text/html", "text/csv", "*/*", "application/xml"]),
        "HTTP_AUTHORIZATION": st.sampled_from(["Bearer x.y.z", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer " + "a" * 300]),
        "HTTP_X_API_KEY": st.sampled_from(["nope", "", "ak_live_x"]),
        "HTTP_HOST": st.sampled_from(["testserver", "localhost", "evil.example", "bad host!"]),
        "HTTP_ORIGIN": st.sampled_from(["https://evil.example", "null"]),
        "HTTP_X_REQUEST_ID": st.text(max_size=10),
    },
)
bodies = st.one_of(
    st.none(),
    st.binary(max_size=200),
    st.text(max_size=100).map(str.encode),
    st.sampled_from([b"{}", b"[]", b'{"email": 1}', b"null", b'{"a": ']),
)


@pytest.mark.django_db
@pytest.mark.urls("common.tests.urls")
@hsettings(db_property, max_examples=120)
@given(
    path=paths,
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]),
    extra=headers,
    body=bodies,
    content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", "a/b"]),
    rate_limited=st.booleans(),
)
def test_property_35_consistent_error_response_format(settings, path, method, extra, body, content_type, rate_limited):
    """Every 4xx/5xx is problem+json with type/title/status/detail/code, and `status` is the HTTP status."""
    import json

    from django.test import Client

    settings.RATE_LIMIT_ENABLED = rate_limited
    settings.RATE_LIMIT_ANON = "1/1d"
    client = Client()
    client.raise_request_exception = False
    kwargs = dict(extra)
    if "HTTP_X_REQUEST_ID" in kwargs and not kwargs["HTTP_X_REQUEST_ID"].isprintable():
        del kwargs["HTTP_X_REQUEST_ID"]
    response = client.generic(method, path, data=body or b"", content_type=content_type, **kwargs)
    if response.status_code < 400:
        return
    assert response["Content-Type"] == "application/problem+json", (response.status_code, response.content[:200])
    if method == "HEAD":
        return
    problem = json.loads(response.content)
    assert {"type", "title", "status", "detail", "code"} <= set(problem)
    assert problem["status"] == response.status_code
    assert isinstance(problem["code"], str) and problem["code"]
    assert problem["type"].startswith("https://")


# --- Property 33 ----------------------------------------------------------------------------------

ALLOWED_ORIGINS = ["https://app.example.com", "http://localhost:3000"]
hosts = st.sampled_from(
    ["app.example.com", "evil.example.com", "app.example.com.evil.net", "localhost", "APP.example.com"]
)
other_origins = st.builds(
    lambda scheme, host, port: f"{scheme}://{host}{port}",
    st.sampled_from(["http", "https"]),
    hosts,
    st.sampled_from(["", ":3000", ":443", ":8080"]),
)
origins = st.one_of(st.sampled_from(ALLOWED_ORIGINS), other_origins, st.just("null"))


@pytest.mark.django_db
@pytest.mark.urls("common.tests.urls")
@hsettings(db_property, max_examples=60)
@given(
    origin=origins,
    credentials=st.booleans(),
    path=st.sampled_from(["/api/v1/test/ping", "/api/v1/no-such-path", "/health/live", "/api/v1/test/boom"]),
    preflight=st.booleans(),
    method=st.sampled_from(["GET", "POST", "DELETE"]),
)
def test_property_33_cors_enforcement(client, settings, origin, credentials, path, preflight, method):
    """Only listed origins get Access-Control-Allow-Origin (echoed, never '*'); preflight works for them."""
    from common.ratelimit import rate_limit_headers

    client.raise_request_exception = False
    settings.CORS_ALLOWED_ORIGINS = ALLOWED_ORIGINS
    settings.CORS_ALLOW_CREDENTIALS = credentials
    settings.RATE_LIMIT_ENABLED = True
    allowed = origin in ALLOWED_ORIGINS
    if preflight:
        response = client.options(path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD=method)
        assert response.status_code == 200
    else:
        response = client.generic(method, path, HTTP_ORIGIN=origin)

    if not allowed:
        assert "Access-Control-Allow-Origin" not in response
        assert "Access-Control-Allow-Credentials" not in response
        return
    assert response["Access-Control-Allow-Origin"] == origin
    assert response.get("Access-Control-Allow-Credentials") == ("true" if credentials else None)
    if preflight:
        assert method in response["Access-Control-Allow-Methods"]
        assert "authorization" in response["Access-Control-Allow-Headers"]
        assert "x-api-key" in response["Access-Control-Allow-Headers"]
    else:
        exposed = {name.strip().lower() for name in response["Access-Control-Expose-Headers"].split(",")}
        from common.ratelimit import Usage

        needed = set(rate_limit_headers(Usage(limit=1, window=1, count=2, reset=1), "p")) | {"X-Request-ID"}
        assert {name.lower() for name in needed} <= exposed


# --- Property 36 (issue 8): the body guard reads at most one message past the limit --------------------


@pytest.mark.urls("common.tests.urls")
@hsettings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=12),
    limit=st.integers(min_value=0, max_value=3000),
    declared=st.booleans(),
)
@example(sizes=[65], limit=64, declared=True)  # one byte over, by length and chunked
@example(sizes=[30, 35], limit=64, declared=False)
@example(sizes=[64], limit=64, declared=True)  # exactly the limit passes
def test_property_36_body_guard_reads_at_most_one_message_past_the_limit(settings, sizes, limit, declared):
    """Any body, split any way, framed by length or chunked: refused with 413 iff it is over the limit,
    without reading a declared body at all and at most one message past the limit of a chunked one;
    otherwise the application gets exactly the body, with a Content-Length."""
    import asyncio

    from common.asgi import RequestGuard

    from .asgi_driver import exchange, http_scope

    settings.API_MAX_BODY_BYTES = limit
    chunks = [bytes([65 + n % 26]) * size for n, size in enumerate(sizes)]
    body = b"".join(chunks)
    seen: dict[str, bytes] = {}

    async def app(scope, receive, send):
        data = b""
        while True:
            message = await receive()
            data += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen["body"], seen["length"] = data, dict(scope["headers"]).get(b"content-length", b"")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    framing = ("content-length", str(len(body))) if declared else ("transfer-encoding", "chunked")
    result = asyncio.run(exchange(RequestGuard(app), http_scope("/api/v1/x", headers=[framing]), chunks))

    if len(body) > limit:
        assert result.status == 413 and json.loads(result.body)["code"] == "payload_too_large"
        assert "body" not in seen
        if declared:
            assert result.received == 0
        else:
            assert result.received - len(chunks[result.messages - 1]) <= limit  # stopped at the message that passed it
    else:
        assert result.status == 204
        assert seen["body"] == body and seen["length"] == str(len(body)).encode()
