"""Pacing per platform app: a busy workspace cannot spend the rate limit other workspaces share."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connections.providers.demo.provider import DemoProvider
from connections.registry import get_provider
from connections.services import account_save
from publishing import engine
from publishing.models import PostContent, RateBudget, Target
from publishing.pacing import budget_keys, pace_reserve
from publishing.services import PartInput, PostInput, When, post_create

S = Target.Status


@pytest.fixture
def paced(monkeypatch):
    monkeypatch.setattr(DemoProvider, "app_calls_per_minute", 60)  # one call a second for the app
    monkeypatch.setattr(DemoProvider, "workspace_share", 0.5)  # a workspace gets one every two seconds


def _posts(team, account, n: int) -> list[Target]:
    for i in range(n):
        post_create(
            actor=team.membership("editor"),
            data=PostInput(parts=[PartInput(text=f"post {i}")], account_ids=[account.id], when=When.now()),
        )
    return list(Target.objects.filter(account=account).order_by("id"))


def test_a_workspace_is_held_to_its_share(team, demo_accounts, paced, django_capture_on_commit_callbacks):
    targets = _posts(team, demo_accounts[0], 3)
    with django_capture_on_commit_callbacks(execute=True):
        engine.targets_claim_due()
    statuses = [Target.objects.get(pk=t.pk) for t in targets]
    assert [t.status for t in statuses] == [S.PUBLISHED, S.RETRY_WAIT, S.RETRY_WAIT]
    assert [t.attempts for t in statuses] == [1, 0, 0]  # holding back spends no attempt
    waits = sorted((t.next_attempt_at - timezone.now()).total_seconds() for t in statuses[1:])
    assert 1.5 < waits[0] <= 2.1  # the workspace's share (one call per 2 s), not the app's 1 s


def test_another_workspace_still_gets_its_turn(team, demo_accounts, paced):
    provider = get_provider("demo")
    mine = budget_keys(provider, demo_accounts[0])
    other_account = account_save(
        workspace=team.other_workspace, platform="demo",
        connection=provider.connect_with_form(data={"identifier": "zed"}), user=None,
    )  # fmt: skip
    theirs = budget_keys(provider, other_account)
    assert pace_reserve(mine) is None
    assert pace_reserve(mine) is not None  # my share is spent for now...
    RateBudget.objects.filter(key=mine[0][0]).update(next_at=timezone.now())  # (the app's own second passed)
    assert pace_reserve(theirs) is None  # ...but the other workspace is not starved


def test_a_429_holds_back_the_whole_app(team, demo_accounts, paced, django_capture_on_commit_callbacks):
    (first,) = _posts(team, demo_accounts[0], 1)
    PostContent.objects.filter(post=first.post).update(text="x #fail-rate")
    with django_capture_on_commit_callbacks(execute=True):
        engine.targets_claim_due()
    app_key = budget_keys(get_provider("demo"), demo_accounts[0])[0][0]
    assert RateBudget.objects.get(key=app_key).next_at >= timezone.now() + timedelta(seconds=25)


def test_an_account_limit_holds_that_account_only(team, demo_accounts, monkeypatch, django_capture_on_commit_callbacks):
    """A per-account limit (a profile's edits a minute) paces one account's posts without an app
    budget, and another account of the same platform is not held by it."""
    monkeypatch.setattr(DemoProvider, "account_calls_per_minute", 30)  # one post every two seconds
    mine = _posts(team, demo_accounts[0], 2)
    (theirs,) = _posts(team, demo_accounts[1], 1)
    keys = budget_keys(get_provider("demo"), demo_accounts[0])
    assert [key for key, _interval in keys] == [f"demo:account:{demo_accounts[0].pk}"]
    with django_capture_on_commit_callbacks(execute=True):
        engine.targets_claim_due()
    first, second, other = (Target.objects.get(pk=t.pk) for t in (*mine, theirs))
    assert [first.status, second.status, other.status] == [S.PUBLISHED, S.RETRY_WAIT, S.PUBLISHED]
    assert 1.5 < (second.next_attempt_at - timezone.now()).total_seconds() <= 2.1
    assert second.attempts == 0
