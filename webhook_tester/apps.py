from django.apps import AppConfig


class WebhookTesterConfig(AppConfig):
    name = "webhook_tester"

    def ready(self) -> None:
        from . import lookups  # noqa: F401 - registers BinaryField's bytes_contains
