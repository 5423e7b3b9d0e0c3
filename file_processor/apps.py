from django.apps import AppConfig


class FileProcessorConfig(AppConfig):
    name = "file_processor"

    def ready(self) -> None:
        from . import checks, native  # noqa: F401 - registers the system checks

        native.libmagic()  # probe now, so a missing libmagic is logged once at start-up
