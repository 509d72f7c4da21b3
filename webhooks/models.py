"""Outgoing webhooks: a workspace's endpoints, one delivery row per (endpoint, event), and the
outbox cursor the sender advances.

A delivery keeps the exact body it sends, so every retry and replay sends the same bytes under
the same ``webhook-id`` (the event's public id): receivers deduplicate on it.
"""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import WorkspaceOwned
from connections.vault import EncryptedTextField
from events.models import Event

ATTEMPTS_KEPT = 20  # per delivery; a replayed delivery keeps its latest attempts
EXCERPT_CHARS = 500  # of a receiver's response body, per attempt


class Endpoint(WorkspaceOwned):
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # Public event types (webhooks.catalogue); empty means every public type.
    event_types = models.JSONField(default=list, blank=True)
    secret = EncryptedTextField()  # whsec_...
    # During a rotation the previous secret signs too, until it expires (receivers switch at leisure).
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    # Subscribed by an integration platform (Zapier or Make REST hooks) through /api/v1/hooks: one
    # event type, and it unsubscribes by deleting it. Otherwise an endpoint like any other.
    rest_hook = models.BooleanField(default=False)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Consecutive events whose every retry failed, and when the current run of failures began.
    failure_streak = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, public_type: str) -> bool:
        return not self.event_types or public_type in self.event_types

    def signing_secrets(self, now: datetime | None = None) -> list[str]:
        now = now or timezone.now()
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class Delivery(WorkspaceOwned):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for its first attempt
        FAILED = "failed", "Failed, will retry"  # the last attempt failed; next_attempt_at says when
        SUCCEEDED = "succeeded", "Delivered"
        GAVE_UP = "gave_up", "Gave up"  # retries exhausted, or the endpoint was disabled

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    # Null for a test delivery, which announces no event of the outbox.
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=40)  # webhook-id: the event's public id, shared by retries
    event_type = models.CharField(max_length=64)  # public type
    body = models.TextField()  # the exact JSON sent, so every attempt signs the same bytes
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # [{"at": iso, "status": int | None, "ms": int, "excerpt": str, "error": str}, ...], newest last.
    attempts = models.JSONField(default=list, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    schedule_step = models.PositiveSmallIntegerField(default=0)  # position in the retry schedule
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set by the sender that claimed the row; only that sender may record the attempt's outcome.
    claim_token = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Fan-out may see an event twice (two senders, a re-read after a gap): one row anyway.
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_endpoint_event"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id} -> {self.endpoint_id} ({self.status})"

    @property
    def last_attempt(self) -> dict[str, Any] | None:
        return self.attempts[-1] if self.attempts else None


class OutboxCursor(models.Model):
    """How far the sender has fanned the event outbox out into deliveries: every event with
    ``seq`` at or below ``seq`` has its delivery rows. Advanced in the transaction that creates them."""

    name = models.CharField(max_length=32, unique=True)
    seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.seq}"
