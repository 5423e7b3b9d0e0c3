"""Django's middleware on the event loop (common.django_middleware): same behaviour, no thread per hook."""

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import HttpResponse
from django.test import AsyncClient, AsyncRequestFactory
from django.views.decorators.csrf import csrf_exempt

from common import django_middleware as mw

pytestmark = pytest.mark.django_db(transaction=True)

INLINE = [
    mw.SecurityMiddleware,
    mw.CommonMiddleware,
    mw.XFrameOptionsMiddleware,
    mw.AuthenticationMiddleware,
    mw.SessionMiddleware,
    mw.MessageMiddleware,
    mw.CsrfViewMiddleware,
]


@pytest.fixture
def hops(monkeypatch):
    """Every hook sent to a thread by common.django_middleware, by name (the real sync_to_async runs it)."""
    sent: list[str] = []

    def spy(func, *args, **kwargs):
        sent.append(getattr(func, "__name__", repr(func)))
        return sync_to_async(func, *args, **kwargs)

    monkeypatch.setattr(mw, "sync_to_async", spy)
    return sent


def _chain(classes, view):
    """The middleware `classes` (outermost first) around the async `view`, as Django's handler builds them."""
    handler = view
    for cls in reversed(classes):
        handler = cls(handler)
    return handler


async def _ok(request):
    return HttpResponse("ok")


@pytest.mark.parametrize("cls", INLINE, ids=lambda cls: cls.__name__)
async def test_a_plain_get_runs_every_hook_on_the_loop(cls, hops):
    middleware = _chain([mw.SessionMiddleware, mw.AuthenticationMiddleware, mw.MessageMiddleware, cls], _ok)
    response = await middleware(AsyncRequestFactory().get("/page/"))
    assert response.status_code == 200
    assert hops == []


async def test_the_headers_are_django_s(hops, settings):
    settings.SECURE_CONTENT_TYPE_NOSNIFF = True
    chain = _chain([mw.SecurityMiddleware, mw.XFrameOptionsMiddleware, mw.CommonMiddleware], _ok)
    response = await chain(AsyncRequestFactory().get("/page/"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == settings.SECURE_REFERRER_POLICY
    assert response["Content-Length"] == "2"
    assert hops == []


async def test_a_modified_session_is_saved_in_a_thread(hops):
    async def writes_session(request):
        request.session["seen"] = True
        return HttpResponse("ok")

    response = await _chain([mw.SessionMiddleware], writes_session)(AsyncRequestFactory().get("/"))
    assert hops == ["process_response"]
    cookie = response.cookies["sessionid"].value
    from django.contrib.sessions.backends.db import SessionStore

    assert await sync_to_async(lambda: SessionStore(session_key=cookie).get("seen"))() is True
    assert "Cookie" in response["Vary"]


async def test_a_read_session_varies_on_cookie_without_a_thread(hops):
    async def reads_nothing_but_touches(request):
        request.session.accessed = True  # what a read of an empty session marks
        return HttpResponse("ok")

    response = await _chain([mw.SessionMiddleware], reads_nothing_but_touches)(AsyncRequestFactory().get("/"))
    assert hops == []
    assert response["Vary"] == "Cookie"


async def test_added_messages_are_stored_in_a_thread(hops):
    async def adds_message(request):
        await sync_to_async(messages.info)(request, "saved")
        return HttpResponse("ok")

    chain = _chain([mw.SessionMiddleware, mw.MessageMiddleware], adds_message)
    response = await chain(AsyncRequestFactory().get("/"))
    assert "process_response" in hops
    assert "messages" in response.cookies


async def test_csrf_process_view_is_a_coroutine_under_asgi_and_checks_unsafe_requests_in_a_thread(hops):
    def form_view(request):
        return HttpResponse("ok")

    check: Any = mw.CsrfViewMiddleware(_ok).process_view  # a coroutine function under ASGI
    request = AsyncRequestFactory().post("/form", {"a": "1"})
    refused = await check(request, form_view, (), {})
    assert refused is not None and refused.status_code == 403
    assert hops == ["process_view"]
    hops.clear()
    assert await check(AsyncRequestFactory().post("/f"), csrf_exempt(form_view), (), {}) is None
    assert await check(AsyncRequestFactory().get("/f"), form_view, (), {}) is None
    assert hops == []


def test_under_wsgi_they_are_django_s_sync_classes(client):
    """The sync stack: plain calls, no coroutine; the project's pages still get the headers."""
    middleware = mw.CsrfViewMiddleware(lambda request: HttpResponse("ok"))
    assert not hasattr(middleware.process_view, "__await__")
    response = client.get("/health/live")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


async def test_the_project_chain_has_no_sync_only_middleware(settings):
    from django.utils.module_loading import import_string

    for path in settings.MIDDLEWARE:
        assert getattr(import_string(path), "async_capable", False), path
    assert "whitenoise" not in " ".join(settings.MIDDLEWARE)
    response = await AsyncClient().get("/health/live")
    assert response.status_code == 200 and response["X-Frame-Options"] == "DENY"
