"""The admin site, whose login goes through the same attempt limits as every other login."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from .forms import AdminLoginForm, login_response_finish


class PlatformAdminSite(admin.AdminSite):
    login_form = AdminLoginForm

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().login(request, extra_context)
        return login_response_finish(request, response)  # type: ignore[return-value]
