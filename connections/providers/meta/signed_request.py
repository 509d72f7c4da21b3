"""Meta's ``signed_request``: how the deauthorize and data-deletion callbacks prove they come
from Meta.

The value is ``<signature>.<payload>``, both base64url without padding; the payload is JSON
(``algorithm``: "HMAC-SHA256", ``issued_at``, ``user_id``: the app-scoped id of the user) and
the signature is HMAC-SHA256 of the payload *as sent* (the base64url text, not the decoded
JSON), keyed with the app secret.
https://developers.facebook.com/docs/development/create-an-app/app-dashboard/data-deletion-callback/
(the deauthorize callback carries the same signed_request; the Threads use case has both
callbacks too: https://developers.facebook.com/docs/development/create-an-app/threads-use-case).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ALGORITHM = "HMAC-SHA256"
MAX_LENGTH = 8192  # Meta's are a few hundred characters; anything far longer is not Meta's


class BadSignedRequest(ValueError):
    """Missing, malformed, or signed with no secret we hold: refused with 400, nothing changed."""


@dataclass(frozen=True)
class SignedRequest:
    user_id: str
    issued_at: int | None
    secret: str  # the secret that verified it: names the app it came from


def b64url_decode(value: str) -> bytes:
    padded = value + "=" * (-len(value) % 4)
    try:
        # validate: the default decoder skips foreign characters, which would let junk through
        return base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise BadSignedRequest("signed_request is not base64url") from None


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def sign(payload: dict[str, Any], secret: str) -> str:
    """A signed_request as Meta makes one (for tests and the operator's own checks)."""
    body = b64url_encode(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{b64url_encode(signature)}.{body}"


def verify(value: str | None, secrets: Iterable[str]) -> SignedRequest:
    """The request's facts, if one of ``secrets`` signed it; else BadSignedRequest.

    Every candidate secret is compared in constant time (an app may be the instance's or one a
    workspace brought), and the payload is read only after a signature matched."""
    if not value or len(value) > MAX_LENGTH or value.count(".") != 1:
        raise BadSignedRequest("signed_request is missing or malformed")
    encoded_signature, body = value.split(".")
    signature = b64url_decode(encoded_signature)
    matched = ""
    for secret in secrets:
        if not secret:
            continue
        expected = hmac.new(secret.encode(), body.encode("ascii", "replace"), hashlib.sha256).digest()
        if hmac.compare_digest(expected, signature) and not matched:
            matched = secret
    if not matched:
        raise BadSignedRequest("signed_request's signature does not match the app secret")
    return _facts(b64url_decode(body), matched)


def _facts(raw: bytes, secret: str) -> SignedRequest:
    try:
        payload = json.loads(raw)
    except ValueError:
        raise BadSignedRequest("signed_request's payload is not JSON") from None
    if not isinstance(payload, dict) or str(payload.get("algorithm", "")).upper() != ALGORITHM:
        raise BadSignedRequest("signed_request is not signed with HMAC-SHA256")
    user_id = payload.get("user_id")
    if isinstance(user_id, bool) or not isinstance(user_id, str | int) or not str(user_id).strip():
        raise BadSignedRequest("signed_request names no user")
    issued_at = payload.get("issued_at")
    return SignedRequest(
        user_id=str(user_id).strip(),
        issued_at=issued_at if isinstance(issued_at, int) and not isinstance(issued_at, bool) else None,
        secret=secret,
    )
