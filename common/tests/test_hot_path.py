"""The request path's per-process memos (issue 8): each is reused, and none outlives what it depends on."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from typing import Any, cast

import pytest
from channels.layers import get_channel_layer
from django.core.cache import caches
from django.test import override_settings
from django.urls import clear_url_caches
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from common import channels as common_channels
from common.middleware import REMEMBERED_PATH_MAX_LENGTH, _resolved
from common.strict import ModelSerializer, Serializer
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


def test_a_field_changed_on_one_serializer_instance_stays_on_it():
    from auth_app.models import User

    class UserView(ModelSerializer):
        class Meta:
            model = User
            fields = ["id", "email", "name"]

    one, two = UserView(), UserView()
    one.fields["name"].required = True
    one.fields["name"].label = "Changed"
    assert two.fields["name"].required is False and two.fields["name"].label != "Changed"
    assert UserView().fields["name"].required is False


def test_fields_holding_fields_are_deep_copied_with_their_children():
    class Item(Serializer):
        name = serializers.CharField()

    class Order(Serializer):
        tags = serializers.ListField(child=serializers.CharField())
        items = Item(many=True)
        plain = serializers.CharField()

    one, two = cast(Any, Order()), cast(Any, Order())
    assert one.fields["tags"].child is not two.fields["tags"].child
    assert one.fields["tags"].child.parent is one.fields["tags"]
    assert one.fields["items"].child.fields["name"] is not two.fields["items"].child.fields["name"]
    assert one.fields["plain"] is not two.fields["plain"] and one.fields["plain"].parent is one
    assert Order(data={"tags": ["a"], "items": [{"name": "x"}], "plain": "p"}).is_valid()


def test_a_declared_serializer_field_is_bound_to_its_own_instance():
    class Ping(Serializer):
        word = serializers.CharField(max_length=4)

    one, two = Ping(data={"word": "toolong"}), Ping(data={"word": "ok"})
    assert not one.is_valid() and two.is_valid()
    assert one.fields["word"] is not two.fields["word"] and two.fields["word"].parent is two


# --- Content negotiation memo -----------------------------------------------------------------------

_ACCEPT_TOKENS = st.sampled_from(
    [
        "*/*",
        "application/json",
        "application/json; indent=4",
        "text/html",
        "text/*",
        "application/*",
        "application/problem+json",
        "image/png",
        "text/html;q=0.5",
        "application/json;q=0.1",
        "*/*;q=0.2",
        "",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    tokens=st.lists(_ACCEPT_TOKENS, max_size=4),
    requested_format=st.sampled_from([None, "json", "api", "xml"]),
)
def test_negotiation_answers_as_drf_does_for_any_accept_header(tokens, requested_format):
    from rest_framework.negotiation import DefaultContentNegotiation
    from rest_framework.renderers import BrowsableAPIRenderer
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from common.negotiation import ContentNegotiation
    from common.renderers import JSONRenderer

    query = {"format": requested_format} if requested_format else {}
    request = Request(APIRequestFactory().get("/x", query, HTTP_ACCEPT=", ".join(tokens)))

    def answer(negotiation: Any) -> Any:
        renderers = [JSONRenderer(), BrowsableAPIRenderer()]
        try:
            chosen, media_type = negotiation.select_renderer(request, renderers)
        except Exception as error:
            return type(error).__name__
        return renderers.index(chosen), media_type

    expected = answer(DefaultContentNegotiation())
    assert answer(ContentNegotiation()) == expected
    assert answer(ContentNegotiation()) == expected  # the remembered answer too


def test_an_accept_header_too_long_to_remember_is_still_negotiated():
    from rest_framework.renderers import BrowsableAPIRenderer
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from common.negotiation import REMEMBERED_ACCEPT_MAX_LENGTH, ContentNegotiation, _negotiated
    from common.renderers import JSONRenderer

    accept = "application/json, " + ", ".join(["text/x-a"] * (REMEMBERED_ACCEPT_MAX_LENGTH // 8))
    request = Request(APIRequestFactory().get("/x", HTTP_ACCEPT=accept))
    before = _negotiated.cache_info().currsize
    renderers = [JSONRenderer(), BrowsableAPIRenderer()]
    assert ContentNegotiation().select_renderer(request, renderers)[0] is renderers[0]
    assert _negotiated.cache_info().currsize == before


# --- Message storage built on first use -------------------------------------------------------------


def _message_chain(view: Any) -> Any:
    from common.django_middleware import MessageMiddleware, SessionMiddleware

    return SessionMiddleware(MessageMiddleware(view))


def test_a_request_that_never_uses_messages_builds_no_storage(rf):
    from django.http import HttpResponse
    from django.utils.functional import empty

    seen = []

    def view(request: Any) -> Any:
        seen.append(request)
        return HttpResponse("ok")

    response = _message_chain(view)(rf.get("/api/v1/anything"))
    assert seen[0]._messages._wrapped is empty
    assert "messages" not in response.cookies


def test_a_message_added_in_one_request_is_read_in_the_next(rf):
    from django.contrib import messages
    from django.http import HttpResponse

    def adds(request: Any) -> Any:
        messages.info(request, "saved")
        return HttpResponse("ok")

    first = _message_chain(adds)(rf.get("/admin/"))
    assert "messages" in first.cookies
    follow = rf.get("/admin/")
    follow.COOKIES["messages"] = first.cookies["messages"].value
    read: list[str] = []

    def reads(request: Any) -> Any:
        read.extend(str(message) for message in messages.get_messages(request))
        return HttpResponse("ok")

    _message_chain(reads)(follow)
    assert read == ["saved"]


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
