"""The approval workflow: who needs it, that nothing held is ever published (services, dashboard
forms, direct POSTs, calendar drag-and-drop, queue, dispatcher claim, API), the review itself,
what everyone is told, and the members-only comment thread."""

from datetime import time, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApprovalPolicy, Notification
from events.models import Event
from publishing import approvals, engine, services
from publishing.history import post_history
from publishing.inputs import PartInput, PostInput, When, problems_of
from publishing.models import Post, PostComment, PostingSlot, Target
from webhooks.catalogue import PUBLIC_TYPES, public_message

S = Target.Status
A = Post.Approval


@pytest.fixture
def policy(team):
    def set_policy(value: str) -> None:
        team.workspace.approval_policy = value
        team.workspace.save(update_fields=["approval_policy"])

    set_policy(ApprovalPolicy.EDITORS)
    return set_policy


def _input(accounts, when=None, text="Hello") -> PostInput:
    return PostInput(parts=[PartInput(text=text)], account_ids=[a.id for a in accounts], when=when or When.draft())


def _later(hours: int = 3):
    return (timezone.now() + timedelta(hours=hours)).replace(microsecond=0)


def _submitted(team, accounts, when=None, who="editor") -> Post:
    return services.post_create(actor=team.membership(who), data=_input(accounts, when or When.at(_later())))


def _types(post: Post) -> list[str]:
    return list(Event.objects.filter(post_id=post.pk, subject_type="post").values_list("type", flat=True))


def _codes(exc: ValidationError) -> set[str]:
    return {problem.code for problem in problems_of(exc)}


# --- Who needs approval -------------------------------------------------------------------------


def test_without_the_policy_an_editor_schedules_directly(team, demo_accounts):
    post = _submitted(team, demo_accounts)
    assert post.status == Post.Status.SCHEDULED
    assert post.approval == A.NONE


def test_an_editors_scheduled_post_waits_and_reviewers_are_told(team, demo_accounts, policy,
                                                                 django_capture_on_commit_callbacks):  # fmt: skip
    at = _later()
    with django_capture_on_commit_callbacks(execute=True):
        post = _submitted(team, demo_accounts, When.at(at))
    assert (post.status, post.approval, post.approval_when, post.scheduled_at) == (
        Post.Status.AWAITING_APPROVAL,
        A.PENDING,
        "at",
        at,
    )
    targets = list(post.targets.all())
    assert {(t.status, t.due_at, t.next_attempt_at) for t in targets} == {(S.AWAITING_APPROVAL, at, None)}
    assert _types(post) == ["post.created", "approval.requested"]  # not "post.scheduled": it is not
    told = set(Notification.objects.filter(title__contains="submitted a post").values_list("user__email", flat=True))
    assert told == {"owner@example.com", "admin@example.com"}
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@example.com", "owner@example.com"]


def test_drafts_need_no_approval(team, demo_accounts, policy):
    post = services.post_create(actor=team.membership("editor"), data=_input(demo_accounts))
    assert (post.status, post.approval) == (Post.Status.DRAFT, A.NONE)


def test_admins_schedule_directly_unless_everyone_needs_approval(team, demo_accounts, policy):
    assert _submitted(team, demo_accounts, who="admin").status == Post.Status.SCHEDULED
    policy(ApprovalPolicy.EVERYONE)
    assert _submitted(team, demo_accounts, who="owner").status == Post.Status.AWAITING_APPROVAL


def test_viewers_cannot_review(team, demo_accounts, policy):
    post = _submitted(team, demo_accounts)
    for who in ("viewer", "editor"):
        with pytest.raises(PermissionDenied):
            approvals.post_approve(actor=team.membership(who), post=post)
        with pytest.raises(PermissionDenied):
            approvals.post_request_changes(actor=team.membership(who), post=post, comment="no")
    assert Post.objects.get(pk=post.pk).approval == A.PENDING


