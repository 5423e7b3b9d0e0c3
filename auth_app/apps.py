from django.apps import AppConfig


class AuthAppConfig(AppConfig):
    label = "auth_app"
    verbose_name = "Authentication"
    name = "auth_app"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .user_cache import connect_signals

        connect_signals()
