from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AuthAppConfig(AppConfig):
    label = "auth_app"
    verbose_name = "Authentication"
    name = "auth_app"

    def ready(self) -> None:
        from . import checks, schema, signals  # noqa: F401 - registers the checks, OpenAPI schemes and receivers
        from .user_cache import connect_signals

        connect_signals()


class PlatformAdminConfig(admin_apps.AdminConfig):
    """`django.contrib.admin` with our site: its login shares the API login's attempt limits."""

    default = False  # `auth_app` itself stays AuthAppConfig
    default_site = "auth_app.admin_site.PlatformAdminSite"
