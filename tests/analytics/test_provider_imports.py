"""Imports from the platforms that page with their own cursors (X, LinkedIn, Pinterest, Reddit),
run end to end against their recorded answers: two pages, a worker that dies between them and
resumes from the stored cursor, and a 429 that waits for the platform's reset."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import responses
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from analytics.imports import import_run, import_runs_claim_due, import_start
from analytics.models import ImportedPost, ImportRun
from connections.models import SocialAccount
from connections.registry import get_provider
from publishing.models import Post, Target
from tests.connections import linkedin_api, pinterest_api, reddit_api, x_api

S = ImportRun.Status


@dataclass(frozen=True)
class Platform:
    """One platform's account as stored, its two recorded pages, and its rate-limit answer."""

    id: str
    external_id: str
    username: str
    mock_pages: Callable[[], None]
    ids: tuple[str, ...]  # what the two pages import, newest first
    limited: Callable[[], None]  # the first page answered with the platform's 429
    secrets: tuple[tuple[str, str], ...] = (("access_token", "t0ken"),)
    extra: tuple[tuple[str, str], ...] = ()


def _x_limited() -> None:
    reset = int(timezone.now().timestamp()) + 120
    x_api.problem(responses.GET, x_api.TIMELINE, x_api.TOO_MANY, 429,
                  headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})()  # fmt: skip


def _reddit_limited() -> None:
    headers = reddit_api.rate_headers(remaining="0.0", reset="240")
    reddit_api.error(responses.GET, reddit_api.SUBMITTED, reddit_api.TOO_MANY, 429, headers=headers)()


def _pinterest_limited() -> None:
    pinterest_api.error(responses.GET, pinterest_api.PINS, pinterest_api.TOO_MANY, 429, {"Retry-After": "90"})()


def _linkedin_limited() -> None:
    linkedin_api.error(responses.GET, linkedin_api.POSTS, linkedin_api.THROTTLED, 429)()


PLATFORMS = [
    Platform(
        id="x", external_id=x_api.USER_ID, username="@XDevelopers", mock_pages=x_api.mock_own_posts,
        ids=("1851000000000000330", "1851000000000000320", "1849000000000000100"), limited=_x_limited,
    ),
    Platform(
        id="reddit", external_id=reddit_api.USER_ID, username=reddit_api.USERNAME,
        mock_pages=reddit_api.mock_own_submissions, ids=("t3_1gq3x9z", "t3_1gq2b7c", "t3_1fz0v1d"),
        limited=_reddit_limited,
    ),
    Platform(
        id="pinterest", external_id=pinterest_api.USER_ID, username="janedoe", mock_pages=pinterest_api.mock_own_pins,
        ids=("813744226420795901", "813744226420795890", "813744226420795850"), limited=_pinterest_limited,
    ),
    Platform(
        id="linkedin", external_id=linkedin_api.ORG, username="Organization 5515715",
        mock_pages=lambda: linkedin_api.mock_own_posts(linkedin_api.ORG),
        ids=(*linkedin_api.OWN_POST_IDS[0], *linkedin_api.OWN_POST_IDS[1]), limited=_linkedin_limited,
        extra=(("kind", "organization"),),
    ),
]  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_windows():
    cache.clear()  # X and Reddit remember a spent rate window; a test must not inherit one


@pytest.fixture(params=PLATFORMS, ids=lambda platform: platform.id)
def platform(request, settings) -> Platform:
    settings.ANALYTICS_IMPORT_MAX_DAYS = 3650  # the recorded posts are from 2026; nothing is cut by age
    return request.param


@pytest.fixture
def started(team, platform, django_capture_on_commit_callbacks) -> ImportRun:
    account = SocialAccount.objects.create(
        workspace=team.workspace, platform=platform.id, external_id=platform.external_id,
        username=platform.username, secrets=dict(platform.secrets), extra=dict(platform.extra),
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False):
        return import_start(actor=team.membership("admin"), account=account)


def _run_to_the_end(run: ImportRun) -> ImportRun:
    for _ in range(10):
        import_run(run_id=run.pk, pages=1)
        run.refresh_from_db()
        if not run.live:
            return run
    raise AssertionError("the import did not end")


def test_two_pages_are_imported_once_each(started, platform):
    platform.mock_pages()
    run = _run_to_the_end(started)
    assert (run.status, run.pages, run.imported) == (S.COMPLETED, 2, len(platform.ids))
    targets = Target.objects.filter(account=started.account).order_by("-due_at")
    assert [t.platform_post_id for t in targets] == list(platform.ids)
    assert all(t.url.startswith("https://") for t in targets)
    assert set(Post.objects.values_list("origin", flat=True)) == {Post.Origin.IMPORTED}


def test_a_crashed_run_resumes_from_the_platforms_cursor(started, platform, monkeypatch):
    class WorkerDied(BaseException):
        """The process killed after the first page was committed."""

    provider = type(get_provider(platform.id))
    real = provider.list_posts
    cursors: list[str] = []

    def dies_on_the_second_page(self, *, account, cursor=""):
        cursors.append(cursor)
        if len(cursors) == 2:
            raise WorkerDied
        return real(self, account=account, cursor=cursor)

    platform.mock_pages()
    monkeypatch.setattr(provider, "list_posts", dies_on_the_second_page)
    with pytest.raises(WorkerDied):
        import_run(run_id=started.pk)
    started.refresh_from_db()
    assert started.status == S.RUNNING
    assert started.pages == 1
    stored = started.cursor
    assert stored
    assert stored == cursors[1]
    ImportRun.objects.filter(pk=started.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert import_runs_claim_due() == [started.pk]
    run = _run_to_the_end(started)
    assert cursors[2] == stored
    assert (run.status, run.imported) == (S.COMPLETED, len(platform.ids))
    assert ImportedPost.objects.filter(account=started.account).count() == len(platform.ids)


def test_a_429_waits_for_the_platforms_reset_then_goes_on(started, platform):
    platform.limited()
    run = import_run(run_id=started.pk)
    assert run.status == S.QUEUED
    assert run.imported == 0
    assert run.next_attempt_at > timezone.now() + timedelta(seconds=30)
    assert import_runs_claim_due() == []  # not before the reset
    responses.reset()
    platform.mock_pages()
    ImportRun.objects.filter(pk=started.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert (_run_to_the_end(started).status, started.imported) == (S.COMPLETED, len(platform.ids))


def test_a_consent_platform_offers_the_import_on_the_accounts_page_after_connecting(team, platform):
    """A consent redirect leaves Postwright, so its connect step has no "also import" box
    (connections/views.py offers it only on forms); the Accounts page offers it instead."""
    SocialAccount.objects.create(
        workspace=team.workspace, platform=platform.id, external_id=platform.external_id,
        username=platform.username, secrets=dict(platform.secrets), extra=dict(platform.extra),
    )  # fmt: skip
    page = team.client("admin").get(reverse("connections")).content.decode()
    assert "Import past posts" in page
    assert "Just connected: bring in what it posted before?" in page
    assert not responses.calls  # the offer reads Postwright's own records only