# --- Nothing held goes out ------------------------------------------------------------------------


def test_the_dispatcher_never_claims_a_held_post_even_if_its_targets_look_due(team, demo_accounts, policy):
    post = _submitted(team, demo_accounts, When.now())
    assert engine.targets_claim_due() == []
    # Even a status written by some other path (a bug, a hand edit) is not enough to send it.
    Target.objects.filter(post=post).update(status=S.SCHEDULED, next_attempt_at=timezone.now() - timedelta(minutes=1))
    assert engine.targets_claim_due() == []
    Post.objects.filter(pk=post.pk).update(approval=A.CHANGES_REQUESTED)
    assert engine.targets_claim_due() == []
    Post.objects.filter(pk=post.pk).update(approval=A.APPROVED)
    assert len(engine.targets_claim_due()) == 2


def test_reschedule_and_queue_by_an_editor_submit_rather_than_schedule(team, demo_accounts, policy):
    editor = team.membership("editor")
    draft = services.post_create(actor=editor, data=_input(demo_accounts[:1]))
    moved = services.post_reschedule(actor=editor, post=draft, at=_later(5))
    assert (moved.status, moved.approval) == (Post.Status.AWAITING_APPROVAL, A.PENDING)
    PostingSlot.objects.create(account=demo_accounts[0], weekday=0, time=time(9))
    for day in range(1, 7):
        PostingSlot.objects.create(account=demo_accounts[0], weekday=day, time=time(9))
    queued = services.post_queue(actor=editor, post=moved)
    assert (queued.status, queued.approval_when) == (Post.Status.AWAITING_APPROVAL, "queue")
    assert set(queued.targets.values_list("status", flat=True)) == {S.AWAITING_APPROVAL}
    assert engine.targets_claim_due() == []


def test_a_reviewer_moving_a_held_post_keeps_it_held(team, demo_accounts, policy):
    post = _submitted(team, demo_accounts)
    moved = services.post_reschedule(actor=team.membership("admin"), post=post, at=_later(6))
    assert (moved.status, moved.approval) == (Post.Status.AWAITING_APPROVAL, A.PENDING)


def test_editing_an_approved_post_sends_it_back_for_approval(team, demo_accounts, policy):
    post = approvals.post_approve(actor=team.membership("admin"), post=_submitted(team, demo_accounts))
    assert post.status == Post.Status.SCHEDULED
    same_time = When.at(post.scheduled_at)
    by_admin = services.post_update(
        actor=team.membership("admin"), post=post, data=_input(demo_accounts, same_time, text="Fixed typo")
    )
    assert (by_admin.status, by_admin.approval) == (Post.Status.SCHEDULED, A.APPROVED)
    edited = services.post_update(actor=team.membership("editor"), post=post,
                                  data=_input(demo_accounts, When.at(post.scheduled_at), text="Changed"))  # fmt: skip
    assert (edited.status, edited.approval) == (Post.Status.AWAITING_APPROVAL, A.PENDING)
    assert set(edited.targets.values_list("status", flat=True)) == {S.AWAITING_APPROVAL}
    assert _types(edited)[-1] == "approval.requested"


def test_cancel_a_held_post(team, demo_accounts, policy):
    post = services.post_cancel(actor=team.membership("editor"), post=_submitted(team, demo_accounts))
    assert (post.status, post.approval) == (Post.Status.CANCELED, A.NONE)
    with pytest.raises(ValidationError):
        approvals.post_approve(actor=team.membership("admin"), post=post)


def test_an_editor_cannot_retry_a_post_that_was_never_approved(team, demo_accounts, policy):
    post = services.post_create(actor=team.membership("admin"), data=_input(demo_accounts[:1], When.at(_later())))
    Target.objects.filter(post=post).update(status=S.FAILED)
    Post.objects.filter(pk=post.pk).update(approval=A.NONE)
    target = post.targets.get()
    with pytest.raises(PermissionDenied):
        services.target_retry(actor=team.membership("editor"), target=target)
    assert services.target_retry(actor=team.membership("admin"), target=target).status == S.SCHEDULED


