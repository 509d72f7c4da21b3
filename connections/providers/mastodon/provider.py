"""Mastodon, on whichever server the user names.

Connecting: Postwright registers itself on the server once (POST /api/v1/apps, cached per
server by ``services.instance_app_credentials``), then runs OAuth 2.0 with PKCE against that
server's /oauth endpoints. Tokens never expire and there is no refresh; disconnecting revokes.

Publishing: media is uploaded and awaited (the server processes it in the background), then
each status is created with an ``Idempotency-Key``, which Mastodon honours for about an hour.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import IO, Any, ClassVar
from urllib.parse import quote

from django.conf import settings
from requests_toolbelt.multipart.encoder import MultipartEncoder

from connections import http
from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    AppCredentials,
    Connection,
    MediaItem,
    PartRequest,
    Pending,
    PostMetrics,
    PostPage,
    PreviewLook,
    Profile,
    PublishedItem,
    PublishRequest,
    TextRules,
    TokenSet,
)
from connections.providers.mastodon import imports, schema
from connections.providers.mastodon.client import MastodonClient, base_url, classify_registration, decode, host_of
from connections.providers.mastodon.metrics import ACCOUNT_METRIC_NAMES, METRIC_NAMES
from connections.providers.mastodon.text import comparable, comparable_html, with_link
from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaRules
from connections.providers.oauth2 import OAuth2Provider

log = logging.getLogger(__name__)

VISIBILITIES = frozenset({"public", "unlisted", "private", "direct"})
# Used only when the server did not say (its instance call failed): the conservative values of
# older releases, so the composer never lets through what the server would refuse.
DEFAULT_IMAGE_BYTES = 10 * 1024 * 1024
DEFAULT_IMAGE_PIXELS = 16_777_216
DEFAULT_VIDEO_BYTES = 40 * 1024 * 1024
DEFAULT_VIDEO_PIXELS = 2_304_000
DEFAULT_VIDEO_FPS = 60
DEFAULT_MIME_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
    "video/quicktime",
)
RECENT_STATUSES = 40  # the most Mastodon returns in one page
# How far the instance's clock may be behind ours when find_part compares creation times.
CLOCK_SKEW = timedelta(minutes=5)


VERIFY_CREDENTIALS = "/api/v1/accounts/verify_credentials"


class MastodonProvider(OAuth2Provider):
    composer_options = (
        (
            "visibility",
            "Visibility",
            (
                ("public", "Public"),
                ("unlisted", "Unlisted"),
                ("private", "Followers only"),
                ("direct", "Mentioned only"),
            ),
        ),
    )
    id = "mastodon"
    name = "Mastodon"
    preview_look = PreviewLook(avatar="square", accent="purple", reply_label="Thread reply")
    asks_for_instance = True
    instance_example = "mastodon.social"
    supports_check = True
    supports_pkce = True  # S256 since Mastodon 4.3; older servers ignore the challenge
    supports_revoke = True
    supports_refresh = False  # Mastodon tokens do not expire
    supports_idempotency_key = True
    # Not "profile": that scope exists only on 4.3+, and servers validate the scopes an app asks
    # for, so older ones would refuse the registration. "read" covers verify_credentials on every
    # version (where 4.3 would accept "profile" and older servers need "read:accounts") and lets
    # us read our own statuses back for reconciliation and metrics. Writing is kept to statuses
    # and media: no follows, blocks or profile edits.
    default_scopes = ("read", "write:statuses", "write:media")
    setup_steps = "Nothing to set up: Postwright registers itself on each server the first time someone connects to it."
    supports_lookup = True
    supports_delete = True
    supports_metrics = True
    supports_import = True
    supports_account_metrics = True
    metric_names = METRIC_NAMES
    account_metric_names = ACCOUNT_METRIC_NAMES
    metrics_batch_size = 20  # one GET per status: a small batch keeps a call's duration short
    # Waits between media status checks (no worker is held while waiting: the engine comes back),
    # and how long a server may take before the part is retried from a fresh upload.
    media_check_delays_s: ClassVar[tuple[float, ...]] = (1, 2, 3, 5, 5, 10, 10, 15, 30)
    media_processing_limit_s: ClassVar[int] = 15 * 60

    # --- Connect --------------------------------------------------------------------------------

    def endpoints(self, instance_url: str = "") -> tuple[str, str, str]:
        base = base_url(instance_url)
        return f"{base}/oauth/authorize", f"{base}/oauth/token", f"{base}/oauth/revoke"

    def register_app(self, *, instance_url: str, redirect_uri: str) -> AppCredentials:
        form = {
            "client_name": "Postwright",
            "redirect_uris": redirect_uri,  # a string, not a list: lists need 4.3+
            "scopes": " ".join(self.default_scopes),
            "website": settings.SITE_URL,
        }
        with MastodonClient(_public_base(instance_url), http.platform_session()) as api:
            try:
                data = api.json("POST", "/api/v1/apps", data=form, classifier=classify_registration)
            except ProviderError as exc:
                raise _explain_unreachable(exc, api.host) from None
        app = schema.parse_app(data, requested=self.default_scopes)
        return AppCredentials(app.client_id, app.client_secret, app.scopes, source="instance")

    def connections_from_tokens(self, *, tokens: TokenSet, instance_url: str = "") -> list[Connection]:
        with self._api(instance_url, tokens.access_token) as api:
            account = schema.parse_account(api.json("GET", VERIFY_CREDENTIALS))
            limits = self._instance_limits(api)
        return [
            Connection(
                profile=_profile(account, instance_url, domain=limits.domain),
                secrets=tokens.as_secrets(),
                instance_url=instance_url,
                extra={**limits.as_extra(), "account_id": account.id},
            )
        ]

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        with self._api(instance_url, tokens.access_token) as api:
            account = schema.parse_account(api.json("GET", VERIFY_CREDENTIALS))
        return _profile(account, instance_url)

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        with self._account_api(account) as api:
            found = schema.parse_account(api.json("GET", VERIFY_CREDENTIALS))
        return _profile(found, account.instance_url, domain=_extra_text(account.extra, "domain"))

    def _instance_limits(self, api: MastodonClient) -> schema.InstanceLimits:
        """The server's limits, or the defaults when it will not say: never worth failing a connect."""
        try:
            return schema.parse_instance(self._instance_document(api))
        except ProviderError as exc:
            log.warning("Mastodon server %s gave no instance info, using defaults: %s", api.host, exc)
            return schema.InstanceLimits()

    def _instance_document(self, api: MastodonClient) -> Any:
        try:
            return api.json("GET", "/api/v2/instance")
        except ProviderError as exc:
            if exc.status != 404:
                raise
        return api.json("GET", "/api/v1/instance")  # servers before 4.0

    def _api(self, instance_url: str, access_token: str) -> MastodonClient:
        return MastodonClient(base_url(instance_url), self.api_session(access_token))

    def _account_api(self, account: AccountState) -> MastodonClient:
        token = account.secrets.get("access_token")
        if not token:
            raise ProviderError(ErrorClass.AUTH, "No Mastodon access token is stored: reconnect.", code="no_token")
        return self._api(account.instance_url, token)

    # --- Composer rules -------------------------------------------------------------------------

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        """From the limits the server reported at connect time (``Connection.extra``).

        Mastodon counts grapheme clusters, each URL as 23 and a remote mention as its local part;
        counting code points ("characters") never undercounts any of that, so the composer errs
        on the strict side. The one thing it cannot see: a content warning (``spoiler_text``)
        counts into the same limit on the server.
        """
        extra = account.extra if account else {}
        return TextRules(
            max_length=_extra_int(extra, "max_characters") or schema.DEFAULT_MAX_CHARACTERS,
            counting="characters",
            url_length=_extra_int(extra, "characters_reserved_per_url") or schema.DEFAULT_URL_LENGTH,
            max_media=_extra_int(extra, "max_media_attachments") or schema.DEFAULT_MAX_MEDIA,
            max_image_bytes=_extra_int(extra, "image_size_limit") or DEFAULT_IMAGE_BYTES,
            accepted_mime_types=_mime_types(extra),
        )

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        """From the server's own configuration where the account stored it, else the limits of
        older releases (docs.joinmastodon.org: 10 MB and 16.8 megapixels per image; 40 MB,
        2.3 megapixels and 60 fps per video). Heavy or huge images are fitted; video is not."""
        extra = account.extra if account else {}
        types = _mime_types(extra)
        images = FormatRule(
            IMAGE, "Mastodon images", tuple(t for t in types if t.startswith("image/")),
            max_count=_extra_int(extra, "max_media_attachments") or schema.DEFAULT_MAX_MEDIA,
            max_bytes=_extra_int(extra, "image_size_limit") or DEFAULT_IMAGE_BYTES,
            max_pixels=_extra_int(extra, "image_matrix_limit") or DEFAULT_IMAGE_PIXELS, fits=True,
        )  # fmt: skip
        video = FormatRule(
            VIDEO, "Mastodon video", tuple(t for t in types if t.startswith("video/")),
            max_bytes=_extra_int(extra, "video_size_limit") or DEFAULT_VIDEO_BYTES,
            max_pixels=_extra_int(extra, "video_matrix_limit") or DEFAULT_VIDEO_PIXELS,
            max_fps=_extra_int(extra, "video_frame_rate_limit") or DEFAULT_VIDEO_FPS,
        )  # fmt: skip
        return MediaRules(platform=self.name, formats=(images, video))

    # --- Publishing -----------------------------------------------------------------------------

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        """One status: the main one, a reply to the part before it, or the first comment (a reply
        to the main status). Media are uploaded first; while the server still processes them the
        answer is Pending with their ids, and the status is created once they are ready.

        Every status carries its own Idempotency-Key (the part's), so re-sending a part whose
        answer was lost (within the server's ~1 h retention) returns the status that landed.
        """
        with self._account_api(account) as api:
            media_ids, waiting = self._media_for(api, part)
            if waiting:
                return self._still_processing(api, part, media_ids, waiting)
            content = part.content
            text = with_link(content.text, request.link) if part.index == 0 else content.text
            return self._post(api, text, _status_options(request.options), media_ids, key=part.key,
                              reply_to=part.parent)  # fmt: skip

    def _media_for(self, api: MastodonClient, part: PartRequest) -> tuple[list[str], list[str]]:
        """(every media id of the part, those still processing): uploaded on the first call,
        checked (read-only, safe to repeat) on later ones."""
        if "media_ids" not in part.state:
            uploaded = [self._upload(api, item) for item in part.content.media]
            return [item.id for item in uploaded], [item.id for item in uploaded if not item.ready]
        waiting = [media_id for media_id in part.state.get("waiting", []) if not self._media_ready(api, media_id)]
        return list(part.state["media_ids"]), waiting

    def _still_processing(
        self, api: MastodonClient, part: PartRequest, media_ids: list[str], waiting: list[str]
    ) -> Pending:
        checks = int(part.state.get("checks", 0)) + 1
        since = float(part.state.get("since") or time.time())
        if time.time() - since > self.media_processing_limit_s:
            minutes = self.media_processing_limit_s // 60
            message = f"{api.host} is still processing {len(waiting)} media file(s) after {minutes} minutes."
            raise ProviderError(ErrorClass.TRANSIENT, message, code="media_processing")
        delay = self.media_check_delays_s[min(checks, len(self.media_check_delays_s)) - 1]
        return Pending(
            reason=f"{api.host} is processing the media",
            state={"media_ids": media_ids, "waiting": waiting, "checks": checks, "since": since},
            check_in_s=delay,
        )

    def _post(
        self,
        api: MastodonClient,
        text: str,
        options: Mapping[str, Any],
        media_ids: list[str],
        *,
        key: str,
        reply_to: PublishedItem | None,
    ) -> PublishedItem:
        body: dict[str, Any] = {"status": text, **options}
        if media_ids:
            body["media_ids"] = media_ids
        if reply_to is not None:
            body["in_reply_to_id"] = reply_to.platform_post_id
        headers = {"Idempotency-Key": key} if key else {}
        data = api.json("POST", "/api/v1/statuses", json=body, headers=headers, create_call=True)
        try:
            status = schema.parse_status(data)
        except ProviderError as exc:
            raise replace(exc, outcome_unknown=True) from None  # the server said 200: it may exist
        return PublishedItem(platform_post_id=status.id, url=status.url)

    def _upload(self, api: MastodonClient, item: MediaItem) -> schema.Media:
        with item.open() as stream:
            # Streamed as it is read (a video can be hundreds of MB): never built in memory.
            fields: dict[str, Any] = {"description": item.alt_text} if item.alt_text else {}
            fields["file"] = (item.filename, _SizedStream(stream, item.size), item.mime_type)
            body = MultipartEncoder(fields=fields)
            # Not a create call for outcome purposes: an upload never attached to a status is
            # harmless (the server deletes it), so a lost answer is simply retried.
            answer = api.json(
                "POST",
                "/api/v2/media",
                ok=(200, 202),  # 202: accepted, still processing
                data=body,
                headers={"Content-Type": body.content_type},
            )
        return schema.parse_media(answer)

    def _media_ready(self, api: MastodonClient, media_id: str) -> bool:
        response = api.call("GET", f"/api/v1/media/{quote(media_id, safe='')}", ok=(200, 206))
        if response.status_code == 206:  # Partial Content: still processing
            return False
        return schema.parse_media(decode(response, api.host)).ready

    # --- After publishing -----------------------------------------------------------------------

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """Look for the part among the account's latest statuses, by text and what it replies to.

        Why not re-send with the same Idempotency-Key? A look-up must not create: if the first
        attempt never reached the server, re-sending here would publish, and after the key's ~1 h
        retention it could publish a duplicate. Reading is side-effect free.

        Limits: only the latest 40 statuses are searched (reconciliation runs soon after the
        timeout); text is compared after reducing the HTML to plain text. A status created before
        the run that sent the part (less CLOCK_SKEW) is not it, so an identical earlier status does
        not match; statuses the server hides from the author's own timeline (direct messages) are
        not found.
        A miss within the hour is still safe: the engine then re-sends, and the same
        Idempotency-Key returns the existing status.
        """
        text = with_link(part.content.text, request.link) if part.index == 0 else part.content.text
        wanted, parent = comparable(text), part.parent.platform_post_id if part.parent else None
        params = {"limit": RECENT_STATUSES, "exclude_replies": "false" if parent else "true",
                  "exclude_reblogs": "true"}  # fmt: skip
        path = f"/api/v1/accounts/{quote(_account_id(account), safe='')}/statuses"
        with self._account_api(account) as api:
            statuses = schema.parse_statuses(api.json("GET", path, params=params))
        earliest = part.sent_after - CLOCK_SKEW if part.sent_after else None
        for status in statuses:
            if earliest and status.created_at and status.created_at < earliest:
                continue  # older than the attempt: an earlier status with the same words
            if (
                status.in_reply_to_id == parent
                and status.media_count == len(part.content.media)
                and comparable_html(status.content) == wanted
            ):
                return PublishedItem(platform_post_id=status.id, url=status.url)
        return None

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        with self._account_api(account) as api:
            try:
                api.call("DELETE", f"/api/v1/statuses/{quote(platform_post_id, safe='')}")
            except ProviderError as exc:
                if exc.status != 404:
                    raise
                # Already gone (deleted on Mastodon, or by an earlier attempt): the goal is met.

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        """Counts as the home server sees them (remote interactions may be missing); no impressions.
        Deleted statuses are left out of the result."""
        metrics: dict[str, PostMetrics] = {}
        with self._account_api(account) as api:
            for post_id in platform_post_ids:
                status = _status_or_none(api, post_id)
                if status is not None:
                    metrics[post_id] = PostMetrics.from_platform(status, METRIC_NAMES)
        return metrics

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        with self._account_api(account) as api:
            return imports.list_own_posts(api, account_id=_account_id(account), cursor=cursor)

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        with self._account_api(account) as api:
            data = api.json("GET", VERIFY_CREDENTIALS)
        me = schema.parse_account(data)  # the shape checked at the edge
        if me.id != _account_id(account):
            raise ProviderError(ErrorClass.AUTH, "This Mastodon token belongs to another account: reconnect.",
                                code="account_mismatch")  # fmt: skip
        return AccountMetrics.from_platform(data, ACCOUNT_METRIC_NAMES)


