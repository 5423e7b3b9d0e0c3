"""The API rate limiter: default policies, per-view policies, headers, client IPs and the helpers."""

import time

import pytest
from django.test import AsyncClient, RequestFactory
from django_ratelimit.core import _get_window

from common.ratelimit import Usage, check_rate, client_ip, rate_limit_headers, request_principal

pytestmark = [pytest.mark.django_db, pytest.mark.urls("common.tests.urls")]

PING = "/api/v1/test/ping"
RATE_HEADERS = ("RateLimit-Policy", "RateLimit", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def fresh_ip(period: int, *, prefix: str = "198.51.100", margin: int = 120) -> str:
    """An IPv4 address whose counter window (django-ratelimit jitters it per key) ends > `margin` s from now.

    So a test's requests all fall in one window, whatever the wall clock says.
    """
    for host in range(1, 255):
        ip = f"{prefix}.{host}"
        if _get_window(f"ip:{ip}", period) - int(time.time()) > margin:
            return ip
    raise AssertionError("no address with a long enough window left")


def principal_from_header(request) -> str | None:
    """A stand-in resolver for tests that run before the auth app's exists: trusts X-Test-Principal."""
    return request.headers.get("X-Test-Principal") or None


def exploding_resolver(request) -> str | None:
    raise RuntimeError("resolver bug")


@pytest.fixture
def limits_on(settings):
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_PRINCIPAL_RESOLVER = "common.tests.test_ratelimit.principal_from_header"
    return settings


def test_disabled_means_no_counting_and_no_headers(client, settings):
    settings.RATE_LIMIT_ENABLED = False
    settings.RATE_LIMIT_ANON = "1/1h"
    for _ in range(3):
        response = client.get(PING)
        assert response.status_code == 200
        assert "RateLimit" not in response


def test_every_api_response_carries_the_headers(client, limits_on):
    limits_on.RATE_LIMIT_ANON = "5/1h"
    ip = fresh_ip(3600)
    response = client.get(PING, REMOTE_ADDR=ip)
    assert response.status_code == 200
    assert response["RateLimit-Policy"] == '"anon";q=5;w=3600'
    assert response["X-RateLimit-Limit"] == "5"
    assert response["X-RateLimit-Remaining"] == "4"
    reset = int(response["X-RateLimit-Reset"])
    assert 0 < reset <= 3600
    assert response["RateLimit"] == f'"anon";r=4;t={reset}'
    assert "Retry-After" not in response
    # errors count and carry the headers too
    missing = client.get("/api/v1/test/nothing-here", REMOTE_ADDR=ip)
    assert missing.status_code == 404 and missing["X-RateLimit-Remaining"] == "3"


def test_paths_outside_api_are_not_limited(client, limits_on):
    limits_on.RATE_LIMIT_ANON = "1/1h"
    for _ in range(3):
        response = client.get("/health/live")
        assert response.status_code == 200
        assert "RateLimit" not in response


def test_limit_then_429_problem_with_retry_after(client, limits_on):
    limits_on.RATE_LIMIT_ANON = "2/1h"
    ip = fresh_ip(3600)
    assert [client.get(PING, REMOTE_ADDR=ip).status_code for _ in range(2)] == [200, 200]
    blocked = client.get(PING, REMOTE_ADDR=ip)
    assert blocked.status_code == 429
    assert blocked["Content-Type"] == "application/problem+json"
    body = blocked.json()
    assert body["code"] == "rate_limited" and body["status"] == 429
    assert int(blocked["Retry-After"]) == int(blocked["X-RateLimit-Reset"]) > 0
    assert blocked["X-RateLimit-Remaining"] == "0"
    assert blocked["X-Request-ID"]


def test_acceptance_101st_anonymous_request_on_unknown_path_is_429(client, settings):
    settings.RATE_LIMIT_ENABLED = True  # and the default RATE_LIMIT_ANON of 100/15m
    assert settings.RATE_LIMIT_ANON == "100/15m"
    ip = fresh_ip(900)
    statuses = [client.get("/api/v1/no-such-thing", REMOTE_ADDR=ip).status_code for _ in range(100)]
    assert statuses == [404] * 100
    response = client.get("/api/v1/no-such-thing", REMOTE_ADDR=ip)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0
    assert response["RateLimit-Policy"] == '"anon";q=100;w=900'
    assert response["RateLimit"].startswith('"anon";r=0;t=')
    assert response["X-RateLimit-Limit"] == "100"


def test_different_ips_count_separately(client, limits_on):
    limits_on.RATE_LIMIT_ANON = "1/1d"
    first, second = fresh_ip(86400, prefix="192.0.2"), fresh_ip(86400, prefix="203.0.113")
    assert client.get(PING, REMOTE_ADDR=first).status_code == 200
    assert client.get(PING, REMOTE_ADDR=first).status_code == 429
    assert client.get(PING, REMOTE_ADDR=second).status_code == 200


def test_ipv6_clients_share_their_64_prefix(client, limits_on):
    limits_on.RATE_LIMIT_ANON = "1/1d"
    assert client.get(PING, REMOTE_ADDR="2001:db8:1:2::1").status_code == 200
    assert client.get(PING, REMOTE_ADDR="2001:db8:1:2:ffff::9").status_code == 429


def test_forwarded_for_is_ignored_without_trusted_proxies(client, limits_on):
    limits_on.RATE_LIMIT_ANON = "1/1d"
    ip = fresh_ip(86400)
    assert client.get(PING, REMOTE_ADDR=ip, HTTP_X_FORWARDED_FOR="10.0.0.1").status_code == 200
    assert client.get(PING, REMOTE_ADDR=ip, HTTP_X_FORWARDED_FOR="10.0.0.2").status_code == 429


def test_authenticated_principal_gets_the_user_limit(client, limits_on):
    limits_on.RATE_LIMIT_ANON = "1/1d"
    limits_on.RATE_LIMIT_USER = "3/1d"
    ip = fresh_ip(86400)
    statuses = [client.get(PING, REMOTE_ADDR=ip, HTTP_X_TEST_PRINCIPAL="user-1").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(PING, REMOTE_ADDR=ip, HTTP_X_TEST_PRINCIPAL="user-2")
    assert response.status_code == 200 and response["RateLimit-Policy"] == '"user";q=3;w=86400'
    # the anonymous budget of the same IP is separate
    assert client.get(PING, REMOTE_ADDR=ip).status_code == 200


@pytest.mark.parametrize(
    "resolver", ["common.tests.nowhere.resolver", "common.tests.test_ratelimit.exploding_resolver"]
)
def test_missing_or_failing_resolver_counts_as_anonymous(client, limits_on, resolver):
    limits_on.RATE_LIMIT_PRINCIPAL_RESOLVER = resolver
    limits_on.RATE_LIMIT_ANON = "7/1h"
    response = client.get(PING, REMOTE_ADDR=fresh_ip(3600), HTTP_X_TEST_PRINCIPAL="user-1")
    assert response.status_code == 200 and response["RateLimit-Policy"] == '"anon";q=7;w=3600'


def test_view_policy_replaces_the_default(client, limits_on):
    limits_on.RATE_LIMIT_ANON = "1/1d"
    limits_on.TEST_BURST_RATE = "3/1d"
    ip = fresh_ip(86400)
    statuses = [client.get("/api/v1/test/burst", REMOTE_ADDR=ip).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/test/burst", REMOTE_ADDR=ip)
    assert response["RateLimit-Policy"] == '"test-burst";q=3;w=86400'
    # the default budget was untouched by the burst view
    assert client.get(PING, REMOTE_ADDR=ip).status_code == 200


def test_view_policy_on_function_view(client, limits_on):
    ip = fresh_ip(3600)
    statuses = [client.get("/api/v1/test/burst-function", REMOTE_ADDR=ip).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_own_limit_from_view_carries_same_headers(client, limits_on):
    limits_on.RATE_LIMIT_ENABLED = False  # only the view's own limit
    for _ in range(2):
        assert client.post("/api/v1/test/own-limit", {"email": "a@example.com"}, "application/json").status_code == 200
    blocked = client.post("/api/v1/test/own-limit", {"email": "a@example.com"}, "application/json")
    assert blocked.status_code == 429
    assert blocked["Content-Type"] == "application/problem+json"
    assert blocked.json()["code"] == "rate_limited"
    assert blocked["RateLimit-Policy"] == '"test-own";q=2;w=3600'
    assert blocked["Retry-After"] == blocked["X-RateLimit-Reset"]
    other = client.post("/api/v1/test/own-limit", {"email": "b@example.com"}, "application/json")
    assert other.status_code == 200


def test_view_429_headers_win_over_the_middleware_ones(client, limits_on):
    limits_on.RATE_LIMIT_ANON = "50/1h"
    ip = fresh_ip(3600)
    for _ in range(3):
        response = client.post("/api/v1/test/own-limit", {"email": "c@example.com"}, "application/json", REMOTE_ADDR=ip)
    assert response.status_code == 429
    assert response["RateLimit-Policy"] == '"test-own";q=2;w=3600'


async def test_async_stack_counts_and_sets_headers(limits_on):
    limits_on.RATE_LIMIT_ANON = "1/1d"
    ip = fresh_ip(86400)
    client = AsyncClient(REMOTE_ADDR=ip)
    first = await client.get(PING)
    second = await client.get(PING)
    assert (first.status_code, second.status_code) == (200, 429)
    assert first["X-RateLimit-Remaining"] == "0"
    assert second["Content-Type"] == "application/problem+json"


# --- helpers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "10.9.9.9"),
        (1, "1.1.1.1", "1.1.1.1"),
        (1, "6.6.6.6, 1.1.1.1", "1.1.1.1"),  # the client prepended a fake hop
        (2, "6.6.6.6, 1.1.1.1, 172.16.0.1", "1.1.1.1"),
        (2, "1.1.1.1", "10.9.9.9"),  # fewer hops than proxies: the only entry is the client's own claim
        (1, "not-an-ip", "10.9.9.9"),
        (1, "", "10.9.9.9"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_forwarded_for_with_a_trusted_proxy(client, limits_on):
    limits_on.TRUSTED_PROXY_COUNT = 1
    limits_on.RATE_LIMIT_ANON = "1/1d"
    proxy = "10.0.0.1"
    one, two = fresh_ip(86400, prefix="192.0.2"), fresh_ip(86400, prefix="203.0.113")
    assert client.get(PING, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=one).status_code == 200
    assert client.get(PING, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=two).status_code == 200
    assert client.get(PING, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"{two}, {one}").status_code == 429


def test_check_rate_reads_a_setting_and_can_peek(settings):
    settings.LOGIN_TEST_RATE = "2/1h"
    request = RequestFactory().get("/", REMOTE_ADDR=fresh_ip(3600))
    first = check_rate(request, group="g", key="ip", rate="LOGIN_TEST_RATE")
    peek = check_rate(request, group="g", key="ip", rate="LOGIN_TEST_RATE", increment=False)
    assert (first.count, first.remaining, peek.count, peek.limited) == (1, 1, 1, False)
    check_rate(request, group="g", key="ip", rate="LOGIN_TEST_RATE")
    third = check_rate(request, group="g", key="ip", rate="LOGIN_TEST_RATE")
    assert third.limited and third.remaining == 0
    # another group has its own counter
    assert check_rate(request, group="h", key="ip", rate="2/1h").count == 1


def test_check_rate_rejects_a_bad_rate(settings):
    settings.NOT_A_RATE = 5
    request = RequestFactory().get("/")
    for rate in ("NOT_A_RATE", "MISSING_SETTING"):
        with pytest.raises(ValueError, match="rate"):
            check_rate(request, group="g", key="ip", rate=rate)


def test_rate_limit_headers_format():
    ok = Usage(limit=10, window=60, count=3, reset=42)
    assert rate_limit_headers(ok, "login") == {
        "RateLimit-Policy": '"login";q=10;w=60',
        "RateLimit": '"login";r=7;t=42',
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "7",
        "X-RateLimit-Reset": "42",
    }
    over = Usage(limit=10, window=60, count=11, reset=5)
    assert rate_limit_headers(over, "login")["Retry-After"] == "5"
    assert rate_limit_headers(over, "login")["X-RateLimit-Remaining"] == "0"


def test_request_principal_is_memoised(settings):
    settings.RATE_LIMIT_PRINCIPAL_RESOLVER = "common.tests.test_ratelimit.principal_from_header"
    request = RequestFactory().get("/", HTTP_X_TEST_PRINCIPAL="p-1")
    assert request_principal(request) == "p-1"
    request.META["HTTP_X_TEST_PRINCIPAL"] = "p-2"
    assert request_principal(request) == "p-1"


def test_real_access_token_gets_the_user_limit(client, settings, user, make_access_token):
    """With the auth app's own resolver (the default setting), a valid Bearer token counts per user."""
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_ANON = "1/1d"
    settings.RATE_LIMIT_USER = "2/1d"
    assert settings.RATE_LIMIT_PRINCIPAL_RESOLVER == "auth_app.authentication.request_principal"
    token = make_access_token(user)
    ip = fresh_ip(86400)
    statuses = [client.get(PING, REMOTE_ADDR=ip, HTTP_AUTHORIZATION=f"Bearer {token}").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = client.get(PING, REMOTE_ADDR=ip, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response["RateLimit-Policy"] == '"user";q=2;w=86400'
    # a second token of the same user shares the user's budget; the IP's anonymous budget is untouched
    assert client.get(PING, REMOTE_ADDR=ip, HTTP_AUTHORIZATION=f"Bearer {make_access_token(user)}").status_code == 429
    assert client.get(PING, REMOTE_ADDR=ip).status_code == 200
    # a forged token is anonymous
    forged = client.get(PING, REMOTE_ADDR=ip, HTTP_AUTHORIZATION=f"Bearer {token[:-2]}xx")
    assert forged["RateLimit-Policy"] == '"anon";q=1;w=86400' and forged.status_code == 429


def test_unreachable_cache_fails_open(client, limits_on):
    """With the counter store down the API still answers (no headers); /health reports the cache."""
    limits_on.CACHES = {
        **limits_on.CACHES,
        "unreachable": {
            "BACKEND": "common.cache.PlatformRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    limits_on.RATELIMIT_USE_CACHE = "unreachable"
    response = client.get(PING)
    assert response.status_code == 200
    assert "RateLimit" not in response


def test_revoked_token_counts_against_the_ip_not_the_user(client, settings, user, make_access_token):
    """Issue 9 item 1.8: a logged-out token spends the anonymous (IP) budget, never its user's."""
    from auth_app.services import auth_session_revoke
    from auth_app.tokens import token_decode

    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_ANON = "2/1d"
    settings.RATE_LIMIT_USER = "5/1d"
    revoked = make_access_token(user)
    auth_session_revoke(session_id=token_decode(revoked, expected_type="access").sid, reason="logout")
    ip = fresh_ip(86400)
    first = client.get(PING, REMOTE_ADDR=ip, HTTP_AUTHORIZATION=f"Bearer {revoked}")
    assert first["RateLimit-Policy"] == '"anon";q=2;w=86400' and first["X-RateLimit-Remaining"] == "1"
    statuses = [client.get(PING, REMOTE_ADDR=ip, HTTP_AUTHORIZATION=f"Bearer {revoked}").status_code for _ in range(2)]
    assert statuses == [200, 429]
    # the user's own budget is untouched: a live token of theirs still has all 5 (this request is the first)
    live = client.get(PING, REMOTE_ADDR=ip, HTTP_AUTHORIZATION=f"Bearer {make_access_token(user)}")
    assert live.status_code == 200
    assert live["RateLimit-Policy"] == '"user";q=5;w=86400' and live["X-RateLimit-Remaining"] == "4"


def test_request_principal_is_none_for_a_revoked_token(settings, user, make_access_token):
    """Also outside the middleware (a view's own `key="principal"` policy) a revoked token is anonymous."""
    from auth_app.services import auth_session_revoke
    from auth_app.tokens import token_decode

    token = make_access_token(user)
    assert request_principal(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")) == f"user:{user.pk}"
    auth_session_revoke(session_id=token_decode(token, expected_type="access").sid, reason="logout")
    assert request_principal(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")) is None


def test_one_cache_round_trip_counts_checks_revocation_and_reads_the_user(
    auth_client, settings, user, django_assert_num_queries, monkeypatch
):
    """An authenticated read costs one cache round trip before the view, and no query once the user is cached."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    settings.RATE_LIMIT_ENABLED = True
    assert auth_client.get("/api/v1/auth/users/me").status_code == 200  # fills the user cache
    if not isinstance(caches["default"], RedisCache):
        pytest.skip("counts Redis commands; the embedded cache has no round trips")
    import redis

    commands: list[str] = []
    original = redis.Redis.execute_command

    def counting(self, *args, **kwargs):
        commands.append(str(args[0]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    with django_assert_num_queries(0):
        response = auth_client.get("/api/v1/auth/users/me")
    commands = list(commands)  # what the request sent; later commands (teardown) are not its own
    assert response.status_code == 200 and response.json()["id"] == str(user.pk)
    assert response["RateLimit-Policy"].startswith('"user"')
    assert len(commands) == 1 and commands[0] in ("EVALSHA", "EVAL"), commands


@pytest.mark.django_db(transaction=True)
async def test_async_stack_counts_a_revoked_token_by_ip(settings, user, make_access_token):
    """The ASGI path (asyncio Redis client or the in-process steps) agrees with the sync one."""
    from asgiref.sync import sync_to_async

    from auth_app.services import auth_session_revoke
    from auth_app.tokens import token_decode

    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMIT_ANON = "1/1d"
    settings.RATE_LIMIT_USER = "5/1d"
    token = await sync_to_async(make_access_token)(user)
    client = AsyncClient(REMOTE_ADDR=fresh_ip(86400))
    bearer = {"Authorization": f"Bearer {token}"}
    live = await client.get(PING, headers=bearer)
    assert live["RateLimit-Policy"] == '"user";q=5;w=86400' and live["X-RateLimit-Remaining"] == "4"
    sid = token_decode(token, expected_type="access").sid
    await sync_to_async(auth_session_revoke)(session_id=sid, reason="logout")
    revoked = [await client.get(PING, headers=bearer) for _ in range(2)]
    assert [r.status_code for r in revoked] == [200, 429]
    assert revoked[0]["RateLimit-Policy"] == '"anon";q=1;w=86400'


def test_after_the_count_a_revoked_request_has_no_principal(settings, user, make_access_token):
    """Views that count by `key="principal"` after the middleware see the revoked request as anonymous too."""
    from auth_app.services import auth_session_revoke
    from auth_app.tokens import token_decode
    from common.ratelimit import counting

    token = make_access_token(user)
    auth_session_revoke(session_id=token_decode(token, expected_type="access").sid, reason="logout")
    request = RequestFactory().get(PING, HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR=fresh_ip(900))
    plan = counting.plan_for(request, None)
    assert plan is not None
    usage, name = counting.count(request, plan)
    assert name == "anon" and usage.count == 1
    assert request_principal(request) is None
