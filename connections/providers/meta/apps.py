from django.apps import AppConfig


class MetaConfig(AppConfig):
    """Meta's own tables: the data-deletion requests Meta relays (their status page reads them)."""

    name = "connections.providers.meta"
    label = "meta"
    verbose_name = "Meta (Facebook, Instagram, Threads)"
    default_auto_field = "django.db.models.BigAutoField"
