"""The webhook sender: outbox -> delivery rows -> signed HTTP attempts -> retries.

1. Fan-out reads the event outbox after the stored cursor and creates one Delivery per
   (subscribed endpoint, public event) in the same transaction that advances the cursor, so an
   event committed is delivered even if a sender dies the instant after: at least once.
2. Claims take due deliveries with SKIP LOCKED (PostgreSQL) and a compare-and-set on
   ``next_attempt_at`` (everywhere), pushing it one lease ahead: a sender killed mid-send leaves
   the row to come due again, and two senders never hold the same row.
3. Attempts go through the HTTP chokepoint (every address vetted and pinned in production,
   redirects never followed) in worker threads; outcomes are recorded by the claiming sender only.
"""

import json
import logging
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Min
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from accounts.roles import Role
from accounts.services import notify
from connections import http
from events.models import Event
from webhooks.catalogue import INTERNAL, iso, public_message
from webhooks.models import ATTEMPTS_KEPT, EXCERPT_CHARS, Delivery, Endpoint, OutboxCursor
from webhooks.signing import signature_header

log = logging.getLogger(__name__)

# Seconds before each attempt, per Standard Webhooks / Svix: immediately, then about 1.5 days.
SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.1  # +/- 10 %, so endpoints that failed together do not retry together
MAX_RETRY_AFTER = 86_400  # a Retry-After further out than a day is not honoured past a day
# An event whose seq is missing may still be committing (PostgreSQL hands out seqs before
# commit); past this age the gap is a rolled-back transaction and the cursor moves over it.
GAP_GRACE = timedelta(seconds=60)
CURSOR = "global"
DUE = (Delivery.Status.PENDING, Delivery.Status.FAILED)


def timeout_seconds() -> float:
    return float(min(settings.WEBHOOK_TIMEOUT_SECONDS, 15))


def lease() -> timedelta:
    return timedelta(seconds=timeout_seconds() + 30)


# --- Fan-out ----------------------------------------------------------------------------------


def _cursor() -> OutboxCursor:
    # Normally made by the migration; made here too (a flushed database, a restored dump), just
    # below the oldest event the outbox still holds, so long-gone seqs are not taken for gaps.
    oldest = Event.objects.aggregate(oldest=Min("seq"))["oldest"]
    try:
        return OutboxCursor.objects.get_or_create(name=CURSOR, defaults={"seq": (oldest or 1) - 1})[0]
    except IntegrityError:  # another sender created it a moment ago
        return OutboxCursor.objects.get(name=CURSOR)


def _settled(start: int, events: list[Event], now: datetime) -> int:
    """The highest seq below which nothing can still appear."""
    seq = start
    for event in events:
        if event.seq != seq + 1 and now - event.created_at < GAP_GRACE:
            break
        seq = event.seq
    return seq


def _deliveries_for(events: list[Event]) -> list[Delivery]:
    wanted = [event for event in events if event.type in INTERNAL]
    endpoints: dict[int, list[Endpoint]] = defaultdict(list)
    for endpoint in Endpoint.objects.filter(enabled=True, workspace_id__in={e.workspace_id for e in wanted}):
        endpoints[endpoint.workspace_id].append(endpoint)
    rows = []
    for event in wanted:
        if not endpoints.get(event.workspace_id):
            continue
        public_type, payload = public_message(event)  # type: ignore[misc]
        body = message_body(payload)
        for endpoint in endpoints[event.workspace_id]:
            # An endpoint hears what happens after it was created, not the workspace's history.
            if endpoint.created_at <= event.created_at and endpoint.wants(public_type):
                rows.append(_delivery(endpoint, event, public_type, body))
    return rows


def _delivery(endpoint: Endpoint, event: Event, public_type: str, body: str) -> Delivery:
    return Delivery(
        workspace_id=endpoint.workspace_id, endpoint=endpoint, event=event, message_id=event.public_id,
        event_type=public_type, body=body, next_attempt_at=event.created_at, created_at=event.created_at,
    )  # fmt: skip


