"""Each provider's mapping table from its platform's metric names to ours, and the sync engine
reading real-shaped answers: a post a platform has no numbers for yet, a token that stopped
working."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses
from django.utils import timezone

from analytics import sync
from analytics.models import AccountMetricSnapshot, MetricSync, PartMetrics
from connections.models import SocialAccount
from connections.providers.base import EXTRA, POST_METRICS, AccountMetrics, PostMetrics
from connections.providers.bluesky import metrics as bluesky_metrics
from connections.providers.demo import metrics as demo_metrics
from connections.providers.mastodon import metrics as mastodon_metrics
from connections.registry import get_provider
from publishing.models import Post, Target, TargetPart

PAYLOADS = Path(__file__).resolve().parent.parent / "connections" / "payloads"
APPVIEW = "https://public.api.bsky.app/xrpc"
DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
INSTANCE = "https://mastodon.example"
LANDED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def payload(path: str) -> dict:
    return json.loads((PAYLOADS / path).read_text())


def published_parts(account: SocialAccount, ids: list[str]) -> list[TargetPart]:
    """Published parts as the engine leaves them (made directly: these platforms' publishing is
    tested in their own suites)."""
    parts = []
    for platform_id in ids:
        post = Post.objects.create(workspace=account.workspace, status=Post.Status.PUBLISHED)
        target = Target.objects.create(workspace=account.workspace, post=post, account=account,
                                       status=Target.Status.PUBLISHED, finished_at=LANDED)  # fmt: skip
        parts.append(
            TargetPart.objects.create(
                target=target,
                position=0,
                kind="main",
                status=TargetPart.Status.PUBLISHED,
                platform_post_id=platform_id,
                landed_at=LANDED,
            )
        )
    return parts


@pytest.fixture
def bluesky_account(team):
    return SocialAccount.objects.create(
        workspace=team.workspace, platform="bluesky", external_id=DID, username="alice.bsky.social",
        instance_url="https://morel.us-east.host.bsky.network", secrets={"access_token": "a", "refresh_token": "r"},
    )  # fmt: skip


@pytest.fixture
def mastodon_account(team):
    return SocialAccount.objects.create(
        workspace=team.workspace, platform="mastodon", external_id="mastodon.example:109348123",
        username="@alice@mastodon.example", instance_url=INSTANCE, secrets={"access_token": "t"},
    )  # fmt: skip


# --- The tables ---------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [demo_metrics, bluesky_metrics, mastodon_metrics])
def test_every_mapping_table_names_only_our_metrics(module):
    assert set(module.METRIC_NAMES.values()) <= {*POST_METRICS, EXTRA}
    assert set(module.ACCOUNT_METRIC_NAMES.values()) <= {"followers", "following", "posts_count", "views"}


@pytest.mark.parametrize(
    "platform", ["demo", "bluesky", "mastodon", "x", "pinterest", "reddit", "instagram", "facebook"]
)
def test_providers_with_metrics_declare_their_table(platform):
    provider = get_provider(platform)
    assert provider.supports_metrics
    assert provider.metric_names
    assert set(provider.metric_names.values()) <= {*POST_METRICS, EXTRA}


@pytest.mark.parametrize("platform", ["demo", "bluesky", "mastodon", "x", "pinterest", "reddit", "linkedin"])
def test_providers_with_account_metrics_declare_their_table(platform):
    provider = get_provider(platform)
    assert provider.supports_account_metrics
    assert provider.account_metric_names
    assert set(provider.account_metric_names.values()) <= {"followers", "following", "posts_count", "views", EXTRA}


def test_the_demo_table_fills_every_one_of_our_post_metrics():
    assert set(demo_metrics.METRIC_NAMES.values()) == {*POST_METRICS, EXTRA}


def test_a_platform_number_missing_is_none_not_zero():
    table = {"likeCount": "likes", "viewCount": "views", "bookmarkCount": "saves", "pins": EXTRA}
    metrics = PostMetrics.from_platform({"likeCount": 3, "pins": 2, "bookmarkCount": "n/a"}, table)
    assert (metrics.likes, metrics.impressions, metrics.saves, dict(metrics.extra)) == (3, None, None, {"pins": 2})
    assert AccountMetrics.from_platform({"followers_count": True}, {"followers_count": "followers"}).followers is None


def test_extras_a_table_names_fill_our_columns():
    values, extra = sync.post_values(
        PostMetrics(likes=1, extra={"bookmarks": 4, "favorites": 2}), get_provider("x").metric_names
    )
    assert values["saves"] == 4
    assert extra == {"favorites": 2}


# --- Bluesky ------------------------------------------------------------------------------------


def test_bluesky_account_totals_come_from_the_public_profile(bluesky_account):
    responses.add(responses.GET, f"{APPVIEW}/app.bsky.actor.getProfile", json=payload("bluesky/get_profile.json"),
                  match=[responses.matchers.query_param_matcher({"actor": DID})])  # fmt: skip
    totals = get_provider("bluesky").fetch_account_metrics(account=bluesky_account.state())
    assert (totals.followers, totals.following, totals.posts_count, totals.views) == (1204, 311, 2875, None)


def test_bluesky_posts_the_appview_has_not_indexed_yet_are_retried_not_zero(bluesky_account, time_machine):
    time_machine.move_to(LANDED + timedelta(hours=1, seconds=1), tick=False)
    uris = [f"at://{DID}/app.bsky.feed.post/3lbx7qz2abc2{n}" for n in "kl"]
    parts = published_parts(bluesky_account, uris)
    sync.part_syncs_create(TargetPart.objects.filter(id__in=[p.id for p in parts]).select_related("target__account"))
    indexed = {"uri": uris[0], "cid": "bafyreib2", "author": {"did": DID, "handle": "alice.bsky.social"},
               "record": {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-03-02T09:00:00Z"},
               "replyCount": 2, "repostCount": 5, "likeCount": 17, "quoteCount": 1, "bookmarkCount": 3,
               "indexedAt": "2026-03-02T09:00:01.000Z", "labels": []}  # fmt: skip
    responses.add(responses.GET, f"{APPVIEW}/app.bsky.feed.getPosts", json={"posts": [indexed]})
    result = sync.syncs_run()
    assert (result.synced, result.not_yet, result.calls) == (1, 1, 1)
    stored = PartMetrics.objects.get(part=parts[0])
    assert (stored.likes, stored.reposts, stored.replies, stored.quotes, stored.saves) == (17, 5, 2, 1, 3)
    assert (stored.views, stored.reach, stored.clicks, stored.engagement) == (None, None, None, 28)
    assert not PartMetrics.objects.filter(part=parts[1]).exists()
    assert MetricSync.objects.get(part=parts[1]).last_error == sync.NOT_YET


# --- Mastodon -----------------------------------------------------------------------------------


def test_mastodon_account_totals_come_from_verify_credentials(mastodon_account, time_machine):
    responses.add(responses.GET, f"{INSTANCE}/api/v1/accounts/verify_credentials",
                  json=payload("mastodon/verify_credentials.json"))  # fmt: skip
    sync.account_syncs_ensure()
    result = sync.syncs_run()
    assert result.synced == 1
    snapshot = AccountMetricSnapshot.objects.get(account=mastodon_account)
    assert (snapshot.followers, snapshot.following, snapshot.posts_count, snapshot.views) == (10, 5, 100, None)
    row = MetricSync.objects.get(account=mastodon_account, kind="account")
    assert row.due_at == snapshot.taken_at + timedelta(hours=24)


def test_mastodon_statuses_map_to_our_names(mastodon_account, time_machine):
    time_machine.move_to(LANDED + timedelta(hours=2), tick=False)
    (part,) = published_parts(mastodon_account, ["109348200"])
    sync.part_syncs_create([part])
    counts = {"favourites_count": 12, "reblogs_count": 3, "replies_count": 2, "quotes_count": 1}
    status = {**payload("mastodon/status.json"), "id": "109348200", **counts}  # the recorded status
    responses.add(responses.GET, f"{INSTANCE}/api/v1/statuses/109348200", json=status)
    sync.syncs_run()
    stored = PartMetrics.objects.get(part=part)
    assert (stored.likes, stored.reposts, stored.replies, stored.quotes, stored.views) == (12, 3, 2, 1, None)


def test_a_revoked_mastodon_token_pauses_the_accounts_syncs_with_the_reason(mastodon_account, time_machine):
    time_machine.move_to(LANDED + timedelta(hours=2), tick=False)
    parts = published_parts(mastodon_account, ["1", "2"])
    sync.part_syncs_create(TargetPart.objects.filter(id__in=[p.id for p in parts]).select_related("target__account"))
    responses.add(responses.GET, f"{INSTANCE}/api/v1/statuses/1", json={"error": "The access token was revoked"},
                  status=401)  # fmt: skip
    result = sync.syncs_run()
    assert result.failed == 2
    assert result.calls == 1
    mastodon_account.refresh_from_db()
    assert mastodon_account.status == SocialAccount.Status.NEEDS_RECONNECT
    rows = MetricSync.objects.filter(account=mastodon_account)
    assert {row.paused for row in rows} == {True}
    assert all("revoked" in row.last_error for row in rows)
    time_machine.move_to(timezone.now() + timedelta(days=1), tick=False)
    assert sync.syncs_claim() == []


# --- Quotas a platform counts its own way ------------------------------------------------------


@pytest.fixture
def fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield cache
    cache.clear()


def test_youtube_analytics_stops_before_the_units_uploads_need(settings, fresh_cache, db):
    from connections.providers.base import AccountState
    from connections.providers.youtube import api

    settings.YOUTUBE_QUOTA_UNITS_PER_DAY = 1000
    youtube = get_provider("youtube")
    channel = AccountState(external_id="UC1", username="c", secrets={"quota_project": "p1"})
    api.quota_spend(api.Ledger("p1"), 790)
    assert youtube.metrics_hold(account=channel, reserve=0.2) is None
    api.quota_spend(api.Ledger("p1"), 10)  # 800 of 1,000: the last fifth is publishing's
    wait = youtube.metrics_hold(account=channel, reserve=0.2)
    assert wait is not None
    assert 0 < wait <= 24 * 3600  # until YouTube's day resets


def test_meta_analytics_steps_back_before_publishing_would(settings, fresh_cache):
    import requests

    from connections.providers.base import AccountState
    from connections.providers.meta.graph import usage_record

    settings.META_USAGE_SLOWDOWN_PERCENT = 80
    page = AccountState(external_id="1001", username="p", secrets={})
    facebook = get_provider("facebook")

    def answer(percent: int) -> requests.Response:
        response = requests.Response()
        response.headers["x-app-usage"] = json.dumps({"call_count": percent, "total_time": 1, "total_cputime": 1})
        return response

    usage_record(answer(50))
    assert facebook.metrics_hold(account=page, reserve=0.2) is None
    usage_record(answer(70))  # past 80 % of the slow-down mark: publishing still goes, analytics waits
    assert facebook.metrics_hold(account=page, reserve=0.2) == pytest.approx(300.0)
    usage_record(answer(95))  # creates are held: so is analytics, at least as long
    assert facebook.metrics_hold(account=page, reserve=0.2) >= 30


# --- X, Pinterest, Reddit and LinkedIn account totals, through the sync -------------------------


def _x_me() -> None:
    from tests.connections import x_api

    responses.add(responses.GET, x_api.ME_URL, json=x_api.me())


def _pinterest_me() -> None:
    from tests.connections import pinterest_api

    responses.add(responses.GET, pinterest_api.ME_URL, json=pinterest_api.me())


def _reddit_me() -> None:
    from tests.connections import reddit_api

    responses.add(responses.GET, reddit_api.ME_URL, json=reddit_api.me_with_totals())


def _linkedin_followers() -> None:
    from tests.connections import linkedin_api

    linkedin_api.network_size(linkedin_api.ORG, 1234)


@pytest.mark.parametrize(
    ("platform", "external_id", "extra", "mock", "followers", "stored_extra"),
    [
        ("x", "2244994945", {}, _x_me, 1, {"listed_count": 0, "like_count": 5, "media_count": 1}),
        ("pinterest", "549755885175", {}, _pinterest_me, 1200, {"monthly_views": 45000, "board_count": 12}),
        ("reddit", "abc12", {}, _reddit_me, 87, {"total_karma": 1234, "link_karma": 1034, "comment_karma": 200}),
        ("linkedin", "urn:li:organization:5515715", {"kind": "organization"}, _linkedin_followers, 1234, {}),
    ],
)
def test_account_totals_are_stored_with_their_extras(
    team, time_machine, platform, external_id, extra, mock, followers, stored_extra
):
    from django.core.cache import cache

    cache.clear()  # X and Reddit remember spent rate windows
    account = SocialAccount.objects.create(workspace=team.workspace, platform=platform, external_id=external_id,
                                           username="someone", secrets={"access_token": "t"}, extra=extra)  # fmt: skip
    mock()
    sync.account_syncs_ensure()
    assert sync.syncs_run().synced == 1
    snapshot = AccountMetricSnapshot.objects.get(account=account)
    assert snapshot.followers == followers
    assert snapshot.extra == stored_extra


def test_a_linkedin_member_has_no_totals_and_nothing_is_asked(team, time_machine):
    member = SocialAccount.objects.create(workspace=team.workspace, platform="linkedin",
                                          external_id="urn:li:person:782bbtaQ", username="Jane Doe",
                                          secrets={"access_token": "t"}, extra={"kind": "member"})  # fmt: skip
    sync.account_syncs_ensure()
    sync.syncs_run()
    assert not AccountMetricSnapshot.objects.filter(account=member).exists()
    assert not responses.calls  # the member's answer is known without asking LinkedIn
