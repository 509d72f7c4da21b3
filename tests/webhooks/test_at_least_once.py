"""An event committed is delivered even if a sender dies right after; two senders never both send."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from events.models import Event
from tests.webhooks.conftest import emit, run_pass
from webhooks import sender
from webhooks.models import Delivery, OutboxCursor


class Crash(Exception):
    pass


def test_a_sender_dying_inside_fan_out_leaves_nothing_half_done(team, endpoint, receiver, monkeypatch):
    emit(team.workspace)
    before = OutboxCursor.objects.get(name=sender.CURSOR).seq

    def die(*args):
        raise Crash

    monkeypatch.setattr(sender, "_settled", die)  # after the rows were inserted, before commit
    with pytest.raises(Crash):
        sender.outbox_fan_out()
    assert Delivery.objects.count() == 0
    assert OutboxCursor.objects.get(name=sender.CURSOR).seq == before
    monkeypatch.undo()
    run_pass()  # the next sender
    assert len(receiver.received) == 1


def test_a_sender_dying_after_fan_out_before_sending_still_delivers_once(team, endpoint, receiver):
    event = emit(team.workspace)
    sender.outbox_fan_out()  # committed, then the process is gone
    run_pass()
    run_pass()
    assert receiver.ids() == [event.public_id]


def test_a_sender_dying_after_its_claim_is_taken_over_after_the_lease(team, endpoint, receiver):
    event = emit(team.workspace)
    sender.outbox_fan_out()
    claimed = sender.deliveries_claim()  # ... and then killed before sending
    assert len(claimed) == 1
    assert run_pass().sent == 0  # the lease holds the row
    later = timezone.now() + sender.lease() + timedelta(seconds=1)
    sender.deliveries_send(sender.deliveries_claim(now=later))
    sender.deliveries_send(sender.deliveries_claim(now=later))
    assert receiver.ids() == [event.public_id]
    assert Delivery.objects.get().status == Delivery.Status.SUCCEEDED


def test_a_late_answer_from_a_sender_whose_lease_ran_out_is_dropped(team, endpoint, receiver):
    emit(team.workspace)
    sender.outbox_fan_out()
    (slow,) = sender.deliveries_claim()
    later = timezone.now() + sender.lease() + timedelta(seconds=1)
    sender.deliveries_send(sender.deliveries_claim(now=later))  # the second sender delivers
    attempt = sender.delivery_attempt(slow)  # the first one finally sends (same id: a retry)
    assert sender.delivery_record(slow, attempt) is None  # and cannot overwrite the outcome
    delivery = Delivery.objects.get()
    assert delivery.attempt_count == 1
    assert len(set(receiver.ids())) == 1


def test_two_senders_interleaved_make_one_row_and_one_send_per_event(team, endpoint, receiver):
    events = [emit(team.workspace, subject_id=n) for n in range(1, 6)]
    assert sender.outbox_fan_out() == 5
    OutboxCursor.objects.filter(name=sender.CURSOR).update(seq=0)  # a second sender that read the old cursor
    sender.outbox_fan_out()
    assert Delivery.objects.count() == 5
    first = sender.deliveries_claim(limit=3)
    second = sender.deliveries_claim(limit=10)
    assert {d.pk for d in first}.isdisjoint(d.pk for d in second)
    sender.deliveries_send(second)
    sender.deliveries_send(first)
    assert sorted(receiver.ids()) == sorted(e.public_id for e in events)


def test_a_gap_in_the_outbox_holds_the_cursor_until_it_is_old(team, endpoint, receiver):
    """PostgreSQL hands out seqs before commit: a missing seq may be an event still committing."""
    first = emit(team.workspace, subject_id=1)
    third = emit(team.workspace, subject_id=3)
    # PostgreSQL's sequence outlives earlier tests
    OutboxCursor.objects.filter(name=sender.CURSOR).update(seq=first.seq - 1)

    Event.objects.filter(pk=third.pk).update(seq=third.seq + 5)  # a hole below it
    sender.outbox_fan_out()
    assert OutboxCursor.objects.get(name=sender.CURSOR).seq == first.seq  # held below the hole
    assert Delivery.objects.count() == 2  # but what is there is already queued
    sender.outbox_fan_out(now=timezone.now() + sender.GAP_GRACE + timedelta(seconds=1))
    assert OutboxCursor.objects.get(name=sender.CURSOR).seq == third.seq + 5
    assert Delivery.objects.count() == 2


@pytest.mark.skipif(connection.vendor == "sqlite", reason="row locks need PostgreSQL (what CI and production run)")
@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_deliver_each_event_once(team, endpoint, receiver):
    receiver.delay = 0.02
    events = [emit(team.workspace, subject_id=n) for n in range(1, 41)]
    errors: list[Exception] = []

    def run() -> None:
        try:
            for _ in range(10):
                sender.sender_pass(batch=5)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(receiver.ids()) == sorted(e.public_id for e in events)
