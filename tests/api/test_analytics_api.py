"""/analytics: stored numbers through the API, scoped to the key's workspace and tenants."""

from datetime import UTC, datetime, timedelta

import pytest

from connections.models import SocialAccount
from connections.registry import get_provider
from connections.services import account_save
from tests.analytics.factories import followers_at, published_post
from tests.api.conftest import assert_problem, make_key

pytestmark = pytest.mark.django_db
AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_posts_list_their_latest_numbers_newest_first(api, keys, team, demo_accounts):
    alpha, beta = demo_accounts
    old = published_post(team.workspace, alpha, AT, likes=3, views=50)
    new = published_post(team.workspace, beta, AT + timedelta(days=1), likes=1)
    response = api.get("/analytics/posts", keys.read)
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert [row["post_id"] for row in data] == [new.target.post_id, old.target.post_id]
    assert data[1] | {"updated_at": None} == {
        "post_id": old.target.post_id, "part": 0, "account_id": alpha.pk, "platform": "demo",
        "published_at": "2026-03-10T12:00:00Z", "url": old.part.url, "likes": 3, "reposts": None,
        "replies": None, "quotes": None, "saves": None, "views": 50, "reach": None, "clicks": None,
        "engagement": 3, "updated_at": None,
    }  # fmt: skip


def test_posts_filter_by_range_and_account_and_page(api, keys, team, demo_accounts):
    alpha, beta = demo_accounts
    for n in range(3):
        published_post(team.workspace, alpha, AT + timedelta(hours=n), likes=n)
    published_post(team.workspace, beta, AT + timedelta(days=5), likes=9)
    ids = lambda q: [r["likes"] for r in api.get(f"/analytics/posts{q}", keys.read).json()["data"]]  # noqa: E731
    assert ids(f"?account={beta.pk}") == [9]
    assert ids("?published_after=2026-03-10T12:30:00Z&published_before=2026-03-11T00:00:00Z") == [2, 1]
    first = api.get("/analytics/posts?limit=2", keys.read).json()
    assert len(first["data"]) == 2
    second = api.get(f"/analytics/posts?limit=2&cursor={first['next_cursor']}", keys.read).json()
    assert [r["likes"] for r in second["data"]] == [1, 0]
    assert second["next_cursor"] is None


def test_another_workspaces_numbers_are_never_listed(api, keys, team, demo_accounts):
    demo = get_provider("demo")
    theirs = account_save(
        workspace=team.other_workspace, platform="demo", user=team.users["outsider"],
        connection=demo.connect_with_form(data={"identifier": "elsewhere", "display_name": "E"}),
    )  # fmt: skip
    published_post(team.other_workspace, theirs, AT, likes=77)
    followers_at(theirs, AT, 5)
    assert api.get("/analytics/posts", keys.read).json()["data"] == []
    assert api.get(f"/analytics/posts?account={theirs.pk}", keys.read).json()["data"] == []
    assert_problem(api.get(f"/analytics/accounts/{theirs.pk}/history", keys.read), 404)


def test_a_tenant_restricted_key_sees_only_its_tenants_accounts(api, team, demo_accounts):
    alpha, beta = demo_accounts
    SocialAccount.objects.filter(pk=alpha.pk).update(tenant_id="user-1")
    published_post(team.workspace, alpha, AT, likes=1)
    published_post(team.workspace, beta, AT, likes=2)
    key = make_key(team.workspace, tenant_ids=["user-1"])
    assert [r["likes"] for r in api.get("/analytics/posts", key).json()["data"]] == [1]
    assert_problem(api.get(f"/analytics/accounts/{beta.pk}/history", key), 404)


def test_account_history_lists_snapshots_in_a_range(api, keys, team, demo_accounts):
    alpha = demo_accounts[0]
    for n in range(3):
        followers_at(alpha, AT + timedelta(days=n), 100 + n)
    response = api.get(f"/analytics/accounts/{alpha.pk}/history", keys.read)
    assert response.status_code == 200, response.content
    assert [r["followers"] for r in response.json()["data"]] == [102, 101, 100]
    ranged = api.get(f"/analytics/accounts/{alpha.pk}/history?after=2026-03-11T00:00:00Z", keys.read).json()
    assert [r["followers"] for r in ranged["data"]] == [102, 101]
    assert ranged["data"][0] == {
        "taken_at": "2026-03-12T12:00:00Z", "followers": 102, "following": None, "posts_count": None, "views": None,
    }  # fmt: skip


def test_bad_input_is_a_problem_not_a_500(api, keys, demo_accounts):
    assert_problem(api.get("/analytics/posts?published_after=yesterday", keys.read), 422)
    assert_problem(api.get("/analytics/posts?published_after=2026-03-10T12:00:00", keys.read), 422)  # no offset
    assert_problem(api.get("/analytics/posts?cursor=nope", keys.read), 422)
    assert_problem(api.get("/analytics/accounts/99999999999999999999/history", keys.read), 422)
    assert_problem(api.get("/analytics/accounts/999999/history", keys.read), 404)
    assert api.get("/analytics/posts", None).status_code == 401
