"""Two-factor secrets at rest: allauth's TOTP secret and recovery-code seed go through the vault.

allauth stores them in ``mfa_authenticator.data`` (JSON) and calls its adapter's encrypt/decrypt
around every read and write, so encrypting there covers enrolment, login and code display.
"""

from collections.abc import Callable
from typing import Any

from allauth.mfa.adapter import DefaultMFAAdapter

from connections import vault

# Every Fernet token starts with this (version byte 0x80, then a timestamp whose top bytes are
# zero); allauth's plaintext secrets are base32, hex or digits and never do.
FERNET_PREFIX = "gAAAAA"


class MFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]  # allauth ships no types: its base is Any
    def encrypt(self, text: str) -> str:
        return vault.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return vault.decrypt(encrypted_text)


def is_encrypted(value: str) -> bool:
    return value.startswith(FERNET_PREFIX)


def authenticator_secrets_map(*, kind: str, data: dict[str, Any], transform: Callable[[str], str]) -> dict[str, Any]:
    """A copy of an authenticator's data with transform applied to each secret it holds.

    WebAuthn keys hold only public credentials and are left alone."""
    data = dict(data)
    if kind == "totp" and isinstance(data.get("secret"), str):
        data["secret"] = transform(data["secret"])
    if kind == "recovery_codes":
        if isinstance(data.get("seed"), str):
            data["seed"] = transform(data["seed"])
        if isinstance(data.get("migrated_codes"), list):
            data["migrated_codes"] = [transform(code) for code in data["migrated_codes"]]
    return data
