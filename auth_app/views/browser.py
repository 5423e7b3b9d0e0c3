"""The browser sign-in page for any user (Django session): /accounts/login and /accounts/logout.

Pages of our own (the webhook-tester inspector, ...) send a signed-out browser here with `?next=`.
Sign-in goes through `user_authenticate` (the API login's attempt limits and device tokens); `next`
is followed only when `url_has_allowed_host_and_scheme` accepts it (Django's LoginView), else the
page itself. Sign-out is POST only, with the CSRF token.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from ..forms import LoginForm, login_response_finish


class SignInView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return login_response_finish(request, super().post(request, *args, **kwargs))  # type: ignore[return-value]


class SignOutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]
