"""The browser inspector `/bins/{bin_id}` (Django session; the data comes from the REST API and the WebSocket)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.views.decorators.http import require_GET

from common.errors import NotFound

from .. import selectors


@require_GET
def bin_inspector(request: HttpRequest, bin_id: Any) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), str(settings.LOGIN_URL))
    try:
        bin = selectors.bin_get_owned(owner=request.user, bin_id=bin_id)
    except NotFound as exc:
        raise Http404(exc.detail) from None
    context = {
        "bin": bin,
        "capture_url": f"{settings.PUBLIC_BASE_URL.rstrip('/')}/hooks/{bin.pk}",
        "csrf_token": get_token(request),
    }
    response = render(request, "webhook_tester/inspector.html", context)
    response["Cache-Control"] = "no-store"
    return response
