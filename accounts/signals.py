from allauth.account.signals import user_signed_up
from django.db.models.signals import post_migrate
from django.dispatch import receiver

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
