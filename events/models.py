"""The event outbox: one row per thing that happened, written in the transaction that made it happen.

Webhook deliveries (the REST API issue) and the post page's history read from here. ``seq`` is
the delivery cursor (monotonic per database); ``public_id`` is the stable id clients see.
"""

import base64
import secrets
import time

from django.conf import settings
from django.db import models

from accounts.models import WorkspaceOwned


def new_event_id() -> str:
    """evt_ + a time-ordered 26-character id (48 bits of milliseconds, 80 random bits, base32)."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    # 130 bits (two leading zeros, then the 128), five at a time from the top, by the stdlib's
    # base32 (what a loop of divmods did, at a fraction of its cost), in our own alphabet.
    return "evt_" + base64.b32encode((value << 6).to_bytes(17, "big"))[:26].decode().translate(_ALPHABET)


# RFC 4648's base32 digits to ours (Crockford's, lower case): the same values, other symbols.
_ALPHABET = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghjkmnpqrstvwxyz")


class Event(WorkspaceOwned):
    seq = models.BigAutoField(primary_key=True)
    public_id = models.CharField(max_length=40, unique=True, default=new_event_id, editable=False)
    type = models.CharField(max_length=64, db_index=True)  # "post.published", "target.failed", ...
    subject_type = models.CharField(max_length=32)  # "post", "target", "part", "account", "media"
    subject_id = models.BigIntegerField()
    # The post an event belongs to (its history page reads by it); no FK, so the outbox never
    # blocks deleting what it describes.
    post_id = models.BigIntegerField(null=True, blank=True)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=200, blank=True)  # "Ana", "API key ci-bot", "" (system)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["post_id", "seq"], name="event_post_history"),
            models.Index(fields=["workspace", "seq"], name="event_workspace_cursor"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.subject_type}:{self.subject_id}"
