"""Small request/response middleware, each usable from sync and async stacks without a thread hop."""

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, HttpResponseNotAllowed
from django.urls import Resolver404, ResolverMatch, get_resolver, get_urlconf

from .errors import ApplicationError, application_error_response, as_service_unavailable, problem_response
from .logging import request_id_var

GetResponse = Callable[[HttpRequest], Any]


class HookMiddleware:
    """Base for middleware written as two hooks: `before` may answer early, `after` may amend the response."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def before(self, request: HttpRequest) -> HttpResponseBase | None:
        return None

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        return response

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        early = self.before(request)
        return self.after(request, early if early is not None else self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        early = self.before(request)
        return self.after(request, early if early is not None else await self.get_response(request))


def resolve_request(request: HttpRequest) -> ResolverMatch | None:
    """Resolve the request's path once (memoised on the request) so middleware can read view attributes."""
    if "_common_resolver_match" in request.__dict__:
        cached: ResolverMatch | None = request.__dict__["_common_resolver_match"]
        return cached
    match = _resolved(request.path_info, getattr(request, "urlconf", None))
    request._common_resolver_match = match  # type: ignore[attr-defined]
    return match


RESOLVED_PATHS_REMEMBERED = 2048
REMEMBERED_PATH_MAX_LENGTH = 256  # the memo holds at most ~0.5 MiB of paths
_UNRESOLVED = object()


def _resolved(path: str, urlconf: str | None) -> ResolverMatch | None:
    """`resolve(path)` (None for no match), remembered per URL resolver for the paths seen most recently.

    Resolving walks the URL patterns with regular expressions (~0.1 ms of a small API request,
    issue 8), and clients repeat the same paths. The memo hangs on Django's resolver object, which
    Django replaces whenever the URLconf changes (settings overrides, `clear_url_caches`), so a match
    never outlives its URLconf. Matches are shared between requests: Django and DRF read them and
    pass copies of their arguments to the view; nothing may change one in place.
    """
    resolver = get_resolver(urlconf if urlconf is not None else get_urlconf())
    memo: dict[str, ResolverMatch | None] = resolver.__dict__.setdefault("_platform_resolved", {})
    found = memo.get(path, _UNRESOLVED)  # one lookup: another thread may clear the memo meanwhile
    if found is not _UNRESOLVED:
        return found  # type: ignore[return-value]
    try:
        match: ResolverMatch | None = resolver.resolve(path)
    except Resolver404:
        match = None
    if len(path) <= REMEMBERED_PATH_MAX_LENGTH:
        if len(memo) >= RESOLVED_PATHS_REMEMBERED:
            memo.clear()  # cheaper than an LRU's bookkeeping on every hit; refills with the paths in use
        memo[path] = match
    return match


class ResolvedOnceHandlerMixin:
    """For Django's request handlers: reuse the match `resolve_request` memoised for the middleware.

    Django's handler resolves the path again before calling the view (~40 µs of a small API request,
    issue 8); when the middleware already resolved the same path with the same URLconf, that match is it.
    """

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        match: ResolverMatch | None = request.__dict__.get("_common_resolver_match")
        if match is None or getattr(request, "urlconf", None) is not None:
            return super().resolve_request(request)  # type: ignore[misc]
        request.resolver_match = match
        return match


_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_for(incoming: str) -> str:
    """The client's `X-Request-ID` when it is well formed, else a new one (middleware and the guards)."""
    return incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex


class RequestIdMiddleware(HookMiddleware):
    """Takes a well-formed `X-Request-ID` or makes one, logs with it, and returns it."""

    def before(self, request: HttpRequest) -> None:
        request_id = request_id_for(request.headers.get("X-Request-ID", ""))
        request.request_id = request_id  # type: ignore[attr-defined]
        request_id_var.set(request_id)

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response["X-Request-ID"] = getattr(request, "request_id", "")
        return response


class ContentSecurityPolicyMiddleware(HookMiddleware):
    """Adds the CSP header to the HTML pages we serve (docs, admin, browsable API, bin inspector)."""

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if response.get("Content-Type", "").startswith("text/html") and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
        return response


class ProblemDetailsMiddleware(HookMiddleware):
    """Turns the error responses Django builds without our handlers into problem+json.

    Django's class-based views and `require_http_methods` answer a wrong method with a bare
    `HttpResponseNotAllowed`; this keeps its `Allow` header and gives it the common body. Other
    responses pass untouched (a webhook bin may answer with any status and body on purpose). A view
    that raises because the database is unreachable gets 503 `service_unavailable` (`process_exception`).
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase | None:
        """A plain Django view that hit an unreachable database (503 service_unavailable) or raised one of
        the application's errors (e.g. a streamed body's 408 request_timeout): its problem, not a 500.

        (DRF views get the same from `drf_exception_handler`.)
        """
        error = as_service_unavailable(exception) or exception
        return application_error_response(error) if isinstance(error, ApplicationError) else None

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response.get("Allow", "")
            return problem_response(
                status=405,
                code="method_not_allowed",
                detail=f'Method "{request.method}" not allowed here; allowed: {allowed}.',
                headers={"Allow": allowed},
            )
        return response
