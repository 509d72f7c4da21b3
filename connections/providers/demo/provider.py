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
from typing import Any

from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountState,
    AppCredentials,
    Connection,
    ConnectMethod,
    PostMetrics,
    Profile,
    Provider,
    PublishedItem,
    PublishRequest,
    PublishResult,
    TextRules,
)
from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaRules

FORCED = {
    "#fail-content": ProviderError(
        ErrorClass.CONTENT, "Demo network: this post breaks the demo rules.", code="content"
    ),
    "#fail-rate": ProviderError(ErrorClass.RATE, "Demo network: slow down.", code="rate", status=429, retry_after=30),
    "#fail-transient": ProviderError(ErrorClass.TRANSIENT, "Demo network is having a moment.", code="5xx", status=503),
    "#fail-auth": ProviderError(ErrorClass.AUTH, "Demo network: the session was revoked.", code="auth", status=401),
    "#fail-config": ProviderError(ErrorClass.CONFIG, "Demo network: app not approved.", code="config", status=403),
}
RANDOM_FAILURES = [ErrorClass.TRANSIENT, ErrorClass.RATE, ErrorClass.CONTENT]


class DemoConnectForm(forms.Form):
    display_name = forms.CharField(max_length=80, initial="Demo Creator", label="Display name")
    identifier = forms.SlugField(
        max_length=40, initial="demo-creator", label="Handle", help_text="Letters, numbers and dashes."
    )


class DemoProvider(Provider):
    id = "demo"
    name = "Demo network"
    connect_method = ConnectMethod.INSTANT
    needs_app_credentials = False
    supports_revoke = False
    supports_idempotency_key = True

    def connect_form_class(self) -> type[forms.Form]:
        return DemoConnectForm

    def connect_with_form(self, *, data: Mapping[str, Any]) -> Connection:
        handle = slugify(data.get("identifier") or "demo-creator")
        profile = self._profile(handle, data.get("display_name") or handle)
        # A token, so demo accounts exercise the vault like real ones.
        return Connection(profile=profile, secrets={"access_token": secrets.token_urlsafe(24)})

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
        """Like a real network: heavy photos fitted, one video per post with a duration limit."""
        text = self.text_rules(account=account)
        images = FormatRule(IMAGE, "Demo images", text.accepted_mime_types, max_count=text.max_media,
                            max_bytes=text.max_image_bytes, fits=True)  # fmt: skip
        video = FormatRule(
            VIDEO, "Demo video", ("video/mp4", "video/quicktime", "video/webm"), max_bytes=1_000_000_000,
            duration_range=(0, 600), recommended_aspect="9:16", aspect_range=(0.01, 10),
        )  # fmt: skip
        return MediaRules(platform=self.name, formats=(images, video))

    # --- Publishing ---------------------------------------------------------------------------

    def _latency(self) -> None:
        base = settings.DEMO_LATENCY_MS / 1000
        if base:
            time.sleep(random.uniform(base * 0.5, base * 1.5))  # noqa: S311 - simulation, not security

    def _maybe_fail(self, text: str) -> None:
        for word, error in FORCED.items():
            if word in text:
                raise error
        if random.random() < settings.DEMO_FAILURE_RATE:  # noqa: S311
            error_class = random.choice(RANDOM_FAILURES)  # noqa: S311
            raise ProviderError(error_class, f"Demo network: a simulated {error_class.value} failure.", code="random")

    def publish(self, *, account: AccountState, request: PublishRequest) -> PublishResult:
        from connections.models import DemoPost

        self._latency()
        self._maybe_fail(request.main.text)
        main = self._create(account, request.main.text, key=request.idempotency_key, parent=None)
        if "#fail-unknown" in request.main.text:
            raise ProviderError(
                ErrorClass.TRANSIENT, "Demo network: timed out waiting for the answer.", outcome_unknown=True
            )
        replies, parent = [], main
        for index, part in enumerate(request.replies):
            parent = self._create(account, part.text, key=f"{request.idempotency_key}:r{index}", parent=parent)
            replies.append(parent)
        comment = None
        if request.first_comment:
            comment = self._create(account, request.first_comment.text, key=f"{request.idempotency_key}:c", parent=main)
        as_item = DemoPost.as_item
        return PublishResult(
            main=as_item(main),
            replies=tuple(as_item(r) for r in replies),
            first_comment=as_item(comment) if comment else None,
        )

    def _create(self, account: AccountState, text: str, *, key: str, parent):
        """Like a platform honouring an idempotency key: the same key returns the same post."""
        from connections.models import DemoPost

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

    def find_published(self, *, account: AccountState, request: PublishRequest) -> PublishedItem | None:
        from connections.models import DemoPost

        post = DemoPost.objects.filter(
            account_external_id=account.external_id, idempotency_key=request.idempotency_key
        ).first()
        return DemoPost.as_item(post) if post else None

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        from connections.models import DemoPost

        DemoPost.objects.filter(account_external_id=account.external_id, post_id=platform_post_id).delete()

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        from connections.models import DemoPost

        posts = DemoPost.objects.filter(account_external_id=account.external_id, post_id__in=list(platform_post_ids))
        return {post.post_id: growing_metrics(post.post_id, post.created_at) for post in posts}


def growing_metrics(post_id: str, created_at) -> PostMetrics:
    """Deterministic per post, rising quickly at first and then levelling off, like real reach."""
    seed = int(hashlib.sha256(post_id.encode()).hexdigest()[:8], 16)
    hours = max(0.0, (timezone.now() - created_at).total_seconds() / 3600)
    reach = (1 - 0.5 ** (hours / 6)) * (200 + seed % 800)
    return PostMetrics(
        likes=int(reach * 0.08),
        reposts=int(reach * 0.015),
        replies=int(reach * 0.01),
        quotes=int(reach * 0.003),
        impressions=int(reach),
    )
