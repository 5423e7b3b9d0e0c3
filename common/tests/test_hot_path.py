"""The request path's per-process memos (issue 8): each is reused, and none outlives what it depends on."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.core.cache import caches
from django.test import override_settings
from django.urls import clear_url_caches

from common import channels as common_channels
from common.middleware import REMEMBERED_PATH_MAX_LENGTH, _resolved
from common.strict import ModelSerializer
from common.wsgi import RequestGuardWSGI

from .servers import CLOSED
from .test_wsgi_guard import _call, _environ

USING_REDIS = bool(os.environ.get("REDIS_URL"))


# --- URL resolution memo ----------------------------------------------------------------------------


@pytest.mark.urls("common.tests.urls")
def test_a_path_resolves_once_and_the_match_is_reused():
    first = _resolved("/api/v1/test/ping", None)
    assert first is not None
    assert _resolved("/api/v1/test/ping", None) is first
    assert _resolved("/no/such/path", None) is None


def test_a_new_urlconf_never_sees_the_old_urlconf_matches():
    with override_settings(ROOT_URLCONF="common.tests.urls"):
        assert _resolved("/api/v1/test/ping", None) is not None
    clear_url_caches()
    with override_settings(ROOT_URLCONF="config.urls"):
        assert _resolved("/api/v1/test/ping", None) is None  # not a route of the real URLconf


@pytest.mark.urls("common.tests.urls")
def test_long_paths_are_resolved_but_not_remembered():
    from django.urls import get_resolver

    long_path = "/api/v1/test/" + "x" * REMEMBERED_PATH_MAX_LENGTH
    _resolved(long_path, None)
    assert long_path not in get_resolver().__dict__.get("_platform_resolved", {})


# --- Model serializer fields built once per class ---------------------------------------------------


def test_each_serializer_instance_gets_its_own_bound_fields():
    from auth_app.models import User

    class UserView(ModelSerializer):
        class Meta:
            model = User
            fields = ["id", "email", "name"]

    one, two = UserView(User(email="a@example.com")), UserView(User(email="b@example.com"))
    assert one.fields["email"] is not two.fields["email"]
    assert one.fields["email"].parent is one and two.fields["email"].parent is two
    assert one.data["email"] == "a@example.com" and two.data["email"] == "b@example.com"


# --- WSGI liveness before Django --------------------------------------------------------------------


def test_wsgi_liveness_is_answered_without_django():
    def django_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise AssertionError("liveness reached Django")

    status, headers, body = _call(RequestGuardWSGI(django_app), _environ("/health/live", b"", REQUEST_METHOD="GET"))
    assert (status, body) == (200, b'{"status": "ok"}')
    assert headers["Cache-Control"] == "no-store" and headers["X-Content-Type-Options"] == "nosniff"


def test_wsgi_liveness_from_a_browser_goes_to_the_view_for_cors():
    reached = []

    def django_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        reached.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b""]

    environ = _environ("/health/live", b"", REQUEST_METHOD="GET", HTTP_ORIGIN="https://app.example")
    _call(RequestGuardWSGI(django_app), environ)
    assert reached == ["/health/live"]


# --- Redis cache: one client per pool ---------------------------------------------------------------


@pytest.mark.skipif(not USING_REDIS, reason="the Redis cache backend runs only with REDIS_URL")
def test_the_redis_cache_reuses_one_client_per_pool():
    cache: Any = caches["default"]
    assert cache._cache.get_client(write=True) is cache._cache.get_client(write=True)
    cache.set("hot-path-probe", 42, timeout=30)
    assert cache.get("hot-path-probe") == 42


# --- Channel-layer publishing from sync code --------------------------------------------------------


@pytest.mark.skipif(not USING_REDIS, reason="the publisher loop serves the Redis channel layers")
async def test_sync_publishes_reach_a_listener_through_one_long_lived_loop():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("hot-path-group", channel)
    try:
        for index in range(3):
            await asyncio.to_thread(common_channels.group_send_now, [("hot-path-group", {"type": "probe", "n": index})])
            message = await asyncio.wait_for(layer.receive(channel), timeout=5)
            assert message["n"] == index
        publishers = [t for t in threading.enumerate() if t.name == "channel-layer-publisher"]
        assert len(publishers) == 1
    finally:
        await layer.group_discard("hot-path-group", channel)
        await common_channels.channel_release(layer, channel)


@pytest.mark.parametrize("silent", [False, True], ids=["refused", "never-answers"])
def test_a_sync_publish_to_a_dead_redis_layer_returns_within_its_deadline(settings, silent):
    """A refused connection, or a Redis that accepts and never answers: the caller gets control back."""
    with socket.socket() as blackhole:
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(8)  # the kernel accepts; nothing ever reads or answers
        address = f"127.0.0.1:{blackhole.getsockname()[1]}" if silent else CLOSED
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [f"redis://{address}/0"]},
            }
        }
        settings.CHANNEL_PUSH_TIMEOUT_SECONDS = 1  # Redis's own socket timeout would end it after ~5 s
        done = threading.Event()

        def publish() -> None:
            common_channels.group_send_now([("hot-path-dead", {"type": "probe"})])  # logged, never raised
            done.set()

        threading.Thread(target=publish, daemon=True).start()
        assert done.wait(timeout=3.5), "the publish outlived its 1 s deadline"
