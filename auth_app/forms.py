"""Password sign-in forms for the Django session (the admin and /accounts/login), over `user_authenticate`.

They are Django's AuthenticationForm with its credential check replaced by the service every login
uses, so the admin and the browser page share the API login's attempt limits and device tokens.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.template.response import TemplateResponse

from common.errors import RateLimited, ServiceUnavailable, Unauthenticated

from .devices import device_cookie_set
from .services import user_authenticate

_DEVICE_TOKEN_ATTR = "_auth_device_token"  # noqa: S105 - an attribute name, not a secret


class LoginForm(AuthenticationForm):
    # A plain field: Django's UsernameField applies NFKC first, which would let `miſſiſ1@` sign in as
    # `missis1@`; the service's canonical form decides alone.
    username = forms.CharField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Invalid email or password.",
        "rate_limited": "Too many attempts for this account or from this address; try again in %(seconds)s seconds.",
        "unavailable": "Signing in is unavailable right now; try again later.",
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.refusal: RateLimited | ServiceUnavailable | None = None

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is None or not password:
            return self.cleaned_data
        try:
            user, device_token = user_authenticate(request=self.request, email=email, password=password)
        except Unauthenticated:
            raise self.get_invalid_login_error() from None
        except RateLimited as exc:
            self.refusal = exc
            seconds = exc.headers.get("Retry-After", "60")
            raise ValidationError(
                self.error_messages["rate_limited"], code="rate_limited", params={"seconds": seconds}
            ) from None
        except ServiceUnavailable as exc:
            self.refusal = exc
            raise ValidationError(self.error_messages["unavailable"], code="unavailable") from None
        self.user_cache = user
        self.confirm_login_allowed(user)
        if self.request is not None:
            setattr(self.request, _DEVICE_TOKEN_ATTR, device_token)
        return self.cleaned_data


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        **{key: value for key, value in LoginForm.error_messages.items() if key != "invalid_login"},
    }


def login_response_finish(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """After a sign-in view answered: the status and headers of a refusal (429/503), or the device cookie."""
    form = getattr(response, "context_data", None) and response.context_data.get("form")  # type: ignore[attr-defined]
    refusal = getattr(form, "refusal", None)
    if isinstance(response, TemplateResponse) and refusal is not None:
        response.status_code = refusal.status
        for name, value in refusal.headers.items():
            response[name] = value
    token = getattr(request, _DEVICE_TOKEN_ATTR, None)
    if token and response.status_code in (301, 302, 303):
        device_cookie_set(response, token)
    return response
