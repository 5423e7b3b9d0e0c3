"""Django's own middleware, run on the event loop under ASGI instead of through a thread per hook.

Django's `MiddlewareMixin` runs every `process_request` / `process_response` of an async request
through `sync_to_async(thread_sensitive=True)`: with the seven Django middleware we use that was
twelve thread hops per request, plus one per `process_view` (measured in docs/benchmarks.md). The
hooks below do no I/O in the cases they are run inline (header and cookie work on objects already in
memory), so they run on the loop; where a hook may touch the database (a session that must be saved,
messages that must be stored, a CSRF check that parses a form body) the hook still runs in a thread,
exactly as Django would. Under WSGI (sync) these classes behave exactly like Django's.

Each class is a drop-in for the Django class of the same name in `MIDDLEWARE`.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.messages.storage import default_storage
from django.contrib.sessions import middleware as sessions_middleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware import clickjacking, common, csrf, security
from django.utils.functional import SimpleLazyObject, empty

__all__ = [
    "AuthenticationMiddleware",
    "CommonMiddleware",
    "CsrfViewMiddleware",
    "MessageMiddleware",
    "SecurityMiddleware",
    "SessionMiddleware",
    "XFrameOptionsMiddleware",
]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class _InlineHooks:
    """`MiddlewareMixin.__acall__` without the thread hops: the hooks run on the event loop.

    A subclass says when a hook must still go to a thread (`request_needs_thread`,
    `response_needs_thread`); by default neither does.
    """

    get_response: Any

    def request_needs_thread(self, request: HttpRequest) -> bool:
        return False

    def response_needs_thread(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        return False

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = None
        process_request = getattr(self, "process_request", None)
        if process_request is not None:
            if self.request_needs_thread(request):
                response = await sync_to_async(process_request, thread_sensitive=True)(request)
            else:
                response = process_request(request)
        response = response or await self.get_response(request)
        process_response = getattr(self, "process_response", None)
        if process_response is not None:
            if self.response_needs_thread(request, response):
                response = await sync_to_async(process_response, thread_sensitive=True)(request, response)
            else:
                response = process_response(request, response)
        return response


class SecurityMiddleware(_InlineHooks, security.SecurityMiddleware):
    """Headers and the HTTPS redirect: no I/O."""


class CommonMiddleware(_InlineHooks, common.CommonMiddleware):
    """Slash redirects (a URL resolve) and Content-Length: no I/O."""


class XFrameOptionsMiddleware(_InlineHooks, clickjacking.XFrameOptionsMiddleware):
    """One header: no I/O."""


class AuthenticationMiddleware(_InlineHooks, auth_middleware.AuthenticationMiddleware):
    """Sets the lazy `request.user` / `request.auser`; the session is read only when they are used."""


class SessionMiddleware(_InlineHooks, sessions_middleware.SessionMiddleware):
    """Creates the lazy session store inline; saving a modified session goes to a thread (database)."""

    def response_needs_thread(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        session = getattr(request, "session", None)
        if session is None:
            return False
        # Loading the session (is_empty on a session never read does not load it) and saving it do I/O.
        return bool(getattr(session, "modified", False) or settings.SESSION_SAVE_EVERY_REQUEST)


class MessageMiddleware(_InlineHooks, messages_middleware.MessageMiddleware):
    """The message storage is made when a view or template first uses it (API requests never do: building
    it per request was ~3 % of a small API read, issue 8); storing messages (cookie, or the session) goes to
    a thread only when there is something to store."""

    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not _messages_used(request):
            return response
        return super().process_response(request, response)

    def response_needs_thread(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        if not _messages_used(request):
            return False
        storage = request._messages  # type: ignore[attr-defined]
        return bool(storage.used or storage.added_new)


def _messages_used(request: HttpRequest) -> bool:
    storage = getattr(request, "_messages", None)
    return storage is not None and not (isinstance(storage, SimpleLazyObject) and storage._wrapped is empty)


class CsrfViewMiddleware(_InlineHooks, csrf.CsrfViewMiddleware):
    """The CSRF cookie and check; a check that must read a form body (or the session) runs in a thread.

    Django adapts `process_view` to the handler's mode with a thread hop for a sync method, so under
    ASGI this instance offers a coroutine instead, which checks inline when there is nothing to read.
    """

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        if iscoroutinefunction(get_response):
            self.process_view = self._aprocess_view  # type: ignore[method-assign,assignment]

    def request_needs_thread(self, request: HttpRequest) -> bool:
        return bool(settings.CSRF_USE_SESSIONS)

    def response_needs_thread(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        return bool(settings.CSRF_USE_SESSIONS)

    async def _aprocess_view(
        self, request: HttpRequest, callback: Any, callback_args: Any, callback_kwargs: Any
    ) -> HttpResponseBase | None:
        sync_view_check = csrf.CsrfViewMiddleware.process_view.__get__(self)
        if getattr(callback, "csrf_exempt", False) or request.method in _SAFE_METHODS:
            # Nothing is read: the check returns at once (a safe method or an exempt view).
            return sync_view_check(request, callback, callback_args, callback_kwargs)
        return await sync_to_async(sync_view_check, thread_sensitive=True)(
            request, callback, callback_args, callback_kwargs
        )
