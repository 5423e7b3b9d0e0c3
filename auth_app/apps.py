from django.apps import AppConfig


class AuthAppConfig(AppConfig):
    label = "auth_app"
    verbose_name = "Authentication"
    name = "auth_app"
