from typing import Any

from django.apps import AppConfig
from django.core import checks


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        checks.register(schedule_settings_check)


def schedule_settings_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A schedule setting that does not parse stops start-up with its reason, not a sync later."""
    from django.core.exceptions import ImproperlyConfigured

    from analytics import schedule

    try:
        schedule.offsets()
        schedule.repeat()
        schedule.account_every()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="analytics.E001")]
    return []
