"""Standard Webhooks secrets and signatures (standardwebhooks.com), through the reference package."""

import base64
import secrets
from datetime import datetime

from standardwebhooks import Webhook

SECRET_BYTES = 32


def secret_new() -> str:
    """whsec_ + base64 of random bytes: the HMAC key is the decoded bytes, as the spec says."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature_header(*, secrets_: list[str], message_id: str, at: datetime, body: str) -> str:
    """``v1,<sig>`` per secret, space-separated: during a rotation old and new both verify."""
    return " ".join(Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body) for secret in secrets_)


def secret_hint(secret: str) -> str:
    """Enough to tell two secrets apart on a page, never enough to use one."""
    return f"whsec_…{secret[-4:]}" if secret else ""
