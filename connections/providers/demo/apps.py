from django.apps import AppConfig


class DemoNetworkConfig(AppConfig):
    name = "connections.providers.demo"
    label = "demo"
    verbose_name = "Demo network"
    default_auto_field = "django.db.models.BigAutoField"
