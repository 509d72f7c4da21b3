from datetime import timedelta

import pytest
from django.utils import timezone

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import AccountMetrics, AccountState, ContentPart, PublishRequest
from connections.providers.demo.models import DemoPost
from connections.providers.demo.provider import growing_metrics
from connections.registry import get_provider
from tests.connections.contract import Lost, ProviderContract, Refused, ThreadPlatform
from tests.connections.publishing import find_main, publish_all


class TestDemoProvider(ProviderContract):
    provider_id = "demo"

    @pytest.fixture(autouse=True)
    def _offered(self, settings):
        settings.DEMO_NETWORK_ENABLED = True  # whatever the environment running the suite says

    def connect(self):
        return [get_provider("demo").connect_with_form(data={"identifier": "ada", "display_name": "Ada"})]

    def account(self) -> AccountState:
        return AccountState(external_id="ada", username="@ada", secrets={"access_token": "t"})

    def mock_account_metrics(self):
        # Two posts of its own and a reply: posts counts the two; with nothing reached yet, the
        # followers and follows are @ada's own starting numbers (fixed by her id: 40 + 460 x and
        # 20 + 180 y, x and y read from a hash), written out so a change to them shows here.
        from connections.providers.demo.models import DemoPost

        first = DemoPost.objects.create(account_external_id="ada", idempotency_key="k1", text="one")
        DemoPost.objects.create(account_external_id="ada", idempotency_key="k2", text="two")
        DemoPost.objects.create(account_external_id="ada", idempotency_key="k3", text="re", parent=first)
        DemoPost.objects.filter(account_external_id="ada").update(created_at=timezone.now())
        return AccountMetrics(followers=122, following=183, posts_count=2, views=0)

    def mock_check(self) -> None:
        pass  # nothing to mock: the demo network is local

    def mock_publish_text(self) -> str:
        return "ignored"

    def mock_delete(self):
        post = DemoPost.objects.create(account_external_id="ada", idempotency_key="d-1", text="Gone soon")
        return post.post_id, lambda: not DemoPost.objects.filter(pk=post.pk).exists()

    def mock_metrics(self):
        post = DemoPost.objects.create(account_external_id="ada", idempotency_key="m-1", text="Counted")
        # A month old: its reach has levelled off, so the counts do not move while the test runs.
        DemoPost.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(days=30))
        post.refresh_from_db()
        return post.post_id, growing_metrics(post.post_id, post.created_at)

    def mock_list_posts(self):
        """The Demo network lists what it holds for the account, 20 to a page, newest first."""
        posts = [DemoPost.objects.create(account_external_id="ada", idempotency_key=f"l-{n}", text=f"post {n}")
                 for n in range(25)]  # fmt: skip
        DemoPost.objects.create(account_external_id="somebody-else", idempotency_key="l-x", text="not ours")
        newest_first = [post.post_id for post in reversed(posts)]
        return newest_first[:20], newest_first[20:]

    def install_thread_platform(self, platform: ThreadPlatform, monkeypatch) -> None:
        """The Demo network keeps its posts in DemoPost; the scenario's platform decides each create."""
        from connections.providers.demo.provider import DemoProvider

        def create(provider, account, text, *, key, parent):
            try:
                post = platform.create(text=text, parent=parent.post_id if parent else None, key=key)
            except Refused as exc:
                raise ProviderError(ErrorClass.CONTENT, f"Demo network: {exc}", code="content") from None
            except Lost:
                landed = platform.find(key=key)
                DemoPost.objects.create(account_external_id=account.external_id, idempotency_key=key, text=text,
                                        parent=parent, post_id=landed["id"])  # fmt: skip
                raise ProviderError(ErrorClass.TRANSIENT, "Demo network: no answer.", outcome_unknown=True) from None
            return DemoPost.objects.create(account_external_id=account.external_id, idempotency_key=key, text=text,
                                           parent=parent, post_id=post["id"])  # fmt: skip

        monkeypatch.setattr(DemoProvider, "_create", create)

    def test_publish_text(self, provider):
        result = publish_all(
            provider, account=self.account(), request=PublishRequest(main=ContentPart("Hello"), idempotency_key="k1")
        )
        post = DemoPost.objects.get()
        assert (result.main.platform_post_id, post.text) == (post.post_id, "Hello")
        assert result.main.url.endswith(post.post_id)


