"""Safety and undo: duplicate any post, restore a canceled one as a draft, and a confirm step
before cancel, disconnect, leave and remove that the server enforces (not only the dialog)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Membership
from connections.models import SocialAccount
from events.models import Event
from publishing import engine, services
from publishing.inputs import Attachment, PartInput, PostInput, When
from publishing.models import ContentMedia, Media, Post, PostContent, Target
from tests.fixtures import assert_role_gate, make_user

K = PostContent.Kind
S = Target.Status
CONFIRM = {"confirm": "1"}


def _media(workspace, name: str) -> Media:
    return Media.objects.create(
        workspace=workspace, file=f"media/{name}", sha256=name.ljust(64, "0"), original_name=name,
        mime_type="image/png", size=1000,
    )  # fmt: skip


@pytest.fixture
def rich(team, demo_accounts) -> Post:
    """A thread with media and alt texts, a first comment, a link and an override, scheduled."""
    first, second = _media(team.workspace, "a.png"), _media(team.workspace, "b.png")
    parts = [
        PartInput("Main text", attachments=(Attachment(first.id, "First"), Attachment(second.id, "Second"))),
        PartInput("Reply one", kind=K.REPLY),
        PartInput("A comment", kind=K.FIRST_COMMENT),
    ]
    data = PostInput(
        parts=parts, account_ids=[a.id for a in demo_accounts], link="https://example.com/launch",
        overrides={"demo": {"text": "Demo only"}}, when=When.at(timezone.now() + timedelta(days=2)),
    )  # fmt: skip
    return services.post_create(actor=team.membership("editor"), data=data)


def _parts(post: Post) -> list[tuple]:
    return [
        (c.position, c.kind, c.text, [(a.media_id, a.position, a.alt_text) for a in c.attachments.order_by("position")])
        for c in post.contents.order_by("position")
    ]


# --- Duplicate ------------------------------------------------------------------------------


def test_duplicate_is_a_draft_copy_with_parts_media_and_overrides(team, demo_accounts, rich):
    editor = team.membership("editor")
    copy = services.post_duplicate(actor=editor, post=rich)
    assert copy.pk != rich.pk
    assert (copy.status, copy.scheduled_at, copy.author) == (Post.Status.DRAFT, None, team.users["editor"])
    assert (copy.link, copy.overrides) == (rich.link, rich.overrides)
    assert _parts(copy) == _parts(rich)
    assert ContentMedia.objects.filter(content__post=copy).count() == 2
    targets = list(copy.targets.order_by("account_id").values_list("account_id", "status", "due_at"))
    assert targets == [(a.id, S.DRAFT, None) for a in demo_accounts]
    # The original is untouched and still scheduled.
    rich.refresh_from_db()
    assert rich.status == Post.Status.SCHEDULED
    assert set(rich.targets.values_list("status", flat=True)) == {S.SCHEDULED}
    assert Event.objects.filter(post_id=copy.pk, type="post.duplicated").get().payload["duplicate_of"] == rich.pk


def test_a_published_post_can_be_duplicated_and_disconnected_accounts_are_left_out(
    team, demo_accounts, django_capture_on_commit_callbacks
):
    editor = team.membership("editor")
    ids = [a.id for a in demo_accounts]
    post = services.post_create(
        actor=editor, data=PostInput(parts=[PartInput("Out")], account_ids=ids, when=When.now())
    )
    with django_capture_on_commit_callbacks(execute=True):  # publish tasks are sent on commit
        engine.targets_claim_due()
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    SocialAccount.objects.filter(pk=demo_accounts[1].pk).update(status=SocialAccount.Status.DISCONNECTED)
    copy = services.post_duplicate(actor=editor, post=post)
    assert list(copy.targets.values_list("account_id", flat=True)) == [demo_accounts[0].id]
    assert copy.targets.get().platform_post_id == ""


def test_viewers_and_other_workspaces_cannot_duplicate(team, rich):
    before = Post.objects.count()
    with pytest.raises(PermissionDenied):
        services.post_duplicate(actor=team.membership("viewer"), post=rich)
    stranger = Actor(workspace=team.other_workspace, role="owner", user=make_user(), label="Stranger")
    with pytest.raises(Post.DoesNotExist):
        services.post_duplicate(actor=stranger, post=rich)
    assert Post.objects.count() == before


def test_duplicate_view_opens_the_copy_in_the_editor(team, rich):
    url = reverse("post_duplicate", args=[rich.pk])
    assert_role_gate(team, url, lowest="editor", method="post")
    copy = Post.objects.exclude(pk=rich.pk).get()
    response = team.client("editor").post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("post_edit", args=[Post.objects.order_by("-pk").first().pk])
    assert copy.status == Post.Status.DRAFT


# --- Restore --------------------------------------------------------------------------------


def test_restore_brings_a_canceled_post_back_as_a_draft(team, demo_accounts, rich):
    editor = team.membership("editor")
    services.post_cancel(actor=editor, post=rich)
    restored = services.post_restore(actor=editor, post=rich)
    assert (restored.status, restored.scheduled_at) == (Post.Status.DRAFT, None)
    assert set(rich.targets.values_list("status", "due_at", "next_attempt_at")) == {(S.DRAFT, None, None)}
    events = Event.objects.filter(post_id=rich.pk)
    assert events.filter(type="target.draft").count() == len(demo_accounts)
    assert events.filter(type="post.restored").get().actor_label == editor.user.display_name
    # And it can be scheduled again.
    later = timezone.now() + timedelta(days=3)
    services.post_reschedule(actor=editor, post=restored, at=later)
    assert set(rich.targets.values_list("status", flat=True)) == {S.SCHEDULED}


def test_only_a_canceled_post_can_be_restored(team, rich):
    with pytest.raises(ValidationError, match="Only a canceled post"):
        services.post_restore(actor=team.membership("editor"), post=rich)
    rich.refresh_from_db()
    assert rich.status == Post.Status.SCHEDULED


def test_viewers_and_other_workspaces_cannot_restore(team, rich):
    services.post_cancel(actor=team.membership("editor"), post=rich)
    with pytest.raises(PermissionDenied):
        services.post_restore(actor=team.membership("viewer"), post=rich)
    stranger = Actor(workspace=team.other_workspace, role="owner", user=make_user(), label="Stranger")
    with pytest.raises(Post.DoesNotExist):
        services.post_restore(actor=stranger, post=rich)
    rich.refresh_from_db()
    assert rich.status == Post.Status.CANCELED


def test_restore_view_and_buttons(team, rich):
    services.post_cancel(actor=team.membership("editor"), post=rich)
    page = team.client("editor").get(reverse("post_detail", args=[rich.pk])).content.decode()
    assert "Restore as draft" in page
    assert "Duplicate" in page
    assert "Restore as draft" not in team.client("viewer").get(reverse("post_detail", args=[rich.pk])).content.decode()
    assert_role_gate(team, reverse("post_restore", args=[rich.pk]), lowest="editor", method="post")
    rich.refresh_from_db()
    assert rich.status == Post.Status.DRAFT
    again = team.client("editor").post(reverse("post_restore", args=[rich.pk]), follow=True)
    assert b"Only a canceled post can be restored" in again.content


# --- The confirm step -----------------------------------------------------------------------


def test_cancel_without_confirmation_asks_and_changes_nothing(team, rich):
    url = reverse("post_cancel", args=[rich.pk])
    asked = team.client("editor").post(url)
    assert asked.status_code == 200
    assert b"Cancel this post?" in asked.content
    assert b'name="confirm" value="1"' in asked.content
    rich.refresh_from_db()
    assert rich.status == Post.Status.SCHEDULED
    # Access comes before the question: nobody else is asked anything.
    assert team.client("viewer").post(url).status_code == 403
    assert team.client("outsider").post(url).status_code == 404
    team.client("editor").post(url, CONFIRM)
    rich.refresh_from_db()
    assert rich.status == Post.Status.CANCELED


def test_the_post_page_marks_cancel_for_the_dialog(team, rich):
    page = team.client("editor").get(reverse("post_detail", args=[rich.pk])).content.decode()
    assert 'data-confirm="Cancel this post?' in page


def test_disconnect_without_confirmation_asks_and_keeps_the_account(team, demo_accounts):
    account = demo_accounts[0]
    url = reverse("account_disconnect", args=[account.pk])
    asked = team.client("admin").post(url)
    assert asked.status_code == 200
    assert f"Disconnect {account.username}?".encode() in asked.content
    account.refresh_from_db()
    assert account.status == SocialAccount.Status.ACTIVE
    assert team.client("editor").post(url).status_code == 403
    team.client("admin").post(url, CONFIRM)
    account.refresh_from_db()
    assert account.status == SocialAccount.Status.DISCONNECTED


def test_leave_and_remove_ask_first(team):
    viewer, editor = team.membership("viewer"), team.membership("editor")
    leave = team.client("viewer").post(reverse("member_remove", args=[viewer.pk]))
    assert leave.status_code == 200
    assert f"Leave {team.workspace.name}?".encode() in leave.content
    remove = team.client("admin").post(reverse("member_remove", args=[editor.pk]))
    assert f"Remove {editor.user.email}?".encode() in remove.content
    assert Membership.objects.filter(pk__in=[viewer.pk, editor.pk]).count() == 2
    # Someone who may not remove is refused at once, not asked.
    assert team.client("editor").post(reverse("member_remove", args=[viewer.pk])).status_code == 403
    team.client("admin").post(reverse("member_remove", args=[editor.pk]), CONFIRM)
    assert not Membership.objects.filter(pk=editor.pk).exists()


def test_a_wrong_confirm_value_is_not_a_confirmation(team, rich):
    team.client("editor").post(reverse("post_cancel", args=[rich.pk]), {"confirm": "yes"})
    rich.refresh_from_db()
    assert rich.status == Post.Status.SCHEDULED
