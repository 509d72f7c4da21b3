import logging

from allauth.account.signals import user_signed_up
from django.db import DatabaseError
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django_q.signals import post_spawn

from accounts.health import WORKER, heartbeat_record
from accounts.services import workspace_create_personal
from accounts.timezones import browser_zone


@receiver(user_signed_up)
def create_personal_workspace(sender, request, user, **kwargs) -> None:
    if not user.memberships.exists():
        # The browser's own zone (see static/js/app.js), so the first schedule is in local time.
        workspace_create_personal(user=user, timezone_name=browser_zone(request) or "UTC")


@receiver(post_migrate)
def ensure_schedules(sender, **kwargs) -> None:
    """Periodic jobs live in the database (django-q2 Schedule); make sure ours exist once."""
    if sender.name != "accounts":
        return
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="worker-heartbeat",
        defaults={"func": "accounts.tasks.worker_heartbeat", "schedule_type": Schedule.MINUTES, "minutes": 1},
    )
    Schedule.objects.update_or_create(
        name="retention", defaults={"func": "accounts.retention.retention_task", "schedule_type": Schedule.DAILY}
    )
    Schedule.objects.update_or_create(
        name="purge-deleted-workspaces",
        defaults={"func": "accounts.deletion.workspaces_purge_due", "schedule_type": Schedule.HOURLY},
    )


@receiver(post_spawn)
def worker_started(sender, proc_name: str, **kwargs) -> None:
    """A worker says so as it starts, not a minute later when the first scheduled beat runs."""
    try:
        heartbeat_record(WORKER)
    except DatabaseError:
        # The scheduled beat will try again; a worker must not die over its own health report.
        logging.getLogger(__name__).warning("could not record the worker's start heartbeat", exc_info=True)
