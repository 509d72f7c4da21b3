"""The provider contract suite: every platform's tests subclass ProviderContract.

A subclass names its provider and supplies recorded platform responses (in the platforms' real
shapes, from ../shared/reference/) through the ``mock_*`` hooks; the suite then runs the same
connect, health-check, refresh, revoke, error-classification and publish tests on every
platform, and the per-part scenarios through ``install_thread_platform``.

What a test covers follows the provider's declarations, never what happens to be implemented:
a test skips only where the provider declares it lacks the capability (``supports_refresh =
False``), and a declared capability whose hook the subclass does not supply fails, naming the
hook, so a new platform cannot pass the suite by leaving hooks out.
"""

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

import pytest
import requests
import responses

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    AppCredentials,
    Connection,
    ContentPart,
    PostMetrics,
    Provider,
    PublishRequest,
    TextRules,
)
from connections.registry import get_provider
from tests.connections.publishing import publish_all

APP = AppCredentials(client_id="client-123", client_secret="secret-456", scopes=(), source="instance")


class Refused(Exception):
    """Raised by a ThreadPlatform create the platform refuses (the adapter answers in its words)."""


class Lost(Exception):
    """Raised by a ThreadPlatform create that landed but whose answer never arrives."""


@dataclass
class ThreadPlatform:
    """The platform's side of the per-part scenarios, as a provider's adapter serves it: what
    exists, what each post answers, and which creates are refused or lose their answer (once)."""

    posts: list[dict] = field(default_factory=list)  # {"id", "text", "parent", "key"}
    refuse_once: set[str] = field(default_factory=set)  # texts refused the next time they are created
    lose_once: set[str] = field(default_factory=set)  # texts that land but whose answer is lost
    creates: Counter = field(default_factory=Counter)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1001))

    def create(self, *, text: str, parent: str | None, key: str = "", id_: str | None = None) -> dict:
        self.creates[text] += 1
        if text in self.refuse_once:
            self.refuse_once.discard(text)
            raise Refused(f"{text!r} breaks the rules")
        post = {"id": id_ or str(next(self._ids)), "text": text, "parent": parent, "key": key,
                "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z")}  # the platform's clock  # fmt: skip
        self.posts.append(post)
        if text in self.lose_once:
            self.lose_once.discard(text)
            raise Lost(text)
        return post

    def find(self, **match) -> dict | None:
        return next((p for p in self.posts if all(p.get(k) == v for k, v in match.items())), None)

    def by_text(self, text: str) -> list[dict]:
        return [p for p in self.posts if p["text"] == text]


LOST = requests.ReadTimeout("read timed out (the scenario lost this answer)")


# --- Per-part delivery through the real engine (every provider) -----------------------------------


class PerPartScenarios:
    """A thread is as irreversible as the main post: each part lands once, a retry resumes at the
    first part that has not landed, and a lost answer is reconciled for that part, not the main
    one. Mixed into ProviderContract; runs the engine and the services for real."""

    @pytest.fixture
    def thread(self, provider, team, django_capture_on_commit_callbacks, monkeypatch):
        platform = ThreadPlatform()
        self.install_thread_platform(platform, monkeypatch)
        return _ThreadRun(self, team, platform, django_capture_on_commit_callbacks)

    def test_reply_refused_after_the_main_post_landed_then_retry_creates_no_second_main_post(self, thread):
        thread.platform.refuse_once.add("Reply 1")
        target = thread.publish(["Main", "Reply 1", "Reply 2"])
        assert target.status == "failed"
        assert [p.status for p in target.parts.order_by("position")] == ["published", "failed", "pending"]
        assert target.error_message.startswith("Posted; reply 1 refused:")
        target.post.refresh_from_db()
        assert target.post.status == "partially_published"
        thread.retry(target)
        target.refresh_from_db()
        assert target.status == "published"
        platform = thread.platform
        assert platform.creates["Main"] == 1, "a retry must not create the main post again"
        (main,) = platform.by_text("Main")
        (reply_1,) = platform.by_text("Reply 1")
        (reply_2,) = platform.by_text("Reply 2")
        assert (reply_1["parent"], reply_2["parent"]) == (main["id"], reply_1["id"])

    def test_answer_to_reply_2_lost_is_reconciled_and_reply_3_follows_it(self, thread, provider):
        if not provider.supports_lookup:
            pytest.skip("no lookup: the author is asked instead (test_unknown_without_lookup_asks_the_author)")
        thread.platform.lose_once.add("Reply 2")
        target = thread.publish(["Main", "Reply 1", "Reply 2", "Reply 3"])
        # A provider may settle the doubt itself at once (Bluesky reads the record key back);
        # otherwise the part waits, unknown, for the engine's reconciliation.
        if target.status != "published":
            assert target.status == "unknown"
            statuses = [p.status for p in target.parts.order_by("position")]
            assert statuses == ["published", "published", "unknown", "pending"]
            assert thread.claim_due() == [], "a part in doubt is never re-sent blindly"
            thread.reconcile()
            thread.claim_due()
            target.refresh_from_db()
        assert target.status == "published"
        platform = thread.platform
        (reply_2,) = platform.by_text("Reply 2")
        (reply_3,) = platform.by_text("Reply 3")
        assert platform.creates["Reply 2"] == 1
        assert reply_3["parent"] == reply_2["id"]
        assert target.parts.get(position=2).platform_post_id

    def test_first_comment_answers_the_main_post(self, thread):
        target = thread.publish(["Main", "Reply 1"], first_comment="First comment")
        assert target.status == "published"
        (main,) = thread.platform.by_text("Main")
        (comment,) = thread.platform.by_text("First comment")
        assert comment["parent"] == main["id"]