@pytest.fixture
def demo(db):
    return get_provider("demo")


ADA = AccountState(external_id="ada", username="@ada", secrets={"access_token": "t"})


def test_same_idempotency_key_never_posts_twice(demo):
    request = PublishRequest(main=ContentPart("Once"), idempotency_key="target-7")
    first = publish_all(demo, account=ADA, request=request)
    second = publish_all(demo, account=ADA, request=request)
    assert first.main.platform_post_id == second.main.platform_post_id
    assert DemoPost.objects.count() == 1


def test_thread_and_first_comment_reference_the_post(demo):
    request = PublishRequest(
        main=ContentPart("1/3"),
        replies=(ContentPart("2/3"), ContentPart("3/3")),
        first_comment=ContentPart("link in comment"),
        idempotency_key="thread",
    )
    result = publish_all(demo, account=ADA, request=request)
    main = DemoPost.objects.get(post_id=result.main.platform_post_id)
    second = DemoPost.objects.get(post_id=result.replies[0].platform_post_id)
    third = DemoPost.objects.get(post_id=result.replies[1].platform_post_id)
    comment = DemoPost.objects.get(post_id=result.first_comment.platform_post_id)
    assert (second.parent, third.parent, comment.parent) == (main, second, main)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("#fail-content", ErrorClass.CONTENT),
        ("#fail-rate", ErrorClass.RATE),
        ("#fail-transient", ErrorClass.TRANSIENT),
        ("#fail-auth", ErrorClass.AUTH),
        ("#fail-config", ErrorClass.CONFIG),
    ],
)
def test_forced_failures_have_their_class_and_publish_nothing(demo, word, expected):
    with pytest.raises(ProviderError) as caught:
        publish_all(demo, account=ADA, request=PublishRequest(main=ContentPart(f"hi {word}"), idempotency_key="x"))
    assert caught.value.error_class == expected
    assert not DemoPost.objects.exists()


def test_unknown_outcome_lands_and_can_be_found(demo):
    request = PublishRequest(main=ContentPart("lost answer #fail-unknown"), idempotency_key="u-1")
    with pytest.raises(ProviderError) as caught:
        publish_all(demo, account=ADA, request=request)
    assert caught.value.outcome_unknown
    found = find_main(demo, account=ADA, request=request)
    assert found is not None
    assert found.platform_post_id == DemoPost.objects.get().post_id


def test_random_failures_follow_the_configured_rate(demo, settings):
    settings.DEMO_FAILURE_RATE = 1.0
    with pytest.raises(ProviderError) as caught:
        publish_all(demo, account=ADA, request=PublishRequest(main=ContentPart("hi"), idempotency_key="r"))
    assert caught.value.error_class in (ErrorClass.TRANSIENT, ErrorClass.RATE, ErrorClass.CONTENT)


def test_metrics_grow_with_age(demo, time_machine):
    time_machine.move_to("2026-03-01T12:00:00Z", tick=False)
    result = publish_all(demo, account=ADA, request=PublishRequest(main=ContentPart("grow"), idempotency_key="g"))
    post_id = result.main.platform_post_id
    early = demo.fetch_metrics(account=ADA, platform_post_ids=[post_id])[post_id]
    time_machine.shift(24 * 3600)
    later = demo.fetch_metrics(account=ADA, platform_post_ids=[post_id])[post_id]
    assert later.impressions > early.impressions
    assert later.likes >= early.likes


def test_demo_can_be_turned_off(settings, db):
    settings.DEMO_NETWORK_ENABLED = False
    with pytest.raises(KeyError):
        get_provider("demo")