def message_body(payload: dict) -> str:
    """The exact bytes sent (and signed): compact JSON, stored on the delivery for every retry."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def outbox_fan_out(*, limit: int = 1000, now: datetime | None = None) -> int:
    """Turn outbox events after the cursor into delivery rows; returns how many rows were made.

    Safe to run from several senders: the cursor row is locked (PostgreSQL), and a delivery is
    unique per (endpoint, event), so an event read twice still makes one row."""
    now = now or timezone.now()
    pk = _cursor().pk
    with transaction.atomic():
        cursor = OutboxCursor.objects.select_for_update().get(pk=pk)
        events = list(Event.objects.filter(seq__gt=cursor.seq).order_by("seq")[:limit])
        if not events:
            return 0
        rows = _deliveries_for(events)
        Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        settled = _settled(cursor.seq, events, now)
        if settled != cursor.seq:
            OutboxCursor.objects.filter(pk=pk).update(seq=settled, updated_at=now)
    return len(rows)


# --- Claims -----------------------------------------------------------------------------------


def deliveries_claim(
    *, limit: int = 50, now: datetime | None = None, ids: Iterable[int] | None = None
) -> list[Delivery]:
    """Take up to ``limit`` due deliveries for this sender, each with a lease; returns them."""
    now = now or timezone.now()
    due = Delivery.objects.filter(status__in=DUE, next_attempt_at__lte=now, endpoint__enabled=True)
    if ids is not None:
        due = due.filter(id__in=list(ids))
    token = uuid.uuid4().hex
    until = now + lease()
    with transaction.atomic():
        # SKIP LOCKED (PostgreSQL) keeps senders off each other's rows; the update's own WHERE
        # re-checks that each row is still due, so a row another sender claimed meanwhile (its
        # next_attempt_at pushed a lease ahead) is left alone on every database.
        candidates = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        due.filter(id__in=candidates).update(next_attempt_at=until, claim_token=token)
    claimed = list(Delivery.objects.filter(claim_token=token).select_related("endpoint"))
    shared: dict[int, Endpoint] = {}
    for delivery in claimed:  # one Endpoint object per endpoint, so the batch shares its state
        delivery.endpoint = shared.setdefault(delivery.endpoint_id, delivery.endpoint)
    return claimed


# --- Attempts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status: int | None
    ms: int
    excerpt: str = ""
    error: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def log_entry(self) -> dict:
        return {"at": iso(self.at), "status": self.status, "ms": self.ms, "excerpt": self.excerpt, "error": self.error}


_sessions = threading.local()


def _session() -> http.Session:
    # One per thread (requests.Session is not thread-safe), kept for connection reuse.
    if not hasattr(_sessions, "session"):
        _sessions.session = http.platform_session()
    return _sessions.session


def headers_for(delivery: Delivery, at: datetime) -> dict[str, str]:
    secrets = delivery.endpoint.signing_secrets(at)
    signature = signature_header(secrets_=secrets, message_id=delivery.message_id, at=at, body=delivery.body)
    return {
        "content-type": "application/json",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


MAX_DRAINED = 64 * 1024  # read a small answer to the end so its connection is reused


def _excerpt(response: http.Response) -> str:
    kept, seen = b"", 0
    try:
        for chunk in response.iter_content(8192):
            seen += len(chunk)
            kept += chunk[: max(0, EXCERPT_CHARS * 4 - len(kept))]
            if seen > MAX_DRAINED:
                break  # a huge answer: drop the connection rather than read it all
    except http.RequestException:
        pass
    finally:
        response.close()
    return kept.decode("utf-8", errors="replace")[:EXCERPT_CHARS]


def delivery_attempt(delivery: Delivery) -> Attempt:
    """POST the delivery once. Network only (no database), so it may run in any thread."""
    at = timezone.now()
    started = time.monotonic()
    try:
        response = _session().post(
            delivery.endpoint.url, data=delivery.body.encode(), headers=headers_for(delivery, at),
            timeout=(5.0, timeout_seconds()), allow_redirects=False, stream=True,
        )  # fmt: skip
    except http.RefusedAddress as exc:
        return Attempt(at, None, _ms(started), error=f"refused: {exc}")
    except http.RequestException as exc:
        # The exception's text can carry the URL; its kind is enough for the log.
        kind = "timed out" if "Timeout" in type(exc).__name__ else "connection failed"
        return Attempt(at, None, _ms(started), error=f"{kind} ({type(exc).__name__})")
    excerpt = _excerpt(response)
    error = ""
    if 300 <= response.status_code < 400:
        error = f"redirects are not followed (Location: {response.headers.get('Location', '')[:200]})"
    retry_after = http.retry_after_seconds(response) if response.status_code >= 400 else None
    return Attempt(at, response.status_code, _ms(started), excerpt, error, retry_after)


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _next_delay(step: int, retry_after: float | None) -> float:
    delay = SCHEDULE[step] * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - jitter, not a secret
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


RECORDED_FIELDS = ["attempts", "attempt_count", "last_attempt_at", "claim_token", "status", "next_attempt_at",
                   "schedule_step"]  # fmt: skip


def _outcome(delivery: Delivery, attempt: Attempt) -> None:
    """Apply an attempt to the delivery in memory: its log, and what comes next."""
    delivery.attempts = [*delivery.attempts, attempt.log_entry()][-ATTEMPTS_KEPT:]
    delivery.attempt_count += 1
    delivery.last_attempt_at = attempt.at
    delivery.claim_token = ""
    delivery.schedule_step += 1
    if attempt.ok:
        delivery.status, delivery.next_attempt_at = Delivery.Status.SUCCEEDED, None
    elif attempt.status == 410 or delivery.schedule_step >= len(SCHEDULE):
        delivery.status, delivery.next_attempt_at = Delivery.Status.GAVE_UP, None
    else:
        delay = _next_delay(delivery.schedule_step, attempt.retry_after)
        delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, attempt.at + timedelta(seconds=delay)


def deliveries_record(outcomes: list[tuple[Delivery, Attempt]]) -> list[str | None]:
    """Store attempts' outcomes in one transaction; for each, the new status, or None when this
    sender's claim was lost (its lease ran out and another sender took the row)."""
    if not outcomes:
        return []
    with transaction.atomic():
        # Lock the rows we still hold (PostgreSQL), so no other sender can take one mid-write.
        held = set(
            Delivery.objects.select_for_update()
            .filter(pk__in=[d.pk for d, _ in outcomes], claim_token__in={d.claim_token for d, _ in outcomes})
            .values_list("pk", "claim_token")
        )
        mine = [(d, a) for d, a in outcomes if (d.pk, d.claim_token) in held]
        for delivery, attempt in mine:
            _outcome(delivery, attempt)
        _write(d for d, _ in mine)
        for delivery, attempt in mine:
            _endpoint_bookkeeping(delivery, attempt, gave_up=delivery.status == Delivery.Status.GAVE_UP)
    kept = {d.pk for d, _ in mine}
    return [d.status if d.pk in kept else None for d, _ in outcomes]


