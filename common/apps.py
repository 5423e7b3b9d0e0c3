from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Platform common"

    def ready(self) -> None:
        from common import checks  # noqa: F401  - registers the platform system checks
        from common.openapi import extensions  # noqa: F401  - registers the OpenAPI security schemes