# --- The review -----------------------------------------------------------------------------------


def test_approve_schedules_as_asked_and_tells_the_author(team, demo_accounts, policy,
                                                         django_capture_on_commit_callbacks):  # fmt: skip
    at = _later()
    post = _submitted(team, demo_accounts, When.at(at))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        post = approvals.post_approve(actor=team.membership("admin"), post=post, note="Looks good")
    assert (post.status, post.approval, post.scheduled_at) == (Post.Status.SCHEDULED, A.APPROVED, at)
    assert {(t.status, t.next_attempt_at) for t in post.targets.all()} == {(S.SCHEDULED, at)}
    assert _types(post)[-2:] == ["approval.approved", "post.scheduled"]
    assert Notification.objects.get(user=team.users["editor"], title__contains="approved").level == "success"
    assert [m.to for m in mail.outbox] == [["editor@example.com"]]
    assert post.comments.get().kind == PostComment.Kind.APPROVED
    with pytest.raises(ValidationError) as exc:
        approvals.post_approve(actor=team.membership("owner"), post=post)
    assert _codes(exc.value) == {"not_pending"}


def test_when_the_asked_time_has_passed_the_reviewer_is_asked(team, demo_accounts, policy, time_machine):
    post = _submitted(team, demo_accounts, When.at(_later(1)))
    time_machine.move_to(timezone.now() + timedelta(hours=2))
    admin = team.membership("admin")
    with pytest.raises(ValidationError) as exc:
        approvals.post_approve(actor=admin, post=post)
    assert _codes(exc.value) == {"time_passed"}
    assert Post.objects.get(pk=post.pk).approval == A.PENDING  # nothing assumed
    now = timezone.now()
    post = approvals.post_approve(actor=admin, post=post, passed="now")
    assert post.status == Post.Status.SCHEDULED
    assert abs((post.scheduled_at - now).total_seconds()) < 5


def test_when_the_asked_time_has_passed_the_next_free_slot_can_be_chosen(team, demo_accounts, policy, time_machine):
    post = _submitted(team, demo_accounts[:1], When.at(_later(1)))
    time_machine.move_to(timezone.now() + timedelta(hours=2))
    for day in range(7):
        PostingSlot.objects.create(account=demo_accounts[0], weekday=day, time=time(9))
    post = approvals.post_approve(actor=team.membership("admin"), post=post, passed="queue")
    local = post.scheduled_at.astimezone(team.workspace.tzinfo)
    assert (local.hour, local.minute) == (9, 0)
    assert post.scheduled_at > timezone.now()


def test_now_is_scheduled_at_approval_time(team, demo_accounts, policy, time_machine):
    post = _submitted(team, demo_accounts, When.now())
    time_machine.move_to(timezone.now() + timedelta(hours=5))
    post = approvals.post_approve(actor=team.membership("owner"), post=post)
    assert abs((post.scheduled_at - timezone.now()).total_seconds()) < 5


def test_nobody_approves_their_own_post_when_everyone_needs_approval(team, demo_accounts, policy):
    policy(ApprovalPolicy.EVERYONE)
    post = _submitted(team, demo_accounts, who="admin")
    with pytest.raises(PermissionDenied):
        approvals.post_approve(actor=team.membership("admin"), post=post)
    assert approvals.post_approve(actor=team.membership("owner"), post=post).status == Post.Status.SCHEDULED


