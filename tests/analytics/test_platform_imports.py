"""Importing past posts from the OAuth platforms through the real import runs, against recorded
answers in the platforms' shapes: two pages, a worker that dies between them, and the platforms'
rate and usage answers meanwhile."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.cache import cache
from django.utils import timezone

from analytics.imports import import_queue, import_run, import_runs_claim_due
from analytics.models import ImportRun
from connections.models import SocialAccount
from connections.providers.base import AccountState
from publishing.models import Post, Target, TargetPart
from tests.connections.meta_graph import GRAPH, PAGE_ID, error, page_account
from tests.connections.test_facebook import mock_published_posts
from tests.connections.test_threads import API as THREADS_API
from tests.connections.test_threads import USER as THREADS_USER
from tests.connections.test_threads import account as threads_account
from tests.connections.test_threads import mock_own_threads

S = ImportRun.Status
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # the recorded posts are within the import's year


class WorkerDied(BaseException):
    """The process killed mid-run: nothing after this line runs, no handler sees it."""


@pytest.fixture(autouse=True)
def _quiet(time_machine):
    time_machine.move_to(NOW, tick=True)
    cache.clear()  # Meta's usage readings live in the cache
    yield
    cache.clear()


def connected(team, platform: str, state: AccountState) -> SocialAccount:
    return SocialAccount.objects.create(
        workspace=team.workspace, platform=platform, external_id=state.external_id, username=state.username,
        secrets=dict(state.secrets), extra=dict(state.extra),
    )  # fmt: skip


def queued(account: SocialAccount) -> ImportRun:
    return import_queue(account=account, enqueue=False)


def dies_on_the_second_page(monkeypatch, provider_class) -> list[str]:
    real, cursors = provider_class.list_posts, []

    def list_posts(self, *, account, cursor=""):
        cursors.append(cursor)
        if len(cursors) == 2:
            raise WorkerDied
        return real(self, account=account, cursor=cursor)

    monkeypatch.setattr(provider_class, "list_posts", list_posts)
    return cursors


def resumed_after_the_crash(run: ImportRun) -> ImportRun:
    """The lease lapses and the dispatcher hands the run out again; it runs to its end (the
    test broker runs the task at once; the direct call after it finds nothing left to do)."""
    ImportRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert import_runs_claim_due() == [run.pk]
    import_run(run_id=run.pk)
    run.refresh_from_db()
    return run


def asked_cursors(url: str) -> list[str | None]:
    found = []
    for call in responses.calls:
        if call.request.url.split("?")[0] == url:
            found.append(parse_qs(urlsplit(call.request.url).query).get("after", [None])[0])
    return found


# --- Facebook Pages ----------------------------------------------------------------------------


def test_a_page_import_resumes_from_the_stored_cursor_after_a_crash(team, monkeypatch):
    from connections.providers.meta.facebook import FacebookProvider

    account = connected(team, "facebook", page_account())
    mock_published_posts()
    cursors = dies_on_the_second_page(monkeypatch, FacebookProvider)
    run = queued(account)
    with pytest.raises(WorkerDied):
        import_run(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.pages, run.imported, run.cursor) == (S.RUNNING, 1, 2, "QVFIUjRfcE5uV3dNdUFjZAw")
    run = resumed_after_the_crash(run)
    assert cursors[2] == "QVFIUjRfcE5uV3dNdUFjZAw"  # where the committed page left off
    assert (run.status, run.pages, run.imported, run.skipped) == (S.COMPLETED, 2, 3, 0)
    assert asked_cursors(f"{GRAPH}/{PAGE_ID}/published_posts") == [None, "QVFIUjRfcE5uV3dNdUFjZAw"]
    reel = Target.objects.get(account=account, platform_post_id=f"{PAGE_ID}_1001")
    assert reel.url == "https://www.facebook.com/reel/889900112233/"  # Meta's relative path, made whole
    photo = TargetPart.objects.get(target__account=account, platform_post_id=f"{PAGE_ID}_1002")
    assert photo.facts["media"][0]["url"].startswith("https://scontent-ams4-1.xx.fbcdn.net/")
    assert photo.target.post.contents.get().text == "Our winter opening hours are up: see you Saturday!"
    assert photo.target.post.scheduled_at == datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    assert Post.objects.filter(origin=Post.Origin.IMPORTED).count() == 3


def test_a_page_near_its_usage_limit_holds_the_import_back(team):
    """Meta's usage header on the first page says the Page is at 93 %: the next page waits
    (analytics may not spend what publishing needs), and nothing more is asked meanwhile."""
    account = connected(team, "facebook", page_account())
    usage = {PAGE_ID: [{"type": "pages", "call_count": 93, "total_cputime": 20, "total_time": 25,
                        "estimated_time_to_regain_access": 0}]}  # fmt: skip
    mock_published_posts(headers={"x-business-use-case-usage": json.dumps(usage)})
    run = import_run(run_id=queued(account).pk, pages=5)
    assert (run.status, run.pages, run.imported) == (S.QUEUED, 1, 2)
    assert run.next_attempt_at > timezone.now() + timedelta(seconds=60)
    assert len(responses.calls) == 1
    assert import_runs_claim_due() == []  # not before the hold ends


def test_a_page_rate_limit_waits_as_long_as_meta_says(team):
    account = connected(team, "facebook", page_account())
    usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "total_cputime": 30, "total_time": 40,
                        "estimated_time_to_regain_access": 7}]}  # fmt: skip
    responses.add(responses.GET, f"{GRAPH}/{PAGE_ID}/published_posts", status=400,
                  json=error(32, message="(#32) Page request limit reached"),
                  headers={"x-business-use-case-usage": json.dumps(usage)})  # fmt: skip
    run = import_run(run_id=queued(account).pk)
    assert (run.status, run.pages, run.failures) == (S.QUEUED, 0, 0)
    wait = (run.next_attempt_at - timezone.now()).total_seconds()
    assert 7 * 60 - 5 < wait <= 7 * 60  # Meta's estimate is in minutes
    assert run.cursor == ""  # it starts again from the newest page


# --- Threads -----------------------------------------------------------------------------------


def test_a_threads_import_skips_reposts_and_resumes_after_a_crash(team, monkeypatch):
    from connections.providers.meta.threads import ThreadsProvider

    account = connected(team, "threads", threads_account())
    mock_own_threads()
    cursors = dies_on_the_second_page(monkeypatch, ThreadsProvider)
    run = queued(account)
    with pytest.raises(WorkerDied):
        import_run(run_id=run.pk)
    run.refresh_from_db()
    assert (run.pages, run.imported, run.cursor) == (1, 2, "QVFIUmlKNHpPUWRBUnl1")
    run = resumed_after_the_crash(run)
    assert cursors[2] == "QVFIUmlKNHpPUWRBUnl1"
    assert (run.status, run.imported) == (S.COMPLETED, 3)
    ids = set(Target.objects.filter(account=account).values_list("platform_post_id", flat=True))
    assert ids == {"18050206876707110", "18041234567890123", "18012345678901234"}  # not the repost
    video = TargetPart.objects.get(target__account=account, platform_post_id="18012345678901234")
    assert video.facts["media"] == [{"url": "https://scontent-iad3-1.cdninstagram.com/o1/v/t16/f1/m69/chase.mp4?efg=eyJ2",
                                     "alt": "", "kind": "video"}]  # fmt: skip


def test_a_threads_account_near_its_usage_limit_holds_the_import_back(team):
    account = connected(team, "threads", threads_account())
    usage = {THREADS_USER: [{"type": "instagram", "call_count": 12, "total_cputime": 91, "total_time": 40,
                             "estimated_time_to_regain_access": 0}]}  # fmt: skip
    mock_own_threads(headers={"x-business-use-case-usage": json.dumps(usage)})
    run = import_run(run_id=queued(account).pk, pages=5)
    assert (run.status, run.pages) == (S.QUEUED, 1)
    assert run.next_attempt_at > timezone.now() + timedelta(seconds=60)
    assert [c.request.url.split("?")[0] for c in responses.calls] == [f"{THREADS_API}/{THREADS_USER}/threads"]


# --- YouTube -----------------------------------------------------------------------------------


def test_a_channel_import_counts_its_units_and_skips_what_nobody_sees(team):
    from connections.providers.youtube import api as youtube_api
    from tests.connections.youtube_api import account as channel_account
    from tests.connections.youtube_api import mock_uploads

    account = connected(team, "youtube", channel_account())
    mock_uploads()
    run = import_run(run_id=queued(account).pk)
    assert (run.status, run.pages, run.imported) == (S.COMPLETED, 2, 3)  # not the private nor the deleted one
    assert youtube_api.quota_used("p-test") == 3  # channels.list and two playlistItems.list, 1 unit each
    assert set(Target.objects.filter(account=account).values_list("platform_post_id", flat=True)) == {
        "Ks-_Mh1QhMc", "Un1isTed00A", "F1rstVl0g00"}  # fmt: skip


def test_a_channel_import_waits_while_the_quota_left_is_the_uploads_share(team, settings):
    from connections.providers.youtube import api as youtube_api
    from tests.connections.youtube_api import account as channel_account

    settings.YOUTUBE_QUOTA_UNITS_PER_DAY, settings.ANALYTICS_BUDGET_RESERVE = 10_000, 0.2
    account = connected(team, "youtube", channel_account())
    youtube_api.quota_spend(youtube_api.Ledger("p-test"), 8_000)  # 2,000 left: all of it kept for uploads
    run = import_run(run_id=queued(account).pk)
    assert (run.status, run.pages) == (S.QUEUED, 0)
    assert not responses.calls
    wait = (run.next_attempt_at - timezone.now()).total_seconds()
    assert abs(wait - youtube_api.seconds_to_pacific_midnight()) < 5  # until the quota resets
    assert youtube_api.quota_used("p-test") == 8_000


# --- TikTok ------------------------------------------------------------------------------------


def test_a_tiktok_import_resumes_from_the_stored_cursor_after_a_crash(team, monkeypatch):
    from connections.providers.tiktok.provider import TikTokProvider
    from tests.connections.tiktok_api import account as creator_account
    from tests.connections.tiktok_api import mock_video_list

    account = connected(team, "tiktok", creator_account())
    mock_video_list()
    cursors = dies_on_the_second_page(monkeypatch, TikTokProvider)
    run = queued(account)
    with pytest.raises(WorkerDied):
        import_run(run_id=run.pk)
    run.refresh_from_db()
    assert (run.pages, run.imported, run.cursor) == (1, 2, "1795852800000")
    run = resumed_after_the_crash(run)
    assert cursors[2] == "1795852800000"
    assert (run.status, run.imported, run.skipped) == (S.COMPLETED, 3, 0)
    bodies = [json.loads(c.request.body) for c in responses.calls]
    assert bodies == [{"max_count": 20}, {"max_count": 20, "cursor": 1795852800000}]


def test_a_tiktok_rate_limit_defers_the_import_to_its_retry_after(team):
    from tests.connections.tiktok_api import OPEN, failure
    from tests.connections.tiktok_api import account as creator_account

    account = connected(team, "tiktok", creator_account())
    responses.add(responses.POST, f"{OPEN}/video/list/", status=429, headers={"Retry-After": "42"},
                  json=failure("rate_limit_exceeded", "Rate limit exceeded"))  # fmt: skip
    run = import_run(run_id=queued(account).pk)
    assert (run.status, run.pages, run.failures) == (S.QUEUED, 0, 0)
    assert 37 < (run.next_attempt_at - timezone.now()).total_seconds() <= 42


# --- Google Business Profile -------------------------------------------------------------------


def test_a_location_import_is_paced_per_profile_and_resumes_after_a_crash(team, monkeypatch, time_machine):
    from connections.providers.google_business.provider import GoogleBusinessProvider
    from tests.connections.google_business_api import LOCAL_POSTS, NEXT_PAGE, mock_local_posts
    from tests.connections.test_google_business import state as location_state

    account = connected(team, "google_business", location_state())
    mock_local_posts()
    run = import_run(run_id=queued(account).pk)
    # Ten calls a minute per profile, shared with publishing: the next page waits its six seconds.
    assert (run.status, run.pages, run.imported) == (S.QUEUED, 1, 2)  # the rejected post is left out
    assert 5 < (run.next_attempt_at - timezone.now()).total_seconds() <= 6
    time_machine.shift(timedelta(seconds=7))
    cursors = dies_on_the_second_page(monkeypatch, GoogleBusinessProvider)
    cursors.append("(the first page, before this worker)")
    with pytest.raises(WorkerDied):
        import_run(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.pages, run.cursor) == (S.RUNNING, 1, NEXT_PAGE)
    ImportRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    time_machine.shift(timedelta(seconds=7))  # the dead worker's call took the profile's slot
    assert import_runs_claim_due() == [run.pk]  # handed out again (the test's broker runs it at once)
    run.refresh_from_db()
    assert cursors[2] == NEXT_PAGE
    assert (run.status, run.pages, run.imported) == (S.COMPLETED, 2, 3)
    tokens = [urlsplit(c.request.url).query for c in responses.calls if c.request.url.startswith(LOCAL_POSTS)]
    assert tokens == ["pageSize=100", f"pageSize=100&pageToken={NEXT_PAGE}"]


# --- Offered on demand -------------------------------------------------------------------------


def test_an_oauth_account_is_offered_an_import_on_the_accounts_page_and_it_runs(
    team, django_capture_on_commit_callbacks
):
    """A consent redirect leaves the connect page, so its opt-in box cannot travel with it; the
    Accounts page offers the import instead, and starting it there works for these platforms."""
    from django.urls import reverse

    from tests.connections.test_tiktok import account as creator_account
    from tests.connections.tiktok_api import mock_video_list

    account = connected(team, "tiktok", creator_account())
    page = team.client("admin").get(reverse("connections")).content.decode()
    assert "Import past posts" in page
    assert "Just connected: bring in what it posted before?" in page
    with django_capture_on_commit_callbacks(execute=False):
        team.client("admin").post(reverse("import_start", args=[account.pk]))
    run = ImportRun.objects.get(account=account)
    mock_video_list()
    import_run(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.imported) == (S.COMPLETED, 3)


@pytest.mark.parametrize(
    "platform", ["facebook", "instagram", "instagram_login", "threads", "tiktok", "youtube", "google_business"]
)
def test_every_platform_here_offers_its_import_after_the_consent_not_in_the_connect_form(team, platform):
    from django.urls import reverse

    from connections.registry import get_provider
    from connections.views import _offers_import

    provider = get_provider(platform)
    assert provider.supports_import
    assert not _offers_import(provider, None)  # a consent redirect: no opt-in box to carry through it
    state = AccountState(external_id=f"{platform}-1", username=f"@{platform}", secrets={"access_token": "t"})
    account = connected(team, platform, state)
    page = team.client("admin").get(reverse("connections")).content.decode()
    assert reverse("import_start", args=[account.pk]) in page
