"""How long we keep what we keep: each kind of record, the setting that bounds its age, and the
function that removes what is older. ``retention_run`` enforces them all; a daily job runs it
and so does ``manage.py retention`` (with a line per batch, so a long first run shows progress)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import AuditRecord, Notification

BATCH = 5000
Report = Callable[[str], None]


@dataclass(frozen=True)
class Policy:
    label: str  # what is removed, in words
    setting: str  # the setting giving its age
    unit: str  # "days" or "hours"
    remove: Callable[[datetime, Report], int]  # removes what is older than the cutoff; how many went

    def max_age(self) -> timedelta:
        amount = int(getattr(settings, self.setting))
        return timedelta(days=amount) if self.unit == "days" else timedelta(hours=amount)


def _in_batches(queryset: models.QuerySet, delete: Callable[[list[int]], int], label: str, report: Report) -> int:
    """Delete in batches of BATCH rows: no table-long lock, and progress along the way."""
    removed = 0
    while ids := list(queryset.values_list("pk", flat=True)[:BATCH]):
        removed += delete(ids)
        report(f"  {label}: {removed} removed so far")
    return removed


def _audit(cutoff: datetime, report: Report) -> int:
    # The log's own queryset refuses delete(): only expire() removes records, and only by age.
    def delete(ids: list[int]) -> int:
        return models.QuerySet.delete(AuditRecord.objects.filter(pk__in=ids))[0]

    return _in_batches(AuditRecord.objects.filter(created_at__lt=cutoff), delete, "audit records", report)


def _notifications(cutoff: datetime, report: Report) -> int:
    def delete(ids: list[int]) -> int:
        return Notification.objects.filter(pk__in=ids).delete()[0]

    return _in_batches(Notification.objects.filter(created_at__lt=cutoff), delete, "notifications", report)


def _deliveries(cutoff: datetime, report: Report) -> int:
    from webhooks.services import deliveries_prune

    return deliveries_prune()  # its own cutoff, from the same setting (finished deliveries only)


def _uploads(cutoff: datetime, report: Report) -> int:
    from publishing.uploads import uploads_expire

    return uploads_expire(older_than=timezone.now() - cutoff)


def _exports(cutoff: datetime, report: Report) -> int:
    from accounts.exports import exports_expire

    return exports_expire(before=cutoff)


def _snapshots(cutoff: datetime, report: Report) -> int:
    from analytics.thinning import snapshots_thin

    return snapshots_thin(report=report)  # thinned, not removed: its own cutoffs, from the same setting


POLICIES = [
    Policy("Security and access logs (audit records)", "AUDIT_RETENTION_DAYS", "days", _audit),
    Policy("Webhook delivery logs", "WEBHOOK_DELIVERY_RETENTION_DAYS", "days", _deliveries),
    Policy("Notifications", "NOTIFICATION_RETENTION_DAYS", "days", _notifications),
    Policy("Abandoned uploads", "MEDIA_UPLOAD_EXPIRE_HOURS", "hours", _uploads),
    Policy("Finished data exports", "EXPORT_RETENTION_DAYS", "days", _exports),
    Policy("Old metric snapshots (thinned to one a day, then a week)", "ANALYTICS_KEEP_ALL_DAYS", "days", _snapshots),
]


def retention_run(*, report: Report | None = None) -> dict[str, int]:
    """Remove everything past its age; how many of each went."""
    say = report or (lambda line: None)
    now, removed = timezone.now(), {}
    for policy in POLICIES:
        age = int(getattr(settings, policy.setting))
        say(f"{policy.label}: older than {age} {policy.unit} ({policy.setting})")
        removed[policy.label] = count = policy.remove(now - policy.max_age(), say)
        say(f"  {count} removed")
    return removed


def retention_task() -> dict[str, int]:
    """The daily scheduled job."""
    return retention_run()
