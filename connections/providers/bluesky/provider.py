"""Bluesky (AT Protocol) with app passwords: sessions, posts, threads, images and link cards.

Stored per account:

- ``secrets``: ``app_password`` (for a new login when the refresh token is refused),
  ``access_token`` (the access JWT, about 2 h), ``refresh_token`` (the refresh JWT, rotated on
  every refresh), ``did`` and ``handle``. The token keys are the ones ``TokenSet.as_secrets``
  writes, so a refresh by the services layer replaces exactly what later calls read.
- ``instance_url``: the account's PDS, from its DID document; writes go there.
- ``extra["service_url"]``: where the user logged in (bsky.social or their own PDS); session
  calls go there, as Bluesky's own clients do.
"""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django import forms
from django.utils import timezone

from connections.errors import ErrorClass, ProviderError
from connections.http import UnsafeURL, check_public_url, platform_session
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    AppCredentials,
    Connection,
    ConnectMethod,
    ContentPart,
    MediaItem,
    PartRequest,
    PostMetrics,
    PostPage,
    PreviewLook,
    Profile,
    Provider,
    PublishedItem,
    PublishRequest,
    TextRules,
    TokenSet,
)
from connections.providers.bluesky import cards, feed, richtext, tid
from connections.providers.bluesky.client import (
    MAIN_PASSWORD_SCOPE,
    AccountClient,
    SessionTokens,
    Xrpc,
    create_session,
    jwt_claims,
    jwt_expiry,
    malformed,
    optional_str,
    require_str,
)
from connections.providers.bluesky.forms import (
    BlueskyConnectForm,
    InvalidServer,
    normalise_identifier,
    normalise_service_url,
)
from connections.providers.bluesky.metrics import ACCOUNT_METRIC_NAMES, METRIC_NAMES
from connections.providers.bluesky.repo import StrongRef, create_record, delete_record, get_record, upload_blob
from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaRules

log = logging.getLogger(__name__)

PUBLIC_APPVIEW = "https://public.api.bsky.app"  # unauthenticated reads (metrics)
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 1_000_000
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
METRICS_BATCH = 25  # getPosts takes at most 25 URIs


