"""Views of the Auth API: thin wrappers that parse, call one service and render."""

from .account import MeView, PasswordChangeView, PasswordResetConfirmView, PasswordResetView
from .credentials import ApiKeyDetailView, ApiKeyListView, SessionDetailView, SessionListView
from .tokens import LoginView, LogoutAllView, LogoutView, RefreshView, RegisterView

__all__ = [
    "ApiKeyDetailView",
    "ApiKeyListView",
    "LoginView",
    "LogoutAllView",
    "LogoutView",
    "MeView",
    "PasswordChangeView",
    "PasswordResetConfirmView",
    "PasswordResetView",
    "RefreshView",
    "RegisterView",
    "SessionDetailView",
    "SessionListView",
]
