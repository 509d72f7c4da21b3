"""The Demo network: a built-in platform so a fresh install can try the whole product.

Nothing leaves the server. Publishing takes a realistic moment, fails now and then with each
class of error (as real platforms do), and posts gather metrics that grow with age.
Words in a post force an outcome, for demos and tests: #fail-content, #fail-rate,
#fail-transient, #fail-auth, #fail-config and #fail-unknown (the post lands but the answer is lost).
"""

import hashlib
import random
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    AppCredentials,
    Connection,
    ConnectMethod,
    ImportedItem,
    MediaItem,
    PartRequest,
    Pending,
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
from connections.providers.demo.metrics import ACCOUNT_METRIC_NAMES, METRIC_NAMES, account_counts, post_counts
from connections.providers.demo.models import DemoPost
from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaRules


def _setting(name: str) -> Any:
    # The Demo network's settings come from its conf.py at start-up (see connections.registry),
    # so they are not attributes the settings type knows of.
    return getattr(settings, name)


FORCED = {
    "#fail-content": ProviderError(
        ErrorClass.CONTENT, "Demo network: this post breaks the demo rules.", code="content"
    ),
    "#fail-rate": ProviderError(ErrorClass.RATE, "Demo network: slow down.", code="rate", status=429, retry_after=30),
    "#fail-transient": ProviderError(ErrorClass.TRANSIENT, "Demo network is having a moment.", code="5xx", status=503),
    "#fail-auth": ProviderError(ErrorClass.AUTH, "Demo network: the session was revoked.", code="auth", status=401),
    "#fail-config": ProviderError(ErrorClass.CONFIG, "Demo network: app not approved.", code="config", status=403),
}
DEMO_CHUNK_BYTES = 8 * 1024 * 1024
RANDOM_FAILURES = [ErrorClass.TRANSIENT, ErrorClass.RATE, ErrorClass.CONTENT]


class DemoConnectForm(forms.Form):
    display_name = forms.CharField(max_length=80, initial="Demo Creator", label="Display name")
    identifier = forms.SlugField(
        max_length=40, initial="demo-creator", label="Handle", help_text="Letters, numbers and dashes."
    )


class DemoConsentForm(forms.Form):
    """The Demo network's own consent page: who logs in, and whether they also manage brand pages
    (a consent that yields several accounts, so the "choose which to connect" step can be tried)."""

    display_name = forms.CharField(max_length=80, initial="Demo Creator", label="Display name")
    identifier = forms.SlugField(max_length=40, initial="demo-creator", label="Handle")
    pages = forms.BooleanField(required=False, initial=True, label="Also manage my two brand pages")


CONSENT_SALT = "demo-network-consent"
CONSENT_CODE_SECONDS = 10 * 60
PAGES = (("news", "News"), ("shop", "Shop"))