class BlueskyProvider(Provider):
    id = "bluesky"
    name = "Bluesky"
    preview_look = PreviewLook(avatar="round", accent="sky", reply_label="Reply in thread")
    connect_method = ConnectMethod.FORM
    needs_app_credentials = False
    supports_pkce = False
    supports_check = True
    supports_refresh = True
    supports_revoke = False  # app passwords cannot be revoked through the API: disconnect wipes them
    # Access JWTs last about 2 hours and the health job runs every 5 minutes: refreshing in the
    # last half hour keeps idle accounts' refresh tokens rotating without churning busy ones.
    refresh_margin_s = 30 * 60
    supports_lookup = True  # record keys derive from the target's key: getRecord answers for sure
    supports_delete = True
    supports_metrics = True
    supports_import = True
    supports_account_metrics = True
    metric_names = METRIC_NAMES
    account_metric_names = ACCOUNT_METRIC_NAMES
    metrics_batch_size = METRICS_BATCH

    # --- Connect -----------------------------------------------------------------------------

    def connect_form_class(self) -> type[forms.Form]:
        return BlueskyConnectForm

    def connect_initial(self, *, username: str, instance_url: str) -> dict[str, str]:
        return {"identifier": username, "service_url": instance_url}

    def connect_with_form(self, *, data: Mapping[str, Any]) -> Connection:
        service = _service_url(str(data.get("service_url") or ""))
        password = str(data.get("app_password") or "").strip()
        http = platform_session()
        xrpc = Xrpc(service, http)
        tokens = create_session(xrpc, normalise_identifier(str(data.get("identifier") or "")), password)
        _refuse_unusable_session(xrpc, tokens)
        pds = _pds_url(tokens, default=service)
        return Connection(
            profile=_profile(Xrpc(pds, http), tokens),
            secrets={**tokens.as_secrets(), "app_password": password},
            expires_at=jwt_expiry(tokens.access_jwt),
            instance_url=pds,
            extra={"service_url": service},
        )

    def refresh(self, *, app: AppCredentials | None, account: AccountState) -> TokenSet:
        tokens = AccountClient(account).renew()
        return TokenSet(
            access_token=tokens.access_jwt,
            refresh_token=tokens.refresh_jwt,
            expires_at=jwt_expiry(tokens.access_jwt),
            extra={"did": tokens.did, "handle": tokens.handle},
        )

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        session = AccountClient(account).query("com.atproto.server.getSession")
        did, handle = require_str(session, "did", "getSession"), require_str(session, "handle", "getSession")
        if handle != account.secrets.get("handle"):
            account.update_secrets(handle=handle)  # the user changed handle: post URLs follow
        return Profile(external_id=did, username=handle, profile_url=profile_url(handle, did))

    # --- Publishing --------------------------------------------------------------------------

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        return TextRules(
            max_length=richtext.MAX_GRAPHEMES,
            counting="graphemes",
            max_media=MAX_IMAGES,
            max_image_bytes=MAX_IMAGE_BYTES,
            accepted_mime_types=IMAGE_TYPES,
        )

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        # Images over 1,000,000 bytes are fitted (a re-encoded copy), never refused.
        images = FormatRule(IMAGE, "Bluesky images", IMAGE_TYPES, max_count=MAX_IMAGES, max_bytes=MAX_IMAGE_BYTES,
                            fits=True)  # fmt: skip
        video = FormatRule(
            VIDEO, "Bluesky video", ("video/mp4",), max_bytes=100_000_000, duration_range=(0, 180),
            unavailable="Postwright does not post video to Bluesky yet (Bluesky takes one MP4, up to 3 min "
            "and 100 MB); attach images instead.",
        )  # fmt: skip
        return MediaRules(platform=self.name, formats=(images, video))

    def publish_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem:
        if part.index == 0:
            for _, content in request.parts():
                _check_part(content)  # refuse a bad reply before the main post goes out
        else:
            _check_part(part.content)
        publisher = _Publisher(AccountClient(account), request)
        return published_item(publisher.part(part), publisher.client)

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        if not request.idempotency_key:
            return None  # without a key the record key was the PDS's choice: nothing to look up
        client = AccountClient(account)
        ref = get_record(client, tid.rkey_for(request.idempotency_key, part.index))
        return published_item(ref, client) if ref else None

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        delete_record(AccountClient(account), platform_post_id)

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        """Followers, follows and posts from the public AppView's profile of the account's DID."""
        profile = Xrpc(PUBLIC_APPVIEW).query("app.bsky.actor.getProfile", {"actor": account.external_id})
        if require_str(profile, "did", "getProfile") != account.external_id:
            raise malformed("getProfile")
        return AccountMetrics.from_platform(profile, ACCOUNT_METRIC_NAMES)

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        uris = list(dict.fromkeys(platform_post_ids))
        appview = Xrpc(PUBLIC_APPVIEW)
        metrics: dict[str, PostMetrics] = {}
        for start in range(0, len(uris), METRICS_BATCH):
            batch = [("uris", uri) for uri in uris[start : start + METRICS_BATCH]]
            metrics.update(_metrics(appview.query("app.bsky.feed.getPosts", batch)))
        return metrics

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        client = AccountClient(account)
        handle = account.secrets.get("handle") or account.username
        return feed.list_own_posts(client, cursor=cursor, profile_url=profile_url(handle, client.did))


# --- Connect helpers ---------------------------------------------------------------------------


def _service_url(value: str) -> str:
    try:
        return normalise_service_url(value)
    except InvalidServer as exc:
        raise ProviderError(ErrorClass.CONTENT, str(exc), code="bad_server") from None


def _refuse_unusable_session(xrpc: Xrpc, tokens: SessionTokens) -> None:
    # The account's own password gives full control (and works on the API): never keep it.
    if jwt_claims(tokens.access_jwt).get("scope") == MAIN_PASSWORD_SCOPE:
        _end_session(xrpc, tokens)
        raise ProviderError(
            ErrorClass.AUTH,
            "That is the account's own password. Create an App Password in Bluesky's settings and use it instead.",
            code="NotAppPassword",
        )
    if not tokens.active:
        raise ProviderError(
            ErrorClass.AUTH, f"This Bluesky account is {tokens.status or 'not active'}.", code="AccountInactive"
        )