def test_whoever_last_rewrote_a_pending_post_cannot_approve_it(team, demo_accounts, policy):
    """An admin rewriting an editor's submitted post under "everyone" makes the words theirs."""
    policy(ApprovalPolicy.EVERYONE)
    post = _submitted(team, demo_accounts, who="editor")
    rewritten = _input(demo_accounts, When.at(_later()), text="The admin's own words")
    post = services.post_update(actor=team.membership("admin"), post=post, data=rewritten)
    assert post.approval == A.PENDING
    with pytest.raises(PermissionDenied, match="changed"):
        approvals.post_approve(actor=team.membership("admin"), post=post)
    assert approvals.post_approve(actor=team.membership("owner"), post=post).status == Post.Status.SCHEDULED


def test_a_post_changed_after_the_reviewer_opened_it_is_not_approved(team, demo_accounts, policy):
    post = _submitted(team, demo_accounts, who="editor")
    page = team.client("admin").get(reverse("post_detail", args=[post.pk])).content.decode()
    seen = approvals.content_version(post)
    assert f'name="seen" value="{seen}"' in page
    services.post_update(actor=team.membership("editor"), post=post,
                         data=_input(demo_accounts, When.at(_later()), text="Swapped after review"))  # fmt: skip
    response = team.client("admin").post(reverse("post_approve", args=[post.pk]), {"seen": seen})
    assert response.status_code == 302
    assert Post.objects.get(pk=post.pk).approval == A.PENDING
    with pytest.raises(ValidationError) as changed:
        approvals.post_approve(actor=team.membership("admin"), post=post, seen=seen)
    assert _codes(changed.value) == {"changed"}
    fresh = Post.objects.get(pk=post.pk)
    approved = approvals.post_approve(actor=team.membership("admin"), post=fresh, seen=approvals.content_version(fresh))
    assert approved.approval == A.APPROVED


def test_request_changes_then_resubmit_then_approve(team, demo_accounts, policy, django_capture_on_commit_callbacks):
    at = _later()
    post = _submitted(team, demo_accounts, When.at(at))
    admin, editor = team.membership("admin"), team.membership("editor")
    with pytest.raises(ValidationError) as exc:
        approvals.post_request_changes(actor=admin, post=post, comment="  ")
    assert _codes(exc.value) == {"required"}
    with django_capture_on_commit_callbacks(execute=True):
        post = approvals.post_request_changes(actor=admin, post=post, comment="Say 'spring', not 'summer'.")
    assert (post.status, post.approval) == (Post.Status.DRAFT, A.CHANGES_REQUESTED)
    assert set(post.targets.values_list("status", flat=True)) == {S.DRAFT}
    assert post.scheduled_at == at  # kept, so the author's edit form still holds the time
    notice = Notification.objects.get(user=team.users["editor"], title__contains="asked for changes")
    assert notice.body == "Say 'spring', not 'summer'."
    assert engine.targets_claim_due() == []
    post = services.post_update(actor=editor, post=post, data=_input(demo_accounts, When.at(at), text="Spring!"))
    assert (post.status, post.approval) == (Post.Status.AWAITING_APPROVAL, A.PENDING)
    post = approvals.post_approve(actor=admin, post=post)
    history = [entry.text for entry in post_history(post, list(post.targets.select_related("account")))]
    for words in ("submitted for approval", "changes requested", "approved", "edited"):
        assert words in history
    assert history.index("changes requested") < history.index("approved")


def test_the_review_queue_lists_pending_posts_only(team, demo_accounts, policy):
    waiting = _submitted(team, demo_accounts)
    _submitted(team, demo_accounts, who="admin")
    assert list(approvals.approval_queue(actor=team.membership("owner"))) == [waiting]
    with pytest.raises(PermissionDenied):
        approvals.approval_queue(actor=team.membership("editor"))


def test_approval_events_are_public_webhook_types(team, demo_accounts, policy):
    post = approvals.post_approve(actor=team.membership("admin"), post=_submitted(team, demo_accounts))
    assert {"approval.requested", "approval.approved", "approval.changes_requested"} <= set(PUBLIC_TYPES)
    event = Event.objects.get(post_id=post.pk, type="approval.approved")
    kind, message = public_message(event)
    assert kind == "approval.approved"
    at = event.payload["scheduled_at"]
    assert message["data"] == {"post_id": post.pk, "approval": "approved", "scheduled_at": at, "when": "at"}


