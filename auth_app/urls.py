"""Routes of the Auth API, mounted by config/urls.py under /api/v1/auth."""

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "auth_app"

urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/register", views.RegisterView.as_view(), name="register"),
    path("auth/login", views.LoginView.as_view(), name="login"),
    path("auth/refresh", views.RefreshView.as_view(), name="refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="logout"),
    path("auth/logout-all", views.LogoutAllView.as_view(), name="logout-all"),
    path("auth/users/me", views.MeView.as_view(), name="me"),
    path("auth/password/change", views.PasswordChangeView.as_view(), name="password-change"),
    path("auth/password/reset", views.PasswordResetView.as_view(), name="password-reset"),
    path("auth/password/reset/confirm", views.PasswordResetConfirmView.as_view(), name="password-reset-confirm"),
    path("auth/sessions", views.SessionListView.as_view(), name="sessions"),
    path("auth/sessions/<uuid:pk>", views.SessionDetailView.as_view(), name="session-detail"),
    path("auth/api-keys", views.ApiKeyListView.as_view(), name="api-keys"),
    path("auth/api-keys/<uuid:pk>", views.ApiKeyDetailView.as_view(), name="api-key-detail"),
]