class _ThreadRun:
    def __init__(self, contract: "ProviderContract", team, platform: ThreadPlatform, capture) -> None:
        self.contract, self.team, self.platform, self.capture = contract, team, platform, capture
        self.editor = team.membership("editor")

    def account(self):
        from connections.providers.base import Connection, Profile
        from connections.services import account_save

        state = self.contract.account()
        connection = Connection(
            profile=Profile(external_id=state.external_id, username=state.username),
            secrets=dict(state.secrets), instance_url=state.instance_url, extra=dict(state.extra),
        )  # fmt: skip
        platform = self.contract.provider_id
        return account_save(workspace=self.team.workspace, platform=platform, connection=connection, user=None)

    def publish(self, texts: list[str], first_comment: str = ""):
        from publishing.models import PostContent
        from publishing.services import PartInput, PostInput, When, post_create

        parts = [PartInput(text=texts[0])] + [PartInput(text=t, kind=PostContent.Kind.REPLY) for t in texts[1:]]
        if first_comment:
            parts.append(PartInput(text=first_comment, kind=PostContent.Kind.FIRST_COMMENT))
        options = self.contract.thread_options
        overrides = {self.contract.provider_id: {"options": dict(options)}} if options else {}
        data = PostInput(parts=parts, account_ids=[self.account().id], when=When.now(), overrides=overrides)
        post = post_create(actor=self.editor, data=data)
        self.claim_due()
        return post.targets.get()

    def claim_due(self) -> list[int]:
        from publishing import engine

        with self.capture(execute=True):
            return engine.targets_claim_due()

    def reconcile(self) -> list[int]:
        from publishing import engine

        with self.capture(execute=True):
            return engine.targets_claim_reconcile()

    def retry(self, target) -> None:
        from publishing.services import target_retry

        target_retry(actor=self.editor, target=target)
        self.claim_due()


def _missing(hook: str, why: str = "") -> AssertionError:
    return AssertionError(f"the provider's contract test class must supply {hook}(){why}")