# --- Comments -------------------------------------------------------------------------------------


def test_comments_with_mentions_notify_the_named_members(team, demo_accounts):
    post = services.post_create(actor=team.membership("editor"), data=_input(demo_accounts))
    comment = approvals.post_comment_add(actor=team.membership("viewer"), post=post,
                                         body="@admin and @Editor: is the link right? mail me@example.com")  # fmt: skip
    assert comment.author == team.users["viewer"]
    mentioned = set(Notification.objects.filter(title__contains="mentioned you").values_list("user__email", flat=True))
    assert mentioned == {"admin@example.com", "editor@example.com"}
    with pytest.raises(ValidationError):
        approvals.post_comment_add(actor=team.membership("viewer"), post=post, body=" ")
    outsider = services.post_create(actor=team.membership("admin"), data=_input(demo_accounts))
    Post.objects.filter(pk=outsider.pk).update(workspace=team.other_workspace)
    with pytest.raises(Post.DoesNotExist):
        approvals.post_comment_add(actor=team.membership("viewer"), post=Post.objects.get(pk=outsider.pk), body="hi")


def test_someone_mentioning_themselves_is_not_told(team, demo_accounts):
    post = services.post_create(actor=team.membership("editor"), data=_input(demo_accounts))
    approvals.post_comment_add(actor=team.membership("editor"), post=post, body="note to @editor")
    assert not Notification.objects.filter(title__contains="mentioned").exists()


# --- Through the dashboard ------------------------------------------------------------------------


def test_the_composer_submits_for_approval(team, demo_accounts, policy):
    client = team.client("editor")
    page = client.get(reverse("compose"))
    assert b"Submit for approval" in page.content
    assert b"Submit for approval" not in team.client("admin").get(reverse("compose")).content
    response = client.post(reverse("compose"), {"accounts": [demo_accounts[0].id], "text": "Go", "when": "now"})
    post = Post.objects.get()
    assert response.status_code == 302
    assert (post.status, post.approval_when) == (Post.Status.AWAITING_APPROVAL, "now")
    assert engine.targets_claim_due() == []
    # The calendar's drag-and-drop, posted directly, moves the request but publishes nothing.
    day = (timezone.localtime(_later(48), team.workspace.tzinfo)).date()
    moved = client.post(reverse("post_reschedule", args=[post.pk]), {"date": day.isoformat(), "time": "10:00"})
    assert moved.status_code == 200
    assert Post.objects.get(pk=post.pk).status == Post.Status.AWAITING_APPROVAL
    # An editor posting straight to the approve URL is refused.
    assert client.post(reverse("post_approve", args=[post.pk])).status_code == 403
    assert Post.objects.get(pk=post.pk).approval == A.PENDING


def test_review_pages_and_actions(team, demo_accounts, policy):
    from tests.fixtures import assert_role_gate

    post = _submitted(team, demo_accounts, When.at(_later()), who="editor")
    assert_role_gate(team, reverse("approval_queue"), lowest="admin", object_url=False)
    page = team.client("admin").get(reverse("approval_queue"))
    assert page.content.count(b'aria-label="Preview on ') == 2  # one preview per network account, in its look
    detail = team.client("admin").get(reverse("post_detail", args=[post.pk]))
    assert b'id="approve"' in detail.content
    assert b'id="request-changes"' in detail.content
    assert b'id="approve"' not in team.client("editor").get(reverse("post_detail", args=[post.pk])).content
    assert team.client("outsider").post(reverse("post_approve", args=[post.pk])).status_code == 404
    changes = team.client("admin").post(reverse("post_request_changes", args=[post.pk]), {"comment": "Shorter"})
    assert changes.status_code == 302
    assert b"Changes requested" in team.client("editor").get(reverse("post_detail", args=[post.pk])).content


