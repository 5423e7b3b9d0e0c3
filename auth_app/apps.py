from django.apps import AppConfig


class AuthAppConfig(AppConfig):
    label = "auth_app"
    verbose_name = "Authentication"
    name = "auth_app"

    def ready(self) -> None:
        from . import checks, schema, signals  # noqa: F401 - registers the checks, OpenAPI schemes and receivers
