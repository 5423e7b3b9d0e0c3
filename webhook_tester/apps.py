from django.apps import AppConfig


class WebhookTesterConfig(AppConfig):
    name = "webhook_tester"
