from django.apps import AppConfig


class FileProcessorConfig(AppConfig):
    name = "file_processor"
