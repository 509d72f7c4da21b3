"""API keys, idempotency records and rate-limit counters: the developer API's own state."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import WorkspaceOwned

TOKEN_PREFIX = "pw_live_"
# What the list shows and what a request is looked up by: the marker plus 8 random characters.
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 8


def hash_key(token: str) -> str:
    # A 256-bit random token needs no slow hash: nobody can guess one, so sha256 is enough.
    return hashlib.sha256(token.encode()).hexdigest()


class ApiKey(WorkspaceOwned):
    class Scope(models.TextChoices):
        READ = "read", "Read only"
        READ_WRITE = "read_write", "Read and write"

    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.READ_WRITE)
    prefix = models.CharField(max_length=SHOWN_PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Empty: every tenant. Otherwise the key sees and writes only posts of these tenant ids.
    tenant_ids = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_token() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"


class IdempotencyRecord(models.Model):
    """One Idempotency-Key of one API key: the request's fingerprint and, once done, its response."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    done = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_once_per_api_key")]

    def __str__(self) -> str:
        return f"{self.key} ({'done' if self.done else 'running'})"


class RateCounter(models.Model):
    """Requests of one API key in one minute, counted in the database when there is no Redis."""

    key = models.CharField(max_length=100)
    minute = models.BigIntegerField()  # Unix time // 60
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "minute"], name="rate_counter_once_per_minute")]
        indexes = [models.Index(fields=["minute"], name="rate_counter_minute")]

    def __str__(self) -> str:
        return f"{self.key}@{self.minute}: {self.count}"
