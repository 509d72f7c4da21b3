"""Timestamp identifiers (TIDs): the record keys of Bluesky posts, made deterministic.

Bluesky has no idempotency key, but ``createRecord`` accepts the record key (``rkey``) and a
repository cannot hold two records under one key. So each part of a post gets a key derived
from the target's idempotency key: a retry re-sends the same key, the PDS refuses a second
record, and we return the one that landed instead of posting twice.

A TID is a 64-bit integer: top bit 0, 53 bits of microseconds since the Unix epoch, 10 bits of
"clock id", written as 13 characters of a sortable base32 alphabet. Its time is only used for
ordering (clients show ``createdAt``), so where the caller's key carries no time we take one
from a hash, inside a fixed window in the past: deterministic, never in the future.
"""

import hashlib
import re
import uuid
from datetime import UTC, datetime

ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_MAX_TIMESTAMP_US = (1 << 53) - 1

# Hash-derived times fall in 2023-2024: after atproto's launch, before any key we derive now.
_WINDOW_START_US = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
_WINDOW_US = 2 * 365 * 24 * 3600 * 1_000_000
# Sub-millisecond room for the parts of one post (main, replies, first comment) after its base.
_PART_ROOM_US = 100
# 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch, for UUIDv1 keys.
_UUID1_EPOCH_OFFSET = 0x01B21DD213814000


def encode(timestamp_us: int, clock_id: int) -> str:
    if not 0 <= timestamp_us <= _MAX_TIMESTAMP_US or not 0 <= clock_id < 1024:
        raise ValueError("TID timestamp or clock id out of range")
    value = (timestamp_us << 10) | clock_id
    return "".join(ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def decode(tid: str) -> tuple[int, int]:
    """(timestamp in microseconds, clock id) of a valid TID; ValueError otherwise."""
    if not TID_RE.match(tid):
        raise ValueError(f"not a TID: {tid!r}")
    value = 0
    for char in tid:
        value = (value << 5) | ALPHABET.index(char)
    return value >> 10, value & 1023


def is_valid(tid: str) -> bool:
    return bool(TID_RE.match(tid))


def rkey_for(idempotency_key: str, part: int = 0) -> str:
    """The record key of one part of a post: 0 is the main post, then replies, then the comment.

    Parts of one post share a base time and clock id and step by a microsecond, so they sort in
    the order they are posted. A key created as a UUIDv7 or v1 lends its own creation time (so
    the record key reads like the moment the post was made); any other key hashes into the window.
    """
    if not idempotency_key:
        raise ValueError("an idempotency key is needed to derive a record key")
    if not 0 <= part < _PART_ROOM_US:
        raise ValueError("too many parts in one post")
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    spread = int.from_bytes(digest[:8], "big")
    clock_id = int.from_bytes(digest[8:10], "big") & 1023
    embedded_ms = _embedded_time_ms(idempotency_key)
    if embedded_ms is not None:
        # Two keys made in the same millisecond still differ: a hashed microsecond offset + clock id.
        base = embedded_ms * 1000 + spread % (1000 - _PART_ROOM_US)
    else:
        base = _WINDOW_START_US + (spread % (_WINDOW_US // _PART_ROOM_US)) * _PART_ROOM_US
    return encode(base + part, clock_id)


def _embedded_time_ms(key: str) -> int | None:
    try:
        parsed = uuid.UUID(key)
    except ValueError:
        return None
    if parsed.version == 7:
        ms = parsed.int >> 80
    elif parsed.version == 1:
        ms = (parsed.time - _UUID1_EPOCH_OFFSET) // 10_000
    else:
        return None
    # A key from a badly set clock must not give an absurd record key. No upper bound against
    # "now": the answer would change with time, and the key must map to one record key forever.
    return ms if ms >= _WINDOW_START_US // 1000 else None
