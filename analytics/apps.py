from typing import Any

from django.apps import AppConfig
from django.core import checks


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        checks.register(schedule_settings_check)
        connect_rollup()


def connect_rollup() -> None:
    """Writes through the ORM (save, delete and the cascades of deleting a post, a target or a
    part) keep the day cells in step; bulk writers (analytics/sync.py) call rollup.refresh."""
    from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

    from accounts.models import Workspace
    from analytics import rollup
    from analytics.models import PartMetrics

    def before_save(sender: Any, instance: PartMetrics, raw: bool = False, **kwargs: Any) -> None:
        if not raw:
            rollup.before_save(instance)

    def after_save(sender: Any, instance: PartMetrics, raw: bool = False, **kwargs: Any) -> None:
        if not raw:
            rollup.after_save(instance)

    def before_delete(sender: Any, instance: PartMetrics, origin: Any = None, **kwargs: Any) -> None:
        rollup.before_delete(instance, origin)

    def after_delete(sender: Any, instance: PartMetrics, origin: Any = None, **kwargs: Any) -> None:
        rollup.after_delete(instance, origin)

    def workspace_saved(sender: Any, instance: Workspace, created: bool = False, raw: bool = False,
                        update_fields: Any = None, **kwargs: Any) -> None:  # fmt: skip
        if created or raw or (update_fields is not None and "timezone" not in update_fields):
            return
        rollup.zone_changed(instance.pk, instance.timezone)

    uid = "analytics.rollup"
    pre_save.connect(before_save, sender=PartMetrics, weak=False, dispatch_uid=f"{uid}.pre_save")
    post_save.connect(after_save, sender=PartMetrics, weak=False, dispatch_uid=f"{uid}.post_save")
    pre_delete.connect(before_delete, sender=PartMetrics, weak=False, dispatch_uid=f"{uid}.pre_delete")
    post_delete.connect(after_delete, sender=PartMetrics, weak=False, dispatch_uid=f"{uid}.post_delete")
    post_save.connect(workspace_saved, sender=Workspace, weak=False, dispatch_uid=f"{uid}.zone")


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