def _write(deliveries: Iterable[Delivery]) -> None:
    """One prepared UPDATE run for every row (executemany): bulk_update's CASE expressions cost
    more to build than the sends they record."""
    fields = [Delivery._meta.get_field(name) for name in RECORDED_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(Delivery._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608
    rows = [
        [field.get_db_prep_save(getattr(d, field.attname), connection) for field in fields] + [d.pk] for d in deliveries
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def delivery_record(delivery: Delivery, attempt: Attempt) -> str | None:
    return deliveries_record([(delivery, attempt)])[0]


def _endpoint_bookkeeping(delivery: Delivery, attempt: Attempt, *, gave_up: bool) -> None:
    endpoints = Endpoint.objects.filter(pk=delivery.endpoint_id)
    if attempt.ok:
        if delivery.endpoint.failure_streak or delivery.endpoint.failing_since:
            endpoints.update(failure_streak=0, failing_since=None)
            delivery.endpoint.failure_streak, delivery.endpoint.failing_since = 0, None  # shared by the batch
        return
    if attempt.status == 410:
        endpoint_disable(endpoint=delivery.endpoint, reason="The endpoint answered 410 Gone.")
        return
    if delivery.event_id is None:
        return  # a failed test says nothing about the live stream
    endpoints.filter(failing_since=None).update(failing_since=attempt.at)
    if gave_up:
        endpoints.update(failure_streak=F("failure_streak") + 1)
    endpoint = endpoints.get()
    days = settings.WEBHOOK_DISABLE_AFTER_DAYS
    if endpoint.failure_streak >= settings.WEBHOOK_DISABLE_AFTER_EVENTS:
        endpoint_disable(endpoint=endpoint, reason=f"Every retry of {endpoint.failure_streak} events in a row failed.")
    elif endpoint.failing_since and attempt.at - endpoint.failing_since >= timedelta(days=days):
        endpoint_disable(endpoint=endpoint, reason=f"No delivery succeeded for {days} days.")


def endpoint_disable(*, endpoint: Endpoint, reason: str) -> bool:
    """Stop sending to an endpoint, give up its queued deliveries, and tell its owners and admins."""
    now = timezone.now()
    with transaction.atomic():
        if not Endpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
            enabled=False, disabled_reason=reason[:300], disabled_at=now
        ):
            return False
        Delivery.objects.filter(endpoint=endpoint, status__in=DUE).update(
            status=Delivery.Status.GAVE_UP, next_attempt_at=None, claim_token=""
        )
        _tell_admins(endpoint, reason)
    log.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    return True


def _tell_admins(endpoint: Endpoint, reason: str) -> None:
    title = f"Webhook endpoint {endpoint.url[:80]} was disabled"
    body = f"{reason}\n\nNo events are sent to it until it is enabled again; failed deliveries can be replayed."
    url = reverse("webhook_detail", args=[endpoint.pk])
    admins = Membership.objects.filter(workspace_id=endpoint.workspace_id, role__in=[Role.OWNER, Role.ADMIN])
    admins = list(admins.select_related("user", "workspace"))
    for membership in admins:
        notify(user=membership.user, workspace=membership.workspace, title=title, body=body, url=url, level="error")
    recipients = [m.user.email for m in admins]
    if recipients:
        message = f"{body}\n\nSee it here: {settings.SITE_URL}{url}"
        transaction.on_commit(lambda: send_mail(f"[Postwright] {title}", message, None, recipients, fail_silently=True))


# --- One pass ---------------------------------------------------------------------------------


@dataclass
class PassResult:
    fanned_out: int = 0
    sent: int = 0
    succeeded: int = 0
    failed: int = 0


def deliveries_send(deliveries: list[Delivery], *, pool: ThreadPoolExecutor | None = None) -> PassResult:
    """Attempt claimed deliveries (in the pool's threads when given) and record each outcome."""
    result = PassResult()
    attempts = list(pool.map(delivery_attempt, deliveries) if pool else map(delivery_attempt, deliveries))
    # All outcomes in one transaction: one commit per batch, not per delivery (SQLite's fsync).
    for status in deliveries_record(list(zip(deliveries, attempts, strict=True))):
        result.sent += 1
        if status == Delivery.Status.SUCCEEDED:
            result.succeeded += 1
        else:
            result.failed += 1
    return result


def sender_pass(*, batch: int = 100, pool: ThreadPoolExecutor | None = None) -> PassResult:
    fanned = outbox_fan_out()
    result = deliveries_send(deliveries_claim(limit=batch), pool=pool)
    result.fanned_out = fanned
    return result


def next_due_in(*, horizon: float) -> float:
    """Seconds until the next delivery falls due, at most ``horizon``."""
    at = (
        Delivery.objects.filter(status__in=DUE, endpoint__enabled=True)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if at is None:
        return horizon
    return max(0.0, min(horizon, (at - timezone.now()).total_seconds()))
