import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from accounts.health import DISPATCHER, WEBHOOK_SENDER, WORKER, heartbeat_record
from accounts.models import Heartbeat
from accounts.tasks import worker_heartbeat


def test_healthz_is_degraded_until_worker_dispatcher_and_sender_beat(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["processes"][WORKER]["alive"] is False
    worker_heartbeat()
    assert client.get(reverse("healthz")).json()["processes"][WORKER]["alive"] is True
    assert client.get(reverse("healthz")).status_code == 503
    heartbeat_record(DISPATCHER)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["processes"][WEBHOOK_SENDER]["alive"] is False
    heartbeat_record(WEBHOOK_SENDER)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_dashboard_warns_when_no_worker_was_seen(team):
    client = team.client("viewer")
    assert b"No background worker is running" in client.get(reverse("calendar")).content
    worker_heartbeat()
    page = client.get(reverse("calendar")).content
    assert b"No background worker is running" not in page
    assert b"No background dispatcher is running" in page
    assert b"No background webhook sender is running" in page
    assert b"python manage.py webhooks_send" in page
    heartbeat_record(WEBHOOK_SENDER)
    page = client.get(reverse("calendar")).content
    assert b"No background webhook sender is running" not in page
    assert b"No background dispatcher is running" in page


def test_stale_heartbeat_warns_again(team, settings):
    worker_heartbeat()
    Heartbeat.objects.update(last_seen=Heartbeat.objects.get().last_seen.replace(year=2000))
    page = team.client("viewer").get(reverse("calendar")).content
    assert b"No background worker is running" in page
    assert b"last seen" in page


def test_health_command_exits_nonzero_when_stale(db):
    with pytest.raises(Exception, match=r"not running: worker .*qcluster.*dispatcher .*dispatch.*webhooks_send"):
        call_command("health")
    worker_heartbeat()
    heartbeat_record(DISPATCHER)
    with pytest.raises(Exception, match=r"not running: webhook_sender \(python manage.py webhooks_send\)$"):
        call_command("health")
    heartbeat_record(WEBHOOK_SENDER)
    call_command("health")


def test_heartbeat_is_scheduled_every_minute(db):
    schedule = Schedule.objects.get(name="worker-heartbeat")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "accounts.tasks.worker_heartbeat",
        Schedule.MINUTES,
        1,
    )


def test_no_alarm_while_the_stack_is_starting(team, settings, monkeypatch):
    from accounts import health

    settings.WORKER_START_GRACE_SECONDS = 90
    monkeypatch.setattr(health, "WEB_STARTED_AT", timezone.now() - timedelta(seconds=10))
    page = team.client("viewer").get(reverse("calendar")).content
    assert b"No background worker is running" not in page
    response = team.client("viewer").get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["status"] == "starting"
    # The operator's command tells the truth at once.
    with pytest.raises(Exception, match="not running"):
        call_command("health")
    # Past the grace, the alarm is back.
    monkeypatch.setattr(health, "WEB_STARTED_AT", timezone.now() - timedelta(seconds=91))
    assert b"No background worker is running" in team.client("viewer").get(reverse("calendar")).content
    assert team.client("viewer").get(reverse("healthz")).status_code == 503


def test_a_worker_records_a_heartbeat_as_it_spawns(db):
    from django_q.signals import post_spawn

    post_spawn.send(sender="django_q", proc_name="Process-1")
    assert Heartbeat.objects.get(name=WORKER).last_seen is not None


def test_the_webhook_sender_records_a_heartbeat_as_it_runs(db):
    call_command("webhooks_send", "--once", stdout=io.StringIO())
    beat = Heartbeat.objects.get(name=WEBHOOK_SENDER)
    assert "pid" in beat.detail
    assert timezone.now() - beat.last_seen < timedelta(seconds=5)