class DemoProvider(Provider):
    id = "demo"
    name = "Demo network"
    preview_look = PreviewLook(avatar="round", accent="neutral")
    connect_method = ConnectMethod.INSTANT
    # The dashboard connects it with a form; the API can also send a user through its consent page.
    supports_consent = True
    supports_pkce = False
    needs_app_credentials = False
    supports_check = True
    supports_revoke = False
    supports_idempotency_key = True
    supports_lookup = True
    supports_delete = True
    supports_metrics = True
    supports_import = True
    supports_account_metrics = True
    metric_names = METRIC_NAMES
    account_metric_names = ACCOUNT_METRIC_NAMES
    badge = "demo"
    connect_intro = (
        'The Demo network is built in: nothing leaves this server. Posts "publish" with realistic '
        "delays and the occasional failure, and gather growing metrics."
    )
    starter_hint = "The Demo network needs nothing and lets you try everything."

    def is_enabled(self) -> bool:
        return bool(_setting("DEMO_NETWORK_ENABLED"))

    def connect_form_class(self) -> type[forms.Form]:
        return DemoConnectForm

    def connect_initial(self, *, username: str, instance_url: str) -> dict[str, str]:
        return {"identifier": username.lstrip("@")}

    def connect_with_form(self, *, data: Mapping[str, Any]) -> Connection:
        handle = slugify(data.get("identifier") or "demo-creator")
        profile = self._profile(handle, data.get("display_name") or handle)
        # A token, so demo accounts exercise the vault like real ones.
        return Connection(profile=profile, secrets={"access_token": secrets.token_urlsafe(24)})

    # --- Consent (the API's connect/auth-url) ---------------------------------------------------

    def authorization_url(
        self, *, app: AppCredentials, redirect_uri: str, state: str, code_verifier: str | None, instance_url: str = ""
    ) -> str:
        query = urlencode({"state": state, "redirect_uri": redirect_uri})
        return f"{settings.SITE_URL}{reverse('demo_consent')}?{query}"

    @staticmethod
    def consent_code(data: Mapping[str, Any]) -> str:
        """What the consent page sends back: the login itself, signed, so nothing is stored."""
        login = {"handle": data["identifier"], "name": data["display_name"], "pages": bool(data.get("pages"))}
        return signing.dumps(login, salt=CONSENT_SALT)

    def exchange_code(
        self, *, app: AppCredentials, code: str, redirect_uri: str, code_verifier: str | None, instance_url: str = ""
    ) -> TokenSet:
        try:
            login = signing.loads(code, salt=CONSENT_SALT, max_age=CONSENT_CODE_SECONDS)
        except signing.BadSignature:  # also an expired one
            message = "Demo network: that code is not valid."
            raise ProviderError(ErrorClass.AUTH, message, code="invalid_grant") from None
        return TokenSet(access_token=secrets.token_urlsafe(24), scope="demo.read demo.write", extra={"login": login})

    def connections_from_tokens(self, *, tokens: TokenSet, instance_url: str = "") -> list[Connection]:
        login = dict(tokens.extra.get("login") or {})
        handle = slugify(str(login.get("handle") or "")) or "demo-creator"
        name = str(login.get("name") or handle)
        people = [(handle, name, "profile")]
        if login.get("pages"):
            people += [(f"{handle}-{slug}", f"{name} {title}", "page") for slug, title in PAGES]
        token = {"access_token": tokens.access_token}  # the login's facts are not secrets to keep
        return [
            Connection(profile=self._profile(h, n), secrets=token, scope=tokens.scope, extra={"account_type": kind})
            for h, n, kind in people
        ]

    def _profile(self, handle: str, display_name: str) -> Profile:
        return Profile(
            external_id=handle,
            username=f"@{handle}",
            display_name=display_name,
            profile_url=f"{settings.SITE_URL}/demo/{handle}",
        )

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        if not account.secrets.get("access_token"):
            raise ProviderError(ErrorClass.AUTH, "Demo network: no session.", code="auth")
        return self._profile(account.external_id, account.username.lstrip("@"))

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        return TextRules(max_length=500, max_media=4, max_image_bytes=5_000_000)

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        """Like a real network: heavy photos fitted, the feed cutting tall and wide ones, one video
        per post with a duration limit."""
        text = self.text_rules(account=account)
        images = FormatRule(IMAGE, "Demo images", text.accepted_mime_types, max_count=text.max_media,
                            max_bytes=text.max_image_bytes, fits=True, feed_aspect_range=(0.8, 1.91))  # fmt: skip
        video = FormatRule(
            VIDEO, "Demo video", ("video/mp4", "video/quicktime", "video/webm"), max_bytes=1_000_000_000,
            duration_range=(0, 600), recommended_aspect="9:16", aspect_range=(0.01, 10),
        )  # fmt: skip
        return MediaRules(platform=self.name, formats=(images, video))

    # --- Publishing ---------------------------------------------------------------------------

    def _latency(self) -> None:
        base = float(_setting("DEMO_LATENCY_MS")) / 1000
        if base:
            time.sleep(random.uniform(base * 0.5, base * 1.5))  # noqa: S311 - simulation, not security

    def _maybe_fail(self, text: str) -> None:
        for word, error in FORCED.items():
            if word in text:
                raise error
        if random.random() < float(_setting("DEMO_FAILURE_RATE")):  # noqa: S311
            error_class = random.choice(RANDOM_FAILURES)  # noqa: S311
            raise ProviderError(error_class, f"Demo network: a simulated {error_class.value} failure.", code="random")

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        self._latency()
        self._maybe_fail(part.content.text)
        pending = self._upload_videos(part)
        if pending is not None:
            return pending
        parent = None
        if part.parent is not None:
            parent = DemoPost.objects.filter(post_id=part.parent.platform_post_id).first()
        post = self._create(account, part.content.text, key=part.key, parent=parent)
        if "#fail-unknown" in part.content.text:
            raise ProviderError(
                ErrorClass.TRANSIENT, "Demo network: timed out waiting for the answer.", outcome_unknown=True
            )
        return DemoPost.as_item(post)

    def _upload_videos(self, part: PartRequest) -> Pending | None:
        """Like a real platform's video path: a chunked, resumable upload (its offset kept in the
        engine's upload store), then processing that takes DEMO_VIDEO_PROCESSING_SECONDS."""
        videos = [item for item in part.content.media if item.mime_type.startswith("video/")]
        if not videos:
            return None
        for item in videos:
            self._upload_chunks(part, item)
        ready_at = float(part.state.get("ready_at") or time.time() + float(_setting("DEMO_VIDEO_PROCESSING_SECONDS")))
        if time.time() < ready_at:
            return Pending(
                reason="Demo network is processing the video",
                state={"ready_at": ready_at},
                check_in_s=min(5.0, ready_at - time.time()),
            )
        return None

    def _upload_chunks(self, part: PartRequest, item: MediaItem) -> None:
        key = f"video:{item.filename}:{item.size}"
        session = part.uploads.load(key) or {"offset": 0, "sha256": hashlib.sha256().hexdigest()}
        offset = int(session["offset"])
        if offset >= item.size:
            return
        with item.open() as stream:
            stream.seek(offset)
            while offset < item.size:
                chunk = stream.read(min(DEMO_CHUNK_BYTES, item.size - offset))
                if not chunk:
                    raise ProviderError(ErrorClass.CONTENT, f"{item.filename} ended before its size.", code="short")
                offset += len(chunk)
                part.uploads.save(key, {"offset": offset})

    def _create(self, account: AccountState, text: str, *, key: str, parent: DemoPost | None) -> DemoPost:
        """Like a platform honouring an idempotency key: the same key returns the same post."""
        if key:
            existing = DemoPost.objects.filter(account_external_id=account.external_id, idempotency_key=key).first()
            if existing:
                return existing
        try:
            with transaction.atomic():
                return DemoPost.objects.create(
                    account_external_id=account.external_id,
                    text=text,
                    idempotency_key=key or secrets.token_hex(8),
                    parent=parent,
                )
        except IntegrityError:
            return DemoPost.objects.get(account_external_id=account.external_id, idempotency_key=key)

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        post = DemoPost.objects.filter(account_external_id=account.external_id, idempotency_key=part.key).first()
        return DemoPost.as_item(post) if post else None

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        DemoPost.objects.filter(account_external_id=account.external_id, post_id=platform_post_id).delete()

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        posts = DemoPost.objects.filter(account_external_id=account.external_id, post_id__in=list(platform_post_ids))
        return {post.post_id: growing_metrics(post.post_id, post.created_at) for post in posts}

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        """The account's posts, newest first, a page at a time; the cursor is the last one's row."""
        self._latency()
        invent_history(account.external_id, count=_setting("DEMO_PAST_POSTS"))
        posts = DemoPost.objects.filter(account_external_id=account.external_id).select_related("parent")
        if cursor:
            if not cursor.isdigit():
                raise ProviderError(ErrorClass.CONTENT, "That is not a Demo page cursor.", code="bad_cursor")
            posts = posts.filter(pk__lt=int(cursor))
        page = list(posts.order_by("-pk")[:IMPORT_PAGE_SIZE])
        items = tuple(_imported(post) for post in page)
        return PostPage(items=items, next_cursor=str(page[-1].pk) if len(page) == IMPORT_PAGE_SIZE else "")

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        now = timezone.now()
        posts = list(
            DemoPost.objects.filter(account_external_id=account.external_id)
            .order_by("-created_at")
            .values_list("post_id", "created_at")[:ACCOUNT_POSTS_COUNTED]
        )
        reaches = (post_counts(post_id, created_at, now)["reach_count"] for post_id, created_at in posts)
        total = DemoPost.objects.filter(account_external_id=account.external_id, parent=None).count()
        counts = account_counts(account.external_id, reaches, total)
        return AccountMetrics.from_platform(counts, ACCOUNT_METRIC_NAMES)


