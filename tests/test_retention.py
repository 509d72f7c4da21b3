"""Retention removes exactly what is past its age (and keeps the rest), for every policy, through
the daily job and the manage.py command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuditRecord, Notification
from accounts.retention import POLICIES, retention_run
from publishing.models import MediaUpload
from webhooks.models import Delivery, Endpoint

DAY = timedelta(days=1)


def _audit(age: timedelta) -> AuditRecord:
    return AuditRecord.objects.create(action="auth.login", created_at=timezone.now() - age)


def _notification(team, age: timedelta) -> Notification:
    notice = Notification.objects.create(user=team.users["owner"], title=f"{age}")
    Notification.objects.filter(pk=notice.pk).update(created_at=timezone.now() - age)
    return notice


def _delivery(endpoint: Endpoint, age: timedelta, status: str) -> Delivery:
    return Delivery.objects.create(workspace=endpoint.workspace, endpoint=endpoint, message_id="m", event_type="t",
                                   body="{}", status=status, created_at=timezone.now() - age)  # fmt: skip


def _upload(team, age: timedelta) -> MediaUpload:
    upload = MediaUpload.objects.create(workspace=team.workspace, name="a.mp4", size=10, mime_type="video/mp4")
    MediaUpload.objects.filter(pk=upload.pk).update(updated_at=timezone.now() - age)
    return upload


@pytest.fixture
def aged(team):
    endpoint = Endpoint.objects.create(workspace=team.workspace, url="http://127.0.0.1:9/h", secret="s" * 32)
    S = Delivery.Status
    return {
        "audit": [_audit(91 * DAY), _audit(89 * DAY)],
        "notifications": [_notification(team, 91 * DAY), _notification(team, 89 * DAY)],
        # A delivery still retrying is kept whatever its age.
        "deliveries": [
            _delivery(endpoint, 31 * DAY, S.SUCCEEDED),
            _delivery(endpoint, 29 * DAY, S.SUCCEEDED),
            _delivery(endpoint, 31 * DAY, S.PENDING),
        ],
        "uploads": [_upload(team, timedelta(hours=25)), _upload(team, timedelta(hours=23))],
    }


def test_retention_removes_exactly_what_is_past_its_age(aged):
    removed = retention_run()
    assert set(AuditRecord.objects.values_list("pk", flat=True)) == {aged["audit"][1].pk}
    assert set(Notification.objects.values_list("pk", flat=True)) == {aged["notifications"][1].pk}
    kept = {aged["deliveries"][1].pk, aged["deliveries"][2].pk}
    assert set(Delivery.objects.values_list("pk", flat=True)) == kept
    assert set(MediaUpload.objects.values_list("pk", flat=True)) == {aged["uploads"][1].pk}
    assert list(removed.values()) == [1, 1, 1, 1, 0, 0]  # ...and no metric snapshots to thin
    assert retention_run() == dict.fromkeys(removed, 0)  # a second run finds nothing


def test_settings_change_the_ages(aged, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    settings.NOTIFICATION_RETENTION_DAYS = 365
    retention_run()
    assert AuditRecord.objects.count() == 0
    assert Notification.objects.count() == 2


def test_the_command_reports_progress(aged, monkeypatch):
    monkeypatch.setattr("accounts.retention.BATCH", 1)
    for n in range(2):
        _audit((100 + n) * DAY)
    out = StringIO()
    call_command("retention", stdout=out)
    text = out.getvalue()
    assert "Security and access logs (audit records): older than 90 days (AUDIT_RETENTION_DAYS)" in text
    assert "audit records: 3 removed so far" in text
    assert "Done: 6 removed in all." in text
    assert "Finished data exports: older than 7 days (EXPORT_RETENTION_DAYS)" in text


def test_every_policy_names_a_real_setting(settings):
    for policy in POLICIES:
        assert int(getattr(settings, policy.setting)) > 0