class ProviderContract(PerPartScenarios):
    provider_id: str
    # Per-post options the per-part scenarios' posts carry, for platforms that require a choice
    # (the subreddit a Reddit post goes to).
    thread_options: ClassVar[dict[str, str]] = {}

    # --- hooks a provider's test class supplies ------------------------------------------------

    def connect(self) -> list[Connection]:
        """Mock the connect step's responses and perform it (code exchange or credential form)."""
        raise _missing("connect")

    def account(self) -> AccountState:
        """A connected account's state as stored after ``connect``."""
        raise _missing("account")

    def mock_check(self) -> None:
        """Register a successful check response (for providers declaring supports_check)."""
        raise _missing("mock_check", " (the provider declares supports_check)")

    def mock_refresh(self) -> None:
        """Register a successful refresh response (for providers declaring supports_refresh)."""
        raise _missing("mock_refresh", " (the provider declares supports_refresh)")

    def mock_revoke(self) -> None:
        """Register the revocation response (for providers declaring supports_revoke)."""
        raise _missing("mock_revoke", " (the provider declares supports_revoke)")

    def error_cases(self) -> list[tuple[str, Callable[[], None], ErrorClass]]:
        """(label, register a failing response for the check call, expected class)."""
        return []

    def mock_publish_text(self) -> str:
        """Register responses for publishing a text post; return the expected platform post id."""
        raise _missing("mock_publish_text")

    def mock_delete(self) -> tuple[str, Callable[[], bool]]:
        """Register the answer to deleting a post (for providers declaring supports_delete);
        return its platform id and a check that the platform was asked to remove it."""
        raise _missing("mock_delete", " (the provider declares supports_delete)")

    def mock_metrics(self) -> tuple[str, PostMetrics]:
        """Register one post's counts in the platform's shape (for providers declaring
        supports_metrics); return its platform id and the metrics they mean."""
        raise _missing("mock_metrics", " (the provider declares supports_metrics)")

    def mock_account_metrics(self) -> AccountMetrics:
        """Register the account's counts in the platform's shape (for providers declaring
        supports_account_metrics); return the metrics they mean."""
        raise _missing("mock_account_metrics", " (the provider declares supports_account_metrics)")

    def mock_list_posts(self) -> tuple[list[str], list[str]]:
        """Register two pages of the account's own posts in the platform's shape (for providers
        declaring supports_import): the first also holding what is not the account's own post
        where the platform lists such things (a repost, a reply to somebody else), the second
        the last. Return the platform ids each page must yield, in order."""
        raise _missing("mock_list_posts", " (the provider declares supports_import)")

    def install_thread_platform(self, platform: ThreadPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
        """Serve ``platform`` in the provider's real request and response shapes: creating posts
        (raising Refused as the platform's content refusal, Lost as a lost answer) and, where the
        provider declares supports_lookup, whatever its find_part reads."""
        raise _missing("install_thread_platform")

    # --- the suite ----------------------------------------------------------------------------

    @pytest.fixture
    def provider(self, db) -> Provider:
        return get_provider(self.provider_id)

    def test_registered_with_a_name(self, provider):
        assert provider.id == self.provider_id
        assert provider.name

    def test_connect_yields_a_profile_and_secrets(self, provider):
        connections = self.connect()
        assert connections, "connect must yield at least one account"
        for connection in connections:
            assert connection.profile.external_id
            assert connection.profile.username
            assert connection.secrets, "an account without secrets cannot act"

    def test_check_returns_the_profile(self, provider):
        if not provider.supports_check:
            pytest.skip("no check")
        self.mock_check()
        profile = provider.check(app=APP, account=self.account())
        assert profile.username

    def test_refresh_returns_new_tokens(self, provider):
        if not provider.supports_refresh:
            pytest.skip("no refresh")
        self.mock_refresh()
        tokens = provider.refresh(app=APP, account=self.account())
        assert tokens.access_token

    def test_revoke_calls_the_platform(self, provider):
        if not provider.supports_revoke:
            pytest.skip("no revocation")
        self.mock_revoke()
        provider.revoke(app=APP, account=self.account())
        assert responses.calls, "revoke must reach the platform"

    def test_errors_are_classified(self, provider):
        if not provider.supports_check:
            pytest.skip("the cases are played through check(), which this provider does not offer")
        cases = self.error_cases()
        if not cases:
            pytest.skip("no recorded error cases")
        for label, register, expected in cases:
            responses.reset()
            register()
            with pytest.raises(ProviderError) as caught:
                provider.check(app=APP, account=self.account())
            assert caught.value.error_class == expected, label
            assert caught.value.message, f"{label}: the platform's message must be kept"

    def test_text_rules(self, provider):
        rules = provider.text_rules(account=self.account())  # not optional: the composer checks them
        assert isinstance(rules, TextRules)
        assert rules.max_length > 0

    def test_publish_text(self, provider):
        expected_id = self.mock_publish_text()
        result = publish_all(
            provider,
            account=self.account(),
            request=PublishRequest(main=ContentPart(text="Hello"), idempotency_key="t-1"),
        )
        assert result.main.platform_post_id == expected_id
        assert result.main.url

    def test_delete_reaches_the_platform(self, provider):
        if not provider.supports_delete:
            pytest.skip("no deletion")
        post_id, removed = self.mock_delete()
        provider.delete(account=self.account(), platform_post_id=post_id)
        assert removed(), "delete must ask the platform to remove the post"

    def test_metrics_are_read_per_post(self, provider):
        if not provider.supports_metrics:
            pytest.skip("no metrics")
        post_id, expected = self.mock_metrics()
        metrics = provider.fetch_metrics(account=self.account(), platform_post_ids=[post_id])
        assert metrics == {post_id: expected}

    def test_account_metrics_are_read(self, provider):
        if not provider.supports_account_metrics:
            pytest.skip("no account metrics")
        expected = self.mock_account_metrics()
        assert provider.fetch_account_metrics(account=self.account()) == expected

    def test_list_posts_pages_through_the_accounts_own_posts(self, provider):
        if not provider.supports_import:
            pytest.skip("no import")
        first_ids, second_ids = self.mock_list_posts()
        first = provider.list_posts(account=self.account())
        assert [item.platform_post_id for item in first.items] == first_ids
        assert first.next_cursor, "a page with more after it names the next one"
        second = provider.list_posts(account=self.account(), cursor=first.next_cursor)
        assert [item.platform_post_id for item in second.items] == second_ids
        assert second.next_cursor == "", "the last page names none"
        for item in (*first.items, *second.items):
            assert item.url.startswith(("https://", "http://"))
            assert item.published_at.tzinfo is not None
