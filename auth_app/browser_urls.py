"""Browser pages of auth_app (Django session), mounted by config/urls.py under /accounts/."""

from django.urls import URLPattern, path

from .views.browser import SignInView, SignOutView

urlpatterns: list[URLPattern] = [
    path("login", SignInView.as_view(), name="login"),
    path("logout", SignOutView.as_view(), name="logout"),
]
