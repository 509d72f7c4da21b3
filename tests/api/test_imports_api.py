"""/social-accounts/{id}/imports: the Accounts page's "Import past posts" with the key as actor."""

import pytest

from analytics.imports import import_run
from analytics.models import ImportRun
from connections.providers.demo.provider import DemoProvider
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_start_then_follow_an_import(api, keys, demo_accounts, settings):
    settings.DEMO_PAST_POSTS = 5
    alpha = demo_accounts[0]
    response = api.post(f"/social-accounts/{alpha.id}/imports", keys.write)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"
    assert (body["account_id"], body["imported"], body["max_posts"]) == (alpha.id, 0, 1000)
    again = api.post(f"/social-accounts/{alpha.id}/imports", keys.write).json()
    assert again["id"] == body["id"]  # one at a time: the same run
    import_run(run_id=body["id"])
    done = api.get(f"/social-accounts/{alpha.id}/imports/{body['id']}", keys.read).json()
    assert (done["status"], done["imported"], done["pages"]) == ("completed", 5, 1)
    assert done["finished_at"] is not None


def test_keys_that_may_not_and_others_accounts(api, keys, demo_accounts):
    alpha, beta = demo_accounts
    assert_problem(api.post(f"/social-accounts/{alpha.id}/imports", keys.read), 403)
    assert_problem(api.post(f"/social-accounts/{alpha.id}/imports", keys.outsider), 404)
    assert not ImportRun.objects.exists()
    run_id = api.post(f"/social-accounts/{alpha.id}/imports", keys.write).json()["id"]
    assert_problem(api.get(f"/social-accounts/{alpha.id}/imports/{run_id}", keys.outsider), 404)
    assert_problem(api.get(f"/social-accounts/{beta.id}/imports/{run_id}", keys.read), 404)  # not that account's
    assert_problem(api.get(f"/social-accounts/{alpha.id}/imports/999999", keys.read), 404)


def test_a_platform_without_import_is_a_clear_problem(api, keys, demo_accounts, monkeypatch):
    monkeypatch.setattr(DemoProvider, "supports_import", False)
    problem = assert_problem(api.post(f"/social-accounts/{demo_accounts[0].id}/imports", keys.write), 422)
    assert "past posts" in problem["detail"]


def test_deleting_an_imported_post_leaves_it_on_its_platform(api, keys, demo_accounts, settings):
    from connections.providers.demo.models import DemoPost
    from publishing.models import Post

    settings.DEMO_PAST_POSTS = 2
    run_id = api.post(f"/social-accounts/{demo_accounts[0].id}/imports", keys.write).json()["id"]
    import_run(run_id=run_id)
    post = Post.objects.filter(origin=Post.Origin.IMPORTED).first()
    platform_id = post.targets.get().platform_post_id
    assert api.call("delete", f"/posts/{post.id}", keys.write).status_code == 204
    assert not Post.objects.filter(pk=post.pk).exists()
    assert DemoPost.objects.filter(post_id=platform_id).exists()
