"""The publishing services called directly, as the REST API will call them: roles, every rule,
nothing half-written, and the events that tell the post's history."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Actor
from connections.models import SocialAccount
from events.models import Event
from publishing import services
from publishing.inputs import Attachment, PartInput, PostInput, Problem, When, problems_of
from publishing.models import ContentMedia, Media, Post, PostContent, PostingSlot, Target

UTC = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
K = PostContent.Kind


def _input(accounts, text="Hello", when=None, **changes) -> PostInput:
    return PostInput(
        parts=changes.pop("parts", [PartInput(text=text)]),
        account_ids=[a.id for a in accounts],
        when=when or When.draft(),
        **changes,
    )


def _media(workspace, name="dot.png", mime_type="image/png", size=1000) -> Media:
    return Media.objects.create(
        workspace=workspace, file=f"media/{name}", sha256=name.ljust(64, "0"), original_name=name,
        mime_type=mime_type, size=size,
    )  # fmt: skip


def _attached(accounts, *media: Media, alt: str = "") -> PostInput:
    return _input(accounts, parts=[PartInput("m", attachments=tuple(Attachment(m.id, alt) for m in media))])


def _fields(exc: ValidationError) -> set[tuple[str, str]]:
    return {(problem.field, problem.code) for problem in problems_of(exc)}


def _nothing_written() -> None:
    counts = (
        Post.objects.count(),
        PostContent.objects.count(),
        Target.objects.count(),
        Event.objects.filter(post_id__isnull=False).count(),
    )
    assert counts == (0, 0, 0, 0)


def api_key(team, role: str = "editor") -> Actor:
    return Actor(workspace=team.workspace, role=role, user=None, api_key_id=7, label="API key ci-bot")


# --- Who may act --------------------------------------------------------------------------------


@pytest.fixture
def draft(team, demo_accounts) -> Post:
    return services.post_create(actor=team.membership("editor"), data=_input(demo_accounts[:1]))


ACTIONS = {
    "validate": lambda team, accounts, post: services.post_validate(actor=team.actor, data=_input(accounts)),
    "preview": lambda team, accounts, post: services.post_preview(actor=team.actor, data=_input(accounts)),
    "create": lambda team, accounts, post: services.post_create(actor=team.actor, data=_input(accounts)),
    "update": lambda team, accounts, post: services.post_update(actor=team.actor, post=post, data=_input(accounts)),
    "reschedule": lambda team, accounts, post: services.post_reschedule(
        actor=team.actor, post=post, at=timezone.now() + timedelta(days=1)
    ),
    "queue": lambda team, accounts, post: services.post_queue(actor=team.actor, post=post),
    "cancel": lambda team, accounts, post: services.post_cancel(actor=team.actor, post=post),
    "slot_add": lambda team, accounts, post: services.posting_slot_add(
        actor=team.actor, account=accounts[0], weekdays=[0], at=time(9)
    ),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_viewers_are_refused_by_the_service_itself(team, demo_accounts, draft, action):
    before = (Post.objects.count(), Event.objects.count(), PostingSlot.objects.count(), draft.updated_at)
    team.actor = team.membership("viewer")
    with pytest.raises(PermissionDenied):
        ACTIONS[action](team, demo_accounts, draft)
    draft.refresh_from_db()
    assert (Post.objects.count(), Event.objects.count(), PostingSlot.objects.count(), draft.updated_at) == before


@pytest.mark.parametrize("who", ["editor", "admin", "api key"])
@pytest.mark.parametrize("action", ACTIONS)
def test_editors_admins_and_editor_keys_may(team, demo_accounts, draft, action, who):
    PostingSlot.objects.create(account=demo_accounts[0], weekday=0, time=time(9))  # for "queue"
    team.actor = api_key(team) if who == "api key" else team.membership(who)
    ACTIONS[action](team, demo_accounts, draft)


def test_slot_removal_is_for_editors(team, demo_accounts):
    slot = PostingSlot.objects.create(account=demo_accounts[0], weekday=0, time=time(9))
    with pytest.raises(PermissionDenied):
        services.posting_slot_remove(actor=team.membership("viewer"), slot=slot)
    services.posting_slot_remove(actor=team.membership("editor"), slot=slot)
    assert not PostingSlot.objects.exists()


def test_a_viewer_key_cannot_upload_media(team):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from publishing.media import media_store
    from tests.publishing.test_composer import tiny_png

    with pytest.raises(PermissionDenied):
        media_store(actor=api_key(team, role="viewer"), upload=SimpleUploadedFile("a.png", tiny_png()))
    assert media_store(actor=api_key(team), upload=SimpleUploadedFile("a.png", tiny_png())).uploaded_by is None


def test_another_workspaces_objects_are_not_found(team, demo_accounts, draft):
    from tests.fixtures import make_user

    stranger = Actor(workspace=team.other_workspace, role="owner", user=make_user(), label="Stranger")
    for call in (
        lambda: services.post_update(actor=stranger, post=draft, data=_input([])),
        lambda: services.post_cancel(actor=stranger, post=draft),
        lambda: services.post_reschedule(actor=stranger, post=draft, at=timezone.now() + timedelta(days=1)),
        lambda: services.post_queue(actor=stranger, post=draft),
        lambda: services.post_validate(actor=stranger, data=_input([]), post=draft),
    ):
        with pytest.raises(Post.DoesNotExist):
            call()
    with pytest.raises(SocialAccount.DoesNotExist):
        services.posting_slot_add(actor=stranger, account=demo_accounts[0], weekdays=[1], at=time(9))
    draft.refresh_from_db()
    assert draft.status == Post.Status.DRAFT


# --- Every rule, at the service -------------------------------------------------------------


@pytest.fixture
def mastodon(team) -> SocialAccount:
    return SocialAccount.objects.create(
        workspace=team.workspace, platform="mastodon", external_id="m.example:1", username="@ada@m.example",
        instance_url="https://m.example", secrets={"access_token": "t"},
    )  # fmt: skip


def _other_account(team, **fields) -> SocialAccount:
    defaults = {"workspace": team.other_workspace, "platform": "demo", "external_id": "z", "username": "@z"}
    return SocialAccount.objects.create(**{**defaults, **fields}, secrets={"access_token": "t"})


RULES = {
    "no account": (lambda t, a: _input([]), ("account_ids", "required")),
    "another workspace's account": (lambda t, a: _input([_other_account(t)]), ("account_ids", "unknown_account")),
    "a disconnected account": (
        lambda t, a: _input([_other_account(t, workspace=t.workspace, status="disconnected")]),
        ("account_ids", "unknown_account"),
    ),
    "nothing written": (lambda t, a: _input(a, text="  "), ("parts[0].text", "required")),
    "no parts": (lambda t, a: _input(a, parts=[]), ("parts", "no_main")),
    "a reply first": (lambda t, a: _input(a, parts=[PartInput("r", kind=K.REPLY)]), ("parts", "no_main")),
    "two main parts": (lambda t, a: _input(a, parts=[PartInput("m"), PartInput("m2")]), ("parts[1].kind", "kind")),
    "comment before a reply": (
        lambda t, a: _input(a, parts=[PartInput("m"), PartInput("c", K.FIRST_COMMENT), PartInput("r", K.REPLY)]),
        ("parts[1].kind", "kind"),
    ),
    "an empty reply": (
        lambda t, a: _input(a, parts=[PartInput("m"), PartInput(" ", K.REPLY)]),
        ("parts[1].text", "required"),
    ),
    "21 replies": (
        lambda t, a: _input(a, parts=[PartInput("m")] + [PartInput(f"r{i}", K.REPLY) for i in range(21)]),
        ("parts", "too_many_parts"),
    ),
    "too long for the platform": (lambda t, a: _input(a, text="x" * 501), ("parts[0].text", "too_long")),
    "a comment too long": (
        lambda t, a: _input(a, parts=[PartInput("m"), PartInput("c" * 501, K.FIRST_COMMENT)]),
        ("parts[1].text", "too_long"),
    ),
    "override too long": (
        lambda t, a: _input(a, overrides={"demo": {"text": "x" * 501}}),
        ("overrides.demo.text", "too_long"),
    ),
    "another workspace's media": (
        lambda t, a: _attached(a, _media(t.other_workspace)),
        ("parts[0].attachments[0]", "unknown_media"),
    ),
    "too many files": (
        lambda t, a: _attached(a, *(_media(t.workspace, f"{i}.png") for i in range(5))),
        ("parts[0].attachments", "media"),
    ),
    "a type the platform refuses": (
        lambda t, a: _attached(a, _media(t.workspace, "v.avi", "video/x-msvideo")),
        ("parts[0].attachments", "media"),
    ),
    "a video too large": (  # images over a limit are fitted, not refused; video is not re-encoded
        lambda t, a: _attached(a, _media(t.workspace, "big.mp4", "video/mp4", size=2_000_000_000)),
        ("parts[0].attachments", "media"),
    ),
    "alt text too long": (
        lambda t, a: _attached(a, _media(t.workspace), alt="a" * 1501),
        ("parts[0].attachments[0].alt_text", "too_long"),
    ),
    "a javascript link": (lambda t, a: _input(a, link="javascript:alert(1)"), ("link", "invalid_link")),
    "a link too long": (lambda t, a: _input(a, link="https://example.com/" + "a" * 2000), ("link", "too_long")),
    "settings for a platform not picked": (
        lambda t, a: _input(a, overrides={"mastodon": {"text": "hi"}}),
        ("overrides.mastodon", "platform"),
    ),
    "an unknown setting": (
        lambda t, a: _input(a, overrides={"demo": {"colour": "red"}}),
        ("overrides.demo", "invalid"),
    ),
    "an option the platform lacks": (
        lambda t, a: _input(a, overrides={"demo": {"options": {"visibility": "public"}}}),
        ("overrides.demo.options.visibility", "option"),
    ),
    "a time in the past": (
        lambda t, a: _input(a, when=When.at(timezone.now() - timedelta(minutes=1))),
        ("when.at", "past"),
    ),
    "a time without a zone": (lambda t, a: _input(a, when=When.at(datetime(2031, 1, 1, 9))), ("when.at", "naive_time")),
    "a typo in the year": (
        lambda t, a: _input(a, when=When.at(timezone.now() + timedelta(days=6 * 365))),
        ("when.at", "too_far"),
    ),
    "a queue with no slots": (lambda t, a: _input(a, when=When.next_slot()), ("when", "no_slot")),
}  # fmt: skip


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_is_the_services_and_a_refused_post_writes_nothing(team, demo_accounts, rule):
    build, expected = RULES[rule]
    data = build(team, demo_accounts[:1])
    editor = team.membership("editor")
    assert expected in {(p.field, p.code) for p in services.post_validate(actor=editor, data=data)}
    with pytest.raises(ValidationError) as caught:
        services.post_create(actor=editor, data=data)
    assert expected in _fields(caught.value)
    _nothing_written()


def test_a_mastodon_option_outside_its_choices_names_them(team, mastodon):
    data = _input([mastodon], overrides={"mastodon": {"options": {"visibility": ["public"]}}})
    (problem,) = services.post_validate(actor=team.membership("editor"), data=data)
    assert problem == Problem(
        "overrides.mastodon.options.visibility",
        "Visibility for Mastodon must be one of: public, unlisted, private, direct.",
        "option",
    )
    data.overrides = {"mastodon": {"options": {"visibility": "unlisted"}}}
    post = services.post_create(actor=team.membership("editor"), data=data)
    assert post.overrides == {"mastodon": {"options": {"visibility": "unlisted"}}}


def test_all_problems_come_at_once_and_match_what_create_raises(team, demo_accounts):
    data = _input(demo_accounts, text="x" * 600, link="nope", when=When.at(timezone.now() - timedelta(hours=1)))
    problems = services.post_validate(actor=team.membership("editor"), data=data)
    assert [(p.field, p.code) for p in problems] == [
        ("link", "invalid_link"),
        ("parts[0].text", "too_long"),  # one per account: each platform measures for itself
        ("parts[0].text", "too_long"),
        ("when.at", "past"),
    ]
    assert "Demo network (@alpha): post is 600/500 — shorten it by 100." in [p.message for p in problems]
    with pytest.raises(ValidationError) as caught:
        services.post_create(actor=team.membership("editor"), data=data)
    assert problems_of(caught.value) == problems
    assert caught.value.message_dict["link"] == ["Enter a valid link, like https://example.com/article."]


def test_a_valid_input_has_no_problems(team, demo_accounts):
    media = _media(team.workspace)
    data = _input(
        demo_accounts, link="https://example.com/a", overrides={"demo": {"text": "short"}},
        parts=[PartInput("m", attachments=(Attachment(media.id, "alt"),)), PartInput("r", K.REPLY),
               PartInput("c", K.FIRST_COMMENT)],
        when=When.at(timezone.now() + timedelta(days=1)),
    )  # fmt: skip
    assert services.post_validate(actor=team.membership("editor"), data=data) == []
    post = services.post_create(actor=team.membership("editor"), data=data)
    assert list(post.contents.values_list("kind", flat=True)) == ["main", "reply", "first_comment"]
    assert ContentMedia.objects.get().alt_text == "alt"


def test_a_refused_edit_leaves_the_post_as_it_was(team, demo_accounts):
    editor = team.membership("editor")
    later = timezone.now() + timedelta(days=2)
    post = services.post_create(actor=editor, data=_input(demo_accounts[:1], text="v1", when=When.at(later)))
    before = (list(post.contents.values_list("text", flat=True)), list(post.targets.values_list("status", "due_at")))
    events = Event.objects.count()
    bad = _input(demo_accounts, text="v2" * 300, when=When.at(later + timedelta(days=1)))
    with pytest.raises(ValidationError):
        services.post_update(actor=editor, post=post, data=bad)
    post.refresh_from_db()
    after = (list(post.contents.values_list("text", flat=True)), list(post.targets.values_list("status", "due_at")))
    assert (after, post.scheduled_at, Event.objects.count()) == (before, later, events)


def test_a_post_on_its_way_cannot_be_edited_moved_or_canceled(team, demo_accounts, draft):
    Target.objects.filter(post=draft).update(status="publishing")
    editor = team.membership("editor")
    assert [p.code for p in services.post_validate(actor=editor, data=_input(demo_accounts), post=draft)] == ["busy"]
    for call in (
        lambda: services.post_update(actor=editor, post=draft, data=_input(demo_accounts)),
        lambda: services.post_reschedule(actor=editor, post=draft, at=timezone.now() + timedelta(days=1)),
        lambda: services.post_cancel(actor=editor, post=draft),
    ):
        with pytest.raises(ValidationError) as caught:
            call()
        assert _fields(caught.value) == {("", "busy")}


def test_reschedule_refuses_a_past_time_and_changes_nothing(team, demo_accounts):
    later = timezone.now() + timedelta(days=2)
    post = services.post_create(actor=team.membership("editor"), data=_input(demo_accounts, when=When.at(later)))
    with pytest.raises(ValidationError) as caught:
        services.post_reschedule(actor=team.membership("editor"), post=post, at=timezone.now() - timedelta(seconds=1))
    assert caught.value.message_dict == {"at": ["That time has passed. Pick a time in the future, or publish now."]}
    post.refresh_from_db()
    assert post.scheduled_at == later
    assert set(post.targets.values_list("due_at", flat=True)) == {later}


def test_cancel_twice_is_harmless_and_a_published_post_has_nothing_to_cancel(team, demo_accounts, draft):
    editor = team.membership("editor")
    services.post_cancel(actor=editor, post=draft)
    services.post_cancel(actor=editor, post=draft)
    assert Event.objects.filter(type="post.canceled").count() == 1
    gone = services.post_create(actor=editor, data=_input(demo_accounts[:1], when=When.now()))
    Target.objects.filter(post=gone).update(status="published")
    with pytest.raises(ValidationError, match="Nothing left to cancel"):
        services.post_cancel(actor=editor, post=gone)


def test_slot_days_are_checked(team, demo_accounts):
    with pytest.raises(ValidationError) as caught:
        services.posting_slot_add(actor=team.membership("editor"), account=demo_accounts[0], weekdays=[7], at=time(9))
    assert _fields(caught.value) == {("weekdays", "invalid")}
    assert not PostingSlot.objects.exists()


# --- The queue ------------------------------------------------------------------------------


def test_queue_takes_free_slots_across_the_spring_change(team, demo_accounts, time_machine):
    time_machine.move_to(datetime(2026, 3, 27, 12, 0, tzinfo=UTC), tick=False)  # a Friday; clocks go forward Sunday
    account = demo_accounts[0]
    for weekday in range(7):
        PostingSlot.objects.create(account=account, weekday=weekday, time=time(9))
    editor = team.membership("editor")
    first = services.post_create(actor=editor, data=_input([account], when=When.next_slot()))
    second = services.post_create(actor=editor, data=_input([account], when=When.next_slot()))
    assert first.scheduled_at == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # Saturday 09:00 CET
    assert second.scheduled_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # Sunday 09:00 CEST
    # Editing a queued post keeps its own slot rather than jumping past it.
    services.post_update(actor=editor, post=first, data=_input([account], text="edited", when=When.next_slot()))
    first.refresh_from_db()
    assert first.scheduled_at == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    # A draft queued later takes the next free one.
    draft = services.post_create(actor=editor, data=_input([account]))
    queued = services.post_queue(actor=editor, post=draft)
    assert queued.scheduled_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert queued.status == Post.Status.SCHEDULED
    assert queued.targets.get().next_attempt_at == queued.scheduled_at


def test_queueing_without_slots_says_what_to_do(team, demo_accounts, draft):
    with pytest.raises(ValidationError) as caught:
        services.post_queue(actor=team.membership("editor"), post=draft)
    assert "no posting slots" in caught.value.message_dict["when"][0]
    draft.refresh_from_db()
    assert draft.status == Post.Status.DRAFT


# --- Events ---------------------------------------------------------------------------------


def _history(post: Post) -> list[tuple[str, str, dict]]:
    # The post's own events (target moves are the engine's story, told by the same outbox).
    return [(e.type, e.actor_label, e.payload) for e in Event.objects.filter(post_id=post.pk, subject_type="post")]


def test_events_tell_who_did_what_and_when(team, demo_accounts):
    ana = team.membership("editor")
    ana.user.name = "Ana"
    ana.user.save()
    at = datetime(2031, 5, 1, 7, 12, tzinfo=UTC)
    post = services.post_create(actor=ana, data=_input(demo_accounts, when=When.at(at)))
    iso = "2031-05-01T07:12:00+00:00"
    ids = sorted(a.id for a in demo_accounts)
    assert _history(post) == [
        ("post.created", "Ana", {"accounts": ids, "parts": 1}),
        ("post.scheduled", "Ana", {"scheduled_at": iso, "when": "at"}),
    ]
    event = Event.objects.get(type="post.scheduled")
    assert (event.actor_user_id, event.subject_type, event.subject_id, event.workspace_id) == (
        ana.user_id, "post", post.pk, team.workspace.pk,
    )  # fmt: skip
    later = at + timedelta(hours=1)
    services.post_update(actor=ana, post=post, data=_input(demo_accounts[:1], text="v2", when=When.at(later)))
    services.post_reschedule(actor=api_key(team), post=post, at=later + timedelta(days=1))
    services.post_update(actor=ana, post=post, data=_input(demo_accounts[:1], text="v3"))
    services.post_cancel(actor=ana, post=post)
    assert _history(post)[2:] == [
        ("post.updated", "Ana", {"accounts": [demo_accounts[0].id], "parts": 1}),
        ("post.rescheduled", "Ana", {"previous": iso, "scheduled_at": "2031-05-01T08:12:00+00:00", "when": "at"}),
        ("post.rescheduled", "API key ci-bot",
         {"previous": "2031-05-01T08:12:00+00:00", "scheduled_at": "2031-05-02T08:12:00+00:00", "when": "at"}),
        ("post.updated", "Ana", {"accounts": [demo_accounts[0].id], "parts": 1}),
        ("post.draft_saved", "Ana", {}),
        ("post.canceled", "Ana", {"targets": 1}),
    ]  # fmt: skip
    assert Event.objects.get(actor_label="API key ci-bot").actor_user_id is None


def test_a_draft_then_scheduled_says_scheduled(team, demo_accounts, draft):
    posts = Event.objects.filter(subject_type="post")
    assert [e.type for e in posts] == ["post.created", "post.draft_saved"]
    services.post_reschedule(actor=team.membership("editor"), post=draft, at=datetime(2031, 1, 1, 9, tzinfo=UTC))
    assert posts.last().type == "post.scheduled"


# --- The form shows the services' messages next to its fields -------------------------------


def test_the_composer_shows_service_problems_next_to_their_fields(team, demo_accounts):
    response = team.client("editor").post(
        reverse("compose"),
        {"accounts": [demo_accounts[0].id], "text": "x" * 501, "first_comment": "c" * 502, "link": "http://",
         "when": "schedule", "date": "2031-01-01"},
    )  # fmt: skip
    errors = response.context["form"].errors
    assert response.status_code == 400
    assert errors["text"] == ["Demo network (@alpha): post is 501/500 — shorten it by 1."]
    assert errors["first_comment"] == ["Demo network (@alpha): first comment is 502/500 — shorten it by 2."]
    assert errors["link"] == ["Enter a valid link, like https://example.com/article."]
    assert errors["date"] == ["Pick a date and a time."]  # a parse error, listed with the rules' at once
    assert not Post.objects.exists()


def test_the_composer_shows_account_and_time_problems_where_they_belong(team, demo_accounts):
    other = _other_account(team)
    response = team.client("editor").post(
        reverse("compose"),
        {"accounts": [other.id], "text": "hi", "when": "schedule", "date": "2020-01-01", "time": "10:00"},
    )
    errors = response.context["form"].errors
    assert errors["accounts"] == ["Pick accounts that are connected and active in this workspace."]
    assert errors["time"] == ["That time has passed. Pick a time in the future, or publish now."]
    response = team.client("editor").post(reverse("compose"), {"accounts": [demo_accounts[0].id], "text": "q",
                                                               "when": "queue"})  # fmt: skip
    assert response.context["form"].errors["when"][0].startswith("These accounts have no posting slots yet")
    assert not Post.objects.exists()