# --- Helpers ------------------------------------------------------------------------------------


class _SizedStream:
    """A media stream that says how many bytes are left, as the streaming multipart encoder asks
    (not every storage's file object can tell); read in the encoder's small blocks. A stream that
    ends early counts as finished, so a wrong size cannot keep the encoder waiting."""

    def __init__(self, stream: IO[bytes], size: int) -> None:
        self.stream, self.left = stream, size

    @property
    def len(self) -> int:
        return self.left

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(self.left if size is None or size < 0 else min(size, self.left))
        self.left = max(0, self.left - len(chunk)) if chunk else 0
        return chunk


def _public_base(instance_url: str) -> str:
    """A server the user typed in must not be a private address (the connect form checks too)."""
    try:
        return http.check_public_url(base_url(instance_url))
    except http.UnsafeURL as exc:
        raise ProviderError(ErrorClass.CONFIG, f"That server cannot be used: {exc}.", code="unsafe_url") from None


def _explain_unreachable(exc: ProviderError, host: str) -> ProviderError:
    if exc.code != "network":
        return exc
    return replace(exc, message=f"Could not reach {host}: check the address, or try again if the server is down.")


def _profile(account: schema.Account, instance_url: str, *, domain: str = "") -> Profile:
    host = host_of(instance_url)
    handle = account.acct if "@" in account.acct else f"{account.acct}@{domain or host}"
    return Profile(
        # Numeric ids repeat across servers and SocialAccount is unique on (workspace, platform,
        # external_id), so the server's host is part of the id: "mastodon.social:109348123".
        external_id=f"{host}:{account.id}",
        username=f"@{handle}",
        display_name=account.display_name or account.username,
        avatar_url=account.avatar,
        profile_url=account.url,
    )


