"""Idempotency-Key on creating POSTs (the IETF httpapi draft, as Stripe runs it).

The first request with a key claims it (a committed row, so a concurrent twin sees it at once);
its successful response is stored and replayed for the same key and body. An error releases the
key, so a client can fix its request and send it again with the same key.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.utils import timezone

from api.keys import Principal
from api.models import IdempotencyRecord
from api.problems import IDEMPOTENCY_IN_PROGRESS, IDEMPOTENCY_MISMATCH, ApiError
from api.ratelimit import rate_counters_prune

HEADER = "Idempotency-Key"
MAX_KEY = 255
# A claim this old whose request never finished (its process died) may be taken over.
ABANDONED_AFTER = timedelta(minutes=5)


def _key(request: HttpRequest) -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':  # the draft sends it as a quoted structured-field string
        key = key[1:-1]
    if not 1 <= len(key) <= MAX_KEY or not key.isprintable():
        raise ApiError(400, f"{HEADER} must be 1 to {MAX_KEY} printable characters.")
    return key


def _multipart(request: HttpRequest) -> bytes:
    """A multipart body, already parsed (Django then no longer has the raw bytes): its fields and
    each file's name, size and checksum."""
    parts = [f"{name}={value}" for name, value in sorted(request.POST.items())]
    for name, upload in sorted(request.FILES.items()):
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        parts.append(f"{name}:{upload.name}:{upload.size}:{digest.hexdigest()}")
    return "\n".join(parts).encode()


def _fingerprint(request: HttpRequest) -> str:
    """Method, path and body; JSON compared by meaning, so key order and spacing do not matter."""
    try:
        raw = request.body
    except RawPostDataException:
        raw = _multipart(request)
    try:
        body = json.dumps(json.loads(raw or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        body = raw
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + body).hexdigest()


def _retention() -> timedelta:
    return timedelta(hours=settings.API_IDEMPOTENCY_RETENTION_HOURS)


def _claim(principal: Principal, key: str, fingerprint: str) -> IdempotencyRecord | HttpResponse:
    """Our new record, or the stored response to replay; ApiError for a conflicting reuse."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(api_key=principal.key, key=key, fingerprint=fingerprint)
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(api_key=principal.key, key=key)
    now = timezone.now()
    stale = record.created_at < now - _retention() or (not record.done and record.created_at < now - ABANDONED_AFTER)
    if stale:
        taken = IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).update(
            fingerprint=fingerprint, done=False, status_code=None, body="", created_at=now
        )
        if taken:
            record.refresh_from_db()
            return record
        record.refresh_from_db()
    if record.fingerprint != fingerprint:
        raise ApiError(422, f"This {HEADER} was used with a different request.", code=IDEMPOTENCY_MISMATCH)
    if not record.done:
        raise ApiError(409, f"A request with this {HEADER} is still running; retry shortly.",
                       code=IDEMPOTENCY_IN_PROGRESS, headers={"Retry-After": "1"})  # fmt: skip
    return _replay(record)


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(record.body, status=record.status_code, content_type=record.content_type)
    response["Idempotent-Replayed"] = "true"
    if record.location:
        response["Location"] = record.location
    return response


def idempotent(request: HttpRequest, principal: Principal, run: Callable[[], HttpResponse]) -> HttpResponse:
    """Run a creating operation at most once per Idempotency-Key (no header: just run it)."""
    key = _key(request)
    if key is None:
        return run()
    claimed = _claim(principal, key, _fingerprint(request))
    if isinstance(claimed, HttpResponse):
        return claimed
    try:
        response = run()
    except BaseException:
        claimed.delete()
        raise
    if 200 <= response.status_code < 300:
        IdempotencyRecord.objects.filter(pk=claimed.pk).update(
            done=True, status_code=response.status_code, body=response.content.decode(),
            content_type=response.get("Content-Type", "application/json"), location=response.get("Location", "")[:500],
        )  # fmt: skip
    else:
        claimed.delete()
    return response


def api_records_prune() -> dict[str, int]:
    """What the API keeps only for a while: idempotency records past their retention and rate
    counters of past windows. Safe to call from any periodic job, as often as liked."""
    cutoff = timezone.now() - _retention()
    keys = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
    return {"idempotency_records": keys, "rate_counters": rate_counters_prune()}