def _end_session(xrpc: Xrpc, tokens: SessionTokens) -> None:
    try:
        xrpc.procedure("com.atproto.server.deleteSession", token=tokens.refresh_jwt)
    except ProviderError as exc:
        log.info("could not end the refused Bluesky session: %s", exc.code or exc.error_class)


def _pds_url(tokens: SessionTokens, *, default: str) -> str:
    """The account's own PDS, from the DID document; it is user-controlled, so checked too."""
    if not tokens.pds_endpoint:
        return default
    try:
        return check_public_url(tokens.pds_endpoint)
    except UnsafeURL as exc:
        message = f"The account's server cannot be used: {exc}."
        raise ProviderError(ErrorClass.CONTENT, message, code="bad_server") from None


def _profile(pds: Xrpc, tokens: SessionTokens) -> Profile:
    """Display name and avatar come from the AppView behind the PDS; a bare PDS has none."""
    display_name = avatar = ""
    try:
        data = pds.query("app.bsky.actor.getProfile", {"actor": tokens.did}, token=tokens.access_jwt)
    except ProviderError as exc:
        log.info("no Bluesky profile for %s (%s); using the handle", tokens.did, exc.code or exc.error_class)
    else:
        display_name, avatar = optional_str(data, "displayName"), optional_str(data, "avatar")
    return Profile(
        external_id=tokens.did,
        username=tokens.handle,
        display_name=display_name.strip() or tokens.handle,
        avatar_url=avatar if avatar.startswith("https://") else "",
        profile_url=profile_url(tokens.handle, tokens.did),
    )


def profile_url(handle: str, did: str) -> str:
    # "handle.invalid" is what the PDS reports when the handle no longer verifies: use the DID.
    return f"https://bsky.app/profile/{did if handle in ('', 'handle.invalid') else handle}"


# --- Publishing helpers ------------------------------------------------------------------------


def _check_part(part: ContentPart) -> None:
    problem = richtext.length_problem(part.text) or _media_problem(part.media)
    if problem:
        raise ProviderError(ErrorClass.CONTENT, problem, code="invalid_post")


def _media_problem(media: tuple[MediaItem, ...]) -> str | None:
    if len(media) > MAX_IMAGES:
        return f"Bluesky takes at most {MAX_IMAGES} images per post."
    for item in media:
        if item.mime_type.startswith("video/"):
            return "Posting video to Bluesky is not supported yet."
        if item.mime_type not in IMAGE_TYPES:
            return f"Bluesky takes JPEG, PNG, GIF or WebP images; {item.filename} is {item.mime_type}."
        if item.size > MAX_IMAGE_BYTES:
            return f"{item.filename} is larger than Bluesky's 1 MB limit for images."
    return None


def _with_link(text: str, link: str) -> str:
    """An image post cannot also carry a link card: put the link in the text, if it fits."""
    if not link or link in text:
        return text
    candidate = f"{text}\n\n{link}" if text else link
    return candidate if richtext.length_problem(candidate) is None else text


def published_item(ref: StrongRef, client: AccountClient) -> PublishedItem:
    handle = client.account.secrets.get("handle") or client.account.username
    base = profile_url(handle, client.did)
    return PublishedItem(platform_post_id=ref.uri, url=f"{base}/post/{ref.rkey}", extra={"cid": ref.cid})


def _strong_ref(item: PublishedItem) -> StrongRef:
    cid = item.extra.get("cid")
    if not isinstance(cid, str) or not cid:
        raise ProviderError(ErrorClass.CONFIG, "The post to reply to has no recorded cid.", code="no_cid")
    return StrongRef(uri=item.platform_post_id, cid=cid)


