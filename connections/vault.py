"""Encryption at rest for tokens, app passwords and client secrets.

Keys come from POSTWRIGHT_ENCRYPTION_KEYS (comma-separated Fernet keys, newest first). The newest
encrypts; every listed key decrypts, so a new key can be added in front and the
``rotate_encryption_keys`` command re-encrypts everything before the old one is dropped.
In development and tests a key is generated into a git-ignored file so a first run needs nothing.
"""

import json
import logging
from functools import cache
from typing import Any, TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from config.env import env_list

log = logging.getLogger(__name__)


class VaultError(Exception):
    """A stored secret could not be decrypted: the key that encrypted it is no longer configured."""

    def __init__(self) -> None:
        super().__init__(
            "a stored secret cannot be decrypted with any key in POSTWRIGHT_ENCRYPTION_KEYS: put back the key "
            "that encrypted it (newest key first), run rotate_encryption_keys, then drop the old key"
        )


def _development_key() -> str:
    key_file = settings.LOCAL_DIR / "encryption_keys"
    if not key_file.exists():
        settings.LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(Fernet.generate_key().decode())
        key_file.chmod(0o600)
        log.warning("Generated a development encryption key in %s", key_file)
    return key_file.read_text().strip()


@cache
def _fernet() -> MultiFernet:
    keys = env_list("POSTWRIGHT_ENCRYPTION_KEYS", [])
    if not keys:
        if not (settings.DEBUG or settings.TESTING):
            raise ImproperlyConfigured("POSTWRIGHT_ENCRYPTION_KEYS must be set when DEBUG is off (see README).")
        keys = [_development_key()]
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "POSTWRIGHT_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes)."
        ) from None


def reset_keys_cache() -> None:
    _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise VaultError from None


def reencrypt(ciphertext: str) -> str:
    """The same secret under the newest key (a no-op in effect when it already is)."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise VaultError from None


_Value = TypeVar("_Value")


class _EncryptedField(models.TextField[_Value, _Value]):
    """One Fernet token in a text column. Never shown in forms, the admin or serializers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def value_to_string(self, obj: models.Model) -> str:
        return "(encrypted)"  # dumpdata and serializers never see plaintext


class EncryptedJSONField(_EncryptedField[dict[str, Any]]):
    """A dict of secrets, stored as one Fernet token."""

    description = "Encrypted JSON"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: object, connection: object) -> dict[str, Any]:
        if not value:
            return {}
        return _json_dict(decrypt(value))

    def to_python(self, value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        if not value:
            return {}
        return _json_dict(decrypt(value))

    def get_prep_value(self, value: dict[str, Any] | None) -> str:
        if not value:
            return ""  # nothing to hide (read back as {}); a landed part clears its state on every post
        return encrypt(json.dumps(value, sort_keys=True))


def _json_dict(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text)  # only get_prep_value wrote it: always a dict
    return loaded


class EncryptedTextField(_EncryptedField[str]):
    """A single secret string (e.g. an OAuth client secret)."""

    description = "Encrypted text"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str:
        return decrypt(value) if value else ""

    def to_python(self, value: Any) -> str:
        return value if isinstance(value, str) else ""

    def get_prep_value(self, value: str | None) -> str:
        return encrypt(value) if value else ""