ACCOUNT_POSTS_COUNTED = 500  # followers grow with the reach of the latest posts (a bounded read)


IMPORT_PAGE_SIZE = 20
PAST_TOPICS = ("a quiet release", "what we learned this week", "a photo from the office", "a customer story",
               "the roadmap", "a tip for new users", "a bug we fixed", "our team offsite")  # fmt: skip


def invent_history(external_id: str, *, count: int) -> None:
    """Once per account: ``count`` posts spread over the past months, as if written before it
    connected (their keys mark them, so asking again invents nothing)."""
    if not count or DemoPost.objects.filter(account_external_id=external_id, idempotency_key="history-0").exists():
        return
    now = timezone.now()
    for n in range(count):
        post = DemoPost.objects.create(
            account_external_id=external_id,
            idempotency_key=f"history-{n}",
            text=f"Looking back: {PAST_TOPICS[n % len(PAST_TOPICS)]} (#{count - n})",
        )
        # auto_now_add sets the moment of creation: move it back to when it "was posted".
        DemoPost.objects.filter(pk=post.pk).update(created_at=now - timedelta(days=3 * (count - n), hours=n % 7))


def _imported(post: DemoPost) -> ImportedItem:
    parent = post.parent
    return ImportedItem(
        platform_post_id=post.post_id,
        url=post.url,
        text=post.text,
        published_at=post.created_at,
        reply_to=parent.post_id if parent else "",
    )


def growing_metrics(post_id: str, created_at: datetime) -> PostMetrics:
    """Deterministic per post and moment, rising quickly at first and then levelling off."""
    return PostMetrics.from_platform(post_counts(post_id, created_at, timezone.now()), METRIC_NAMES)