def created_at() -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as the lexicon's datetime format asks."""
    now = timezone.now().astimezone(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class _Reply:
    root: StrongRef
    parent: StrongRef

    def as_json(self) -> dict[str, dict[str, str]]:
        return {"root": self.root.as_json(), "parent": self.parent.as_json()}


class _Publisher:
    """One publish call: the parts in order, each replying to the one before it."""

    def __init__(self, client: AccountClient, request: PublishRequest) -> None:
        self.client = client
        self.request = request
        self.langs = _langs(request.options.get("langs"))
        self._dids: dict[str, str | None] = {}

    def part(self, part: PartRequest) -> StrongRef:
        """One part: the main post (with the link as a card, or in the text beside images), or a
        reply into the thread (root and parent strong refs from the parts that landed)."""
        content, link = part.content, self.request.link
        if part.index == 0:
            text = _with_link(content.text, link) if content.media else content.text
            return self.post(content, text, index=0, reply=None, link=link)
        if part.root is None or part.parent is None:
            raise ProviderError(ErrorClass.CONFIG, "A Bluesky reply needs the post it answers.", code="no_parent")
        reply = _Reply(root=_strong_ref(part.root), parent=_strong_ref(part.parent))
        return self.post(content, content.text, index=part.index, reply=reply)

    def post(self, part: ContentPart, text: str, *, index: int, reply: _Reply | None, link: str = "") -> StrongRef:
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text, "createdAt": created_at()}
        facets = richtext.build_facets(text, self.resolve_handle)
        if facets:
            record["facets"] = facets
        embed = self.images(part.media) if part.media else self.card(link or richtext.first_link(text))
        if embed:
            record["embed"] = embed
        if reply:
            record["reply"] = reply.as_json()
        if self.langs:
            record["langs"] = self.langs
        key = self.request.idempotency_key
        return create_record(self.client, record, tid.rkey_for(key, index) if key else None)

    def resolve_handle(self, handle: str) -> str | None:
        """The DID behind a mentioned handle; None (the mention stays plain text) on any failure."""
        if handle not in self._dids:
            try:
                answer = self.client.pds.query("com.atproto.identity.resolveHandle", {"handle": handle})
            except ProviderError as exc:
                log.info("mention @%s not resolved: %s", handle, exc.code or exc.error_class)
                answer = {}
            did = answer.get("did")
            self._dids[handle] = did if isinstance(did, str) and did.startswith("did:") else None
        return self._dids[handle]

    def images(self, media: tuple[MediaItem, ...]) -> dict[str, Any]:
        images = []
        for item in media:
            blob = upload_blob(self.client, _read(item), item.mime_type)
            image: dict[str, Any] = {"alt": item.alt_text, "image": blob}
            if item.width and item.height:
                image["aspectRatio"] = {"width": item.width, "height": item.height}
            images.append(image)
        return {"$type": "app.bsky.embed.images", "images": images}

    def card(self, url: str) -> dict[str, Any] | None:
        """A link card from the page's Open Graph tags; with the URL as title when they cannot be read."""
        if not url.lower().startswith(("https://", "http://")):
            return None
        http = platform_session()  # its own session: the page's cookies stay away from the PDS calls
        page = cards.fetch_page(http, url)
        external: dict[str, Any] = {
            "uri": url,
            "title": (page.title if page else "") or url,
            "description": page.description if page else "",
        }
        thumb = self.thumb(http, page.image_url) if page and page.image_url else None
        if thumb:
            external["thumb"] = thumb
        return {"$type": "app.bsky.embed.external", "external": external}

    def thumb(self, http: Any, image_url: str) -> dict[str, Any] | None:
        image = cards.fetch_image(http, image_url)
        if image is None:
            return None
        try:
            return upload_blob(self.client, image.data, image.mime_type)
        except ProviderError as exc:
            log.info("link card image not uploaded: %s", exc.code or exc.error_class)
            return None


def _read(item: MediaItem) -> bytes:
    with item.open() as handle:
        data = handle.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ProviderError(
            ErrorClass.CONTENT, f"{item.filename} is larger than Bluesky's 1 MB limit for images.", code="too_large"
        )
    return data


def _langs(value: Any) -> list[str]:
    """Up to three language tags from the post's options ("en" or ["en", "fr"])."""
    values = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else []
    return [lang.strip() for lang in values if isinstance(lang, str) and lang.strip()][:3]


def _metrics(answer: dict[str, Any]) -> dict[str, PostMetrics]:
    posts = answer.get("posts")
    if not isinstance(posts, list):
        raise malformed("getPosts")
    metrics = {}
    for post in posts:
        if not isinstance(post, dict):
            raise malformed("getPosts")
        metrics[require_str(post, "uri", "getPosts")] = PostMetrics.from_platform(post, METRIC_NAMES)
    return metrics


def _count(post: Mapping[str, Any], key: str) -> int:
    value = post.get(key, 0)
    return value if isinstance(value, int) and value >= 0 else 0
