"""The Accounts page's "Import past posts", its progress partial, and removing imported posts."""

import pytest
from django.urls import reverse

from analytics.imports import import_run
from analytics.models import ImportedPost, ImportRun
from connections.providers.demo.models import DemoPost
from events.models import Event
from publishing.models import Post
from tests.fixtures import assert_role_gate

S = ImportRun.Status


@pytest.fixture
def history(settings):
    settings.DEMO_PAST_POSTS = 45


def _start(client, account, **headers):
    return client.post(reverse("import_start", args=[account.pk]), **headers)


def test_the_accounts_page_offers_an_import_after_connecting(team, demo_accounts):
    page = team.client("admin").get(reverse("connections")).content.decode()
    assert page.count("Import past posts") == 2
    assert "Just connected: bring in what it posted before?" in page
    viewer = team.client("viewer").get(reverse("connections")).content.decode()
    assert "Import past posts" not in viewer  # the button follows the role (the server checks too)


def test_starting_shows_progress_that_polls(
    team, demo_accounts, history, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("analytics.imports.enqueue_import", lambda run_id: None)  # the test plays the worker
    client = team.client("admin")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = _start(client, demo_accounts[0], HTTP_HX_REQUEST="true")
    assert len(callbacks) == 1  # the worker task, enqueued after commit
    run = ImportRun.objects.get()
    html = answer.content.decode()
    assert f'hx-get="{reverse("import_progress", args=[run.pk])}"' in html
    assert "Import of past posts queued" in html
    import_run(run_id=run.pk, pages=1)
    html = client.get(reverse("import_progress", args=[run.pk])).content.decode()
    assert "Importing past posts: 20 imported (at most 1000), page 1" in html
    assert 'hx-trigger="every 2s"' in html
    while ImportRun.objects.get(pk=run.pk).live:
        import_run(run_id=run.pk)
    html = client.get(reverse("import_progress", args=[run.pk])).content.decode()
    assert "Imported 45 past posts" in html
    assert "hx-trigger" not in html  # finished: it stops polling
    assert "Imported 45 past posts" in client.get(reverse("connections")).content.decode()


def test_a_refused_start_says_why(team, demo_accounts, monkeypatch):
    from connections.providers.demo.provider import DemoProvider

    monkeypatch.setattr(DemoProvider, "supports_import", False)
    answer = _start(team.client("admin"), demo_accounts[0], follow=True)
    assert "does not let Postwright read an account&#x27;s past posts" in answer.content.decode()
    assert not ImportRun.objects.exists()


def test_only_admins_start_and_others_workspaces_are_404(team, demo_accounts):
    assert_role_gate(team, reverse("import_start", args=[demo_accounts[0].pk]), lowest="admin", method="post")


def test_progress_of_another_workspaces_run_is_404(team, demo_accounts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        _start(team.client("admin"), demo_accounts[0])
    run = ImportRun.objects.get()
    for method in ("get", "post"):
        assert getattr(team.client("outsider"), method)(reverse("import_progress", args=[run.pk])).status_code == 404
    assert team.client("outsider").post(reverse("import_cancel", args=[run.pk])).status_code == 404
    assert team.client("viewer").get(reverse("import_progress", args=[run.pk])).status_code == 200
    assert team.client("editor").post(reverse("import_cancel", args=[run.pk])).status_code == 403
    team.client("admin").post(reverse("import_cancel", args=[run.pk]))
    assert ImportRun.objects.get().status == S.CANCELED


@pytest.fixture
def imported(team, demo_accounts, history, django_capture_on_commit_callbacks) -> Post:
    with django_capture_on_commit_callbacks(execute=False):
        _start(team.client("admin"), demo_accounts[0])
    run = ImportRun.objects.get()
    while ImportRun.objects.get(pk=run.pk).live:
        import_run(run_id=run.pk)
    return Post.objects.filter(origin=Post.Origin.IMPORTED).order_by("-scheduled_at").first()


def test_an_imported_post_says_so_and_is_removed_here_only(team, imported):
    client = team.client("editor")
    page = client.get(reverse("post_detail", args=[imported.pk])).content.decode()
    assert "Posted outside Postwright" in page
    assert "Remove from Postwright" in page
    platform_id = imported.targets.get().platform_post_id
    answer = client.post(reverse("post_remove_imported", args=[imported.pk]), follow=True)
    assert "Removed from Postwright. It stays on its platform." in answer.content.decode()
    assert not Post.objects.filter(pk=imported.pk).exists()
    assert DemoPost.objects.filter(post_id=platform_id).exists()  # untouched at the platform
    assert ImportedPost.objects.get(platform_post_id=platform_id).post is None  # remembered, not re-imported
    assert Event.objects.get(type="post.deleted").payload["imported"] is True


def test_deleting_at_the_platform_takes_its_own_button(team, imported):
    platform_id = imported.targets.get().platform_post_id
    client = team.client("editor")
    client.post(reverse("post_remove_imported", args=[imported.pk]), {"at_platforms": "1"})
    assert not Post.objects.filter(pk=imported.pk).exists()
    assert not DemoPost.objects.filter(post_id=platform_id).exists()


def test_the_bulk_delete_leaves_imported_posts_on_their_platform(team, imported):
    platform_id = imported.targets.get().platform_post_id
    team.client("editor").post(reverse("post_bulk"), {"action": "delete", "posts": [imported.pk], "confirm": "1"})
    assert not Post.objects.filter(pk=imported.pk).exists()
    assert DemoPost.objects.filter(post_id=platform_id).exists()


def test_removing_imported_posts_is_for_editors_and_this_workspace(team, imported):
    assert_role_gate(team, reverse("post_remove_imported", args=[imported.pk]), lowest="editor", method="post")


def test_imported_posts_are_on_the_calendar(team, imported):
    from zoneinfo import ZoneInfo

    day = imported.scheduled_at.astimezone(ZoneInfo("Europe/Paris")).date()  # the team's workspace zone
    page = team.client("viewer").get(reverse("calendar"), {"date": day.isoformat()}).content.decode()
    assert reverse("post_detail", args=[imported.pk]) in page


def test_the_post_list_marks_imported_posts(team, imported):
    page = team.client("viewer").get(reverse("posts"), {"tab": "published"}).content.decode()
    assert '<span class="badge badge-info">Imported</span>' in page


def test_the_connect_form_offers_the_import_and_starts_it_when_ticked(
    team, history, django_capture_on_commit_callbacks
):
    client = team.client("admin")
    form = client.get(reverse("connect", args=["demo"])).content.decode()
    assert 'name="import_past"' in form
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("connect", args=["demo"]), {"identifier": "untouched", "display_name": "U"})
        client.post(
            reverse("connect", args=["demo"]), {"identifier": "ticked", "display_name": "T", "import_past": "1"}
        )
    (run,) = ImportRun.objects.all()
    assert run.account.username.endswith("ticked")
    assert run.requested_by == team.users["admin"]


def test_the_box_is_not_offered_where_the_platform_cannot_import(team, monkeypatch):
    from connections.providers.demo.provider import DemoProvider

    monkeypatch.setattr(DemoProvider, "supports_import", False)
    assert 'name="import_past"' not in team.client("admin").get(reverse("connect", args=["demo"])).content.decode()
