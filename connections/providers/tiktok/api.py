"""TikTok's hosts and its error envelope: ``{"data": {...}, "error": {"code", "message", "log_id"}}``,
with ``code == "ok"`` on success (HTTP 200 either way for many errors)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from connections import http
from connections.errors import ErrorClass, ProviderError

OPEN_API = "https://open.tiktokapis.com/v2"
AUTHORIZE = "https://www.tiktok.com/v2/auth/authorize/"
TOKEN = f"{OPEN_API}/oauth/token/"
DAY_S = 24 * 3600

AUTH_CODES = frozenset({"access_token_invalid", "scope_not_authorized", "scope_permission_missed"})
CONTENT_CODES = frozenset(
    {
        "spam_risk_user_banned_from_posting",
        "spam_risk_text",
        "privacy_level_option_mismatch",
        "invalid_params",
        "file_format_check_failed",
        "duration_check_failed",
        "frame_rate_check_failed",
        "picture_size_check_failed",
        "video_pull_failed",
        "photo_pull_failed",
    }
)
CONFIG_CODES = frozenset(
    {
        "unaudited_client_can_only_post_to_private_accounts",
        "url_ownership_unverified",
        "reached_active_user_cap",
        "app_version_check_failed",
    }
)
# The reference names these without a reset time: the daily creator cap ("retry tomorrow"), and
# the five pending inbox shares (cleared as the creator finishes them).
LONG_WAITS = {"spam_risk_too_many_posts": DAY_S, "spam_risk_too_many_pending_share": 3600}
MESSAGES = {
    "spam_risk_too_many_posts": "This TikTok account reached its daily post limit; trying again tomorrow.",
    "spam_risk_too_many_pending_share": "Five TikTok drafts wait in the creator's inbox; waiting for them.",
    "privacy_level_option_mismatch": "TikTok does not offer this privacy level to this account: choose another.",
    "unaudited_client_can_only_post_to_private_accounts": "TikTok has not audited this app: it posts only as Only me.",
    "url_ownership_unverified": "TikTok cannot pull the video: this site's domain is not verified at TikTok.",
    "duration_check_failed": "TikTok refused the video's duration.",
    "file_format_check_failed": "TikTok refused the video's format.",
    "frame_rate_check_failed": "TikTok refused the video's frame rate.",
    "picture_size_check_failed": "TikTok refused the picture size.",
    "video_pull_failed": "TikTok could not download the video.",
    "spam_risk_text": "TikTok flagged the caption as spam.",
    "spam_risk_user_banned_from_posting": "TikTok does not let this account post.",
    "photo_pull_failed": "TikTok could not download the photos.",
    # Status fail_reasons beyond the error codes (TikTok's Get Post Status page; not in the
    # reference, so unknown ones still read as "TikTok could not publish ... (<reason>)").
    "publish_cancelled": "The post was cancelled on TikTok before it was published.",
    "auth_removed": "The creator removed this app's access on TikTok: reconnect the account.",
    "spam_risk": "TikTok held the post back as a spam risk.",
    "internal": "TikTok had an internal problem with the post; trying again.",
}  # fmt: skip
# fail_reasons that are not error codes but say the same as one.
FAIL_REASON_CLASS = {
    "auth_removed": "access_token_invalid",
    "internal": "internal_error",
    "spam_risk": "spam_risk_text",
}


def setting(name: str) -> Any:
    """TikTok's settings come from its conf.py at start-up, so the settings type does not know them."""
    return getattr(settings, name)


def classify_code(
    code: str, message: str, *, status: int | None = None, retry_after: float | None = None
) -> ProviderError:
    """One of TikTok's error codes (an API error or a status's ``fail_reason``) as a ProviderError."""
    text = MESSAGES.get(code) or message or f"TikTok answered {code or status}"
    if code in LONG_WAITS:
        return ProviderError(ErrorClass.RATE, text, code=code, status=status, retry_after=float(LONG_WAITS[code]))
    if code == "rate_limit_exceeded" or status == 429:
        return ProviderError(ErrorClass.RATE, text, code=code or "429", status=status, retry_after=retry_after)
    if code in AUTH_CODES or status == 401:
        return ProviderError(ErrorClass.AUTH, text, code=code or "401", status=status)
    if code in CONTENT_CODES:
        return ProviderError(ErrorClass.CONTENT, text, code=code, status=status)
    if code in CONFIG_CODES:
        return ProviderError(ErrorClass.CONFIG, text, code=code, status=status)
    if code == "internal_error" or (status or 0) >= 500:
        return ProviderError(ErrorClass.TRANSIENT, text, code=code or str(status), status=status)
    return ProviderError(ErrorClass.CONTENT if status == 400 else ErrorClass.CONFIG, text, code=code, status=status)


def data_of(response: http.Response) -> dict[str, Any]:
    """The answer's ``data`` once ``error.code`` is "ok"; any other code raised, classified."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        if response.status_code >= 400:
            raise classify_code("", "", status=response.status_code, retry_after=http.retry_after_seconds(response))
        raise ProviderError(ErrorClass.TRANSIENT, "TikTok sent an unreadable answer", code="malformed")
    code = str(error.get("code") or "")
    if code != "ok" or response.status_code >= 400:
        message = str(error.get("message") or "")
        raise classify_code(code, message, status=response.status_code, retry_after=http.retry_after_seconds(response))
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}
