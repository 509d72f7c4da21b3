"""Every platform failure, classified once, so retry-or-fail is decided in one place."""

from dataclasses import dataclass
from enum import StrEnum


class ErrorClass(StrEnum):
    AUTH = "auth"  # token expired, revoked or missing a scope: refresh once, then ask to reconnect
    RATE = "rate"  # throttled or out of quota: retry at the reset time
    TRANSIENT = "transient"  # 5xx, timeout, still processing: retry with backoff
    CONTENT = "content"  # duplicate, too long, bad media, policy: permanent, show the platform's message
    CONFIG = "config"  # our side: bad version, unapproved app, wrong redirect: permanent, alert developers


RETRYABLE = frozenset({ErrorClass.RATE, ErrorClass.TRANSIENT})


@dataclass
class ProviderError(Exception):
    """A classified platform failure. ``message`` is the platform's own words, kept for the user."""

    error_class: ErrorClass
    message: str
    code: str = ""
    status: int | None = None
    retry_after: float | None = None  # seconds, from Retry-After or the platform's reset header
    # True when a create call may have reached the platform (timeout after sending): never re-send blindly.
    outcome_unknown: bool = False
    # True when our own budget said wait before anything was sent (a day's quota share used up):
    # the wait spends no attempt, so a post held for days is not failed for having waited.
    held: bool = False

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        return f"{self.error_class.value}{code}: {self.message}"

    @property
    def retryable(self) -> bool:
        return self.error_class in RETRYABLE


class ConnectError(Exception):
    """A connect attempt that cannot go on; the message is shown to the user as is."""
