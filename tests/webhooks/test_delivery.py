"""Real deliveries to a receiver on loopback, verified with the independent standardwebhooks verifier."""

import json
import socket
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from accounts.models import Notification
from tests.webhooks.conftest import emit, run_pass
from webhooks import sender
from webhooks.models import Delivery, Endpoint, OutboxCursor
from webhooks.services import endpoint_rotate_secret, endpoint_update


def _verify(secret: str, received) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


def test_an_event_is_delivered_signed_with_standard_webhooks_headers(team, endpoint, receiver):
    event = emit(team.workspace, "target.published", subject_id=5, url="https://x.test/p/1", platform_post_id="p1")
    result = run_pass()
    assert (result.fanned_out, result.succeeded) == (1, 1)
    (got,) = receiver.received
    payload = _verify(endpoint.plain_secret, got)
    assert got.headers["webhook-id"] == event.public_id
    assert payload["type"] == "post.target.published"
    assert payload["data"] == {
        "post_id": 5, "target_id": 5, "status": "published", "platform_post_id": "p1", "url": "https://x.test/p/1",
    }  # fmt: skip
    assert payload["timestamp"].endswith("Z")
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempts[0]["status"] == 200
    assert delivery.attempts[0]["excerpt"] == '{"ok": true}'
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(got.body, got.headers)  # another secret does not verify


def test_internal_events_and_unsubscribed_types_are_not_sent(team, endpoint, receiver):
    endpoint_update(actor=team.membership("admin"), endpoint=endpoint, event_types=["post.failed"])
    internal = emit(team.workspace, "part.published")  # internal only
    # PostgreSQL's sequence outlives earlier tests
    OutboxCursor.objects.filter(name=sender.CURSOR).update(seq=internal.seq - 1)
    emit(team.workspace, "post.published")  # not subscribed
    emit(team.workspace, "post.failed")
    last = emit(team.other_workspace, "post.failed")  # another workspace's event
    run_pass()
    assert [json.loads(r.body)["type"] for r in receiver.received] == ["post.failed"]
    assert OutboxCursor.objects.get(name=sender.CURSOR).seq == last.seq  # past everything read, sent or not


def test_both_secrets_verify_for_24_hours_after_a_rotation_then_only_the_new_one(team, endpoint, receiver):
    old = endpoint.plain_secret
    new = endpoint_rotate_secret(actor=team.membership("admin"), endpoint=endpoint)
    assert new != old
    assert new.startswith("whsec_")
    emit(team.workspace)
    run_pass()
    during = receiver.received[-1]
    assert _verify(old, during)["type"] == "post.published"
    assert _verify(new, during)["type"] == "post.published"
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        emit(team.workspace, subject_id=8)
        run_pass()
        after = receiver.received[-1]
        assert _verify(new, after)["data"]["post_id"] == 8
        with pytest.raises(WebhookVerificationError):
            _verify(old, after)


def test_a_failing_receiver_is_retried_with_the_same_id_honouring_retry_after(team, endpoint, receiver):
    receiver.script = [(503, {"Retry-After": "120"}), (500, {})]
    emit(team.workspace)
    run_pass()
    _verify(endpoint.plain_secret, receiver.received[-1])
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
    assert 120 <= wait < 125  # Retry-After beats the schedule's 5 s
    assert run_pass().sent == 0  # not due yet

    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)):
        run_pass()
        _verify(endpoint.plain_secret, receiver.received[-1])
        delivery.refresh_from_db()
        wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
        assert 270 <= wait <= 330  # the schedule's 5 min, with jitter
    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)):
        run_pass()
        _verify(endpoint.plain_secret, receiver.received[-1])
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert [a["status"] for a in delivery.attempts] == [503, 500, 200]
    assert len(set(receiver.ids())) == 1
    assert len(receiver.received) == 3
    assert len({r.headers["webhook-timestamp"] for r in receiver.received}) == 3  # re-signed at each attempt


def test_410_disables_the_endpoint_and_tells_owners_and_admins(
    team, endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [(410, {})]
    emit(team.workspace)
    sender.outbox_fan_out()  # queued, not sent yet
    Delivery.objects.update(next_attempt_at=timezone.now() + timedelta(minutes=1))
    emit(team.workspace, subject_id=8)
    with django_capture_on_commit_callbacks(execute=True):
        run_pass()
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "410" in endpoint.disabled_reason
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.GAVE_UP}
    assert len(receiver.received) == 1  # the queued one was given up, never sent
    (message,) = mail.outbox
    assert set(message.to) == {"owner@example.com", "admin@example.com"}
    assert Notification.objects.filter(user=team.users["owner"], level="error").exists()
    emit(team.workspace, subject_id=9)
    run_pass()
    assert len(receiver.received) == 1
    assert Delivery.objects.count() == 2


def test_a_redirect_is_a_failure_and_is_not_followed(team, endpoint, receiver):
    receiver.script = [(302, {"Location": receiver.url + "/elsewhere"})]
    emit(team.workspace)
    run_pass()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts[0]["status"] == 302
    assert "not followed" in delivery.attempts[0]["error"]
    assert [r.path for r in receiver.received] == ["/hooks"]


def test_a_private_address_is_refused_at_send_time_in_production(team, endpoint, receiver, settings, monkeypatch):
    Endpoint.objects.filter(pk=endpoint.pk).update(url="https://hooks.example.com/in")
    settings.ALLOW_PRIVATE_NETWORK_URLS = False
    real = socket.getaddrinfo

    def rebound(host, port, *args, **kwargs):
        if host == "hooks.example.com":  # accepted when entered, now pointing inward
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.8", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    emit(team.workspace)
    run_pass()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts[0]["status"] is None
    assert "private or local" in delivery.attempts[0]["error"]
    assert receiver.received == []


def test_sustained_failure_disables_the_endpoint(team, endpoint, receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_EVENTS = 2
    receiver.script = [(500, {})] * 10
    for n in range(3):
        emit(team.workspace, subject_id=n + 1)
    run_pass()
    Delivery.objects.update(schedule_step=len(sender.SCHEDULE) - 1, next_attempt_at=timezone.now())  # last tries
    deliveries = sender.deliveries_claim(limit=2)
    sender.deliveries_send(deliveries)
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "2 events in a row" in endpoint.disabled_reason
    assert Delivery.objects.filter(status=Delivery.Status.GAVE_UP).count() == 3  # the third was queued


def test_five_days_without_a_success_disables_the_endpoint(team, endpoint, receiver):
    receiver.script = [(500, {})] * 10
    emit(team.workspace)
    run_pass()
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=5, minutes=1))
    Delivery.objects.update(next_attempt_at=timezone.now())
    run_pass()
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "5 days" in endpoint.disabled_reason


def test_a_success_resets_the_failure_count(team, endpoint, receiver):
    receiver.script = [(500, {})]
    emit(team.workspace)
    run_pass()
    assert Endpoint.objects.get().failing_since is not None
    Delivery.objects.update(next_attempt_at=timezone.now())
    run_pass()
    assert Endpoint.objects.get().failing_since is None