def _account_id(account: AccountState) -> str:
    return _extra_text(account.extra, "account_id") or account.external_id.rsplit(":", 1)[-1]


def _status_or_none(api: MastodonClient, post_id: str) -> dict[str, Any] | None:
    """The status as the server sent it (checked against our schema first), or None if gone."""
    try:
        data = api.json("GET", f"/api/v1/statuses/{quote(post_id, safe='')}")
        schema.parse_status(data)
        return dict(data)
    except ProviderError as exc:
        if exc.status == 404:
            return None
        raise


def _status_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The status fields every part of the post shares (a thread keeps one audience and warning)."""
    visibility = options.get("visibility") or "public"
    if visibility not in VISIBILITIES:
        allowed = ", ".join(sorted(VISIBILITIES))
        message = f"Mastodon has no visibility {visibility!r}; use one of {allowed}."
        raise ProviderError(ErrorClass.CONTENT, message, code="bad_option")
    body: dict[str, Any] = {"visibility": visibility}
    if options.get("spoiler_text"):
        body["spoiler_text"] = str(options["spoiler_text"])
    if options.get("sensitive") is not None:
        body["sensitive"] = _flag(options["sensitive"])
    if options.get("language"):
        body["language"] = str(options["language"])
    return body


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def _extra_int(extra: Mapping[str, Any], key: str) -> int | None:
    value = extra.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _mime_types(extra: Mapping[str, Any]) -> tuple[str, ...]:
    listed = extra.get("supported_mime_types")
    types = tuple(t for t in listed if isinstance(t, str)) if isinstance(listed, list) else ()
    return types or DEFAULT_MIME_TYPES


def _extra_text(extra: Mapping[str, Any], key: str) -> str:
    value = extra.get(key)
    return value if isinstance(value, str) else ""