def test_the_approve_page_asks_when_the_time_has_passed(team, demo_accounts, policy, time_machine):
    post = _submitted(team, demo_accounts, When.at(_later(1)))
    time_machine.move_to(timezone.now() + timedelta(hours=2))
    client = team.client("admin")
    asked = client.post(reverse("post_approve", args=[post.pk]))
    assert asked.status_code == 409
    assert b'value="now"' in asked.content
    assert b'value="queue"' in asked.content
    assert client.post(reverse("post_approve", args=[post.pk]), {"passed": "now"}).status_code == 302
    assert Post.objects.get(pk=post.pk).status == Post.Status.SCHEDULED


def test_comment_form_and_members_only(team, demo_accounts):
    post = services.post_create(actor=team.membership("editor"), data=_input(demo_accounts))
    url = reverse("post_comment", args=[post.pk])
    assert team.client("outsider").post(url, {"body": "hi"}).status_code == 404
    assert team.client("viewer").post(url, {"body": "Looks fine"}).status_code == 302
    page = team.client("editor").get(reverse("post_detail", args=[post.pk]))
    assert b"Looks fine" in page.content


def test_switching_the_policy_on_holds_posts_already_scheduled_by_those_who_now_need_it(
    team, demo_accounts, django_capture_on_commit_callbacks
):
    from accounts.services import workspace_update

    team.workspace.approval_policy = ApprovalPolicy.OFF
    team.workspace.save(update_fields=["approval_policy"])
    editors = _submitted(team, demo_accounts, who="editor")
    admins = _submitted(team, demo_accounts, who="admin")
    draft = services.post_create(actor=team.membership("editor"), data=_input(demo_accounts))
    assert editors.approval == A.NONE
    assert set(editors.targets.values_list("status", flat=True)) == {S.SCHEDULED}
    with django_capture_on_commit_callbacks(execute=True):
        workspace_update(actor=team.membership("owner"), name="Acme", timezone_name="Europe/Paris",
                         approval_policy=ApprovalPolicy.EDITORS)  # fmt: skip
    editors.refresh_from_db()
    assert editors.approval == A.PENDING
    assert set(editors.targets.values_list("status", flat=True)) == {S.AWAITING_APPROVAL}
    assert "approval.requested" in _types(editors)
    assert Notification.objects.filter(user=team.users["admin"], title__contains="now waits for approval").exists()
    assert Post.objects.get(pk=admins.pk).approval == A.NONE  # admins still need none under "editors"
    assert set(Target.objects.filter(post=draft).values_list("status", flat=True)) == {S.DRAFT}
    assert engine.targets_claim_due() == []  # nothing due yet either way; and the held post is not claimable
    # Tightened to "everyone", the admin's post waits as well; approving it schedules it as asked.
    workspace_update(actor=team.membership("owner"), name="Acme", timezone_name="Europe/Paris",
                     approval_policy=ApprovalPolicy.EVERYONE)  # fmt: skip
    assert Post.objects.get(pk=admins.pk).approval == A.PENDING
    approved = approvals.post_approve(actor=team.membership("owner"), post=Post.objects.get(pk=editors.pk))
    assert approved.status == Post.Status.SCHEDULED
    assert approved.scheduled_at == editors.scheduled_at


def test_the_settings_page_sets_the_policy(team):
    client = team.client("admin")
    data = {"name": "Acme", "timezone": "Europe/Paris", "approval_policy": "everyone"}
    assert client.post(reverse("workspace_settings"), data).status_code == 302
    team.workspace.refresh_from_db()
    assert team.workspace.approval_policy == ApprovalPolicy.EVERYONE
    bad = client.post(reverse("workspace_settings"), {**data, "approval_policy": "sometimes"})
    assert bad.status_code == 400
