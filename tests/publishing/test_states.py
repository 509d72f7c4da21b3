"""The declared state graph: every allowed edge moves and writes its event; every other edge is refused."""

import itertools

import pytest
from django.db import transaction

from events.models import Event
from publishing.models import Post, Target, TargetPart
from publishing.states import PART_EDGES, TARGET_EDGES, ImpossibleTransition, part_move, target_move, targets_move

T = Target.Status
P = TargetPart.Status


@pytest.fixture
def target(team, demo_accounts):
    post = Post.objects.create(workspace=team.workspace, author=team.users["editor"])
    return Target.objects.create(workspace=team.workspace, post=post, account=demo_accounts[0])


@pytest.mark.parametrize(("source", "to"), list(itertools.product(T.values, T.values)))
def test_every_target_edge(target, source, to):
    Target.objects.filter(pk=target.pk).update(status=source)
    target.status = source
    moved = target_move(target, to)
    assert moved == (to in TARGET_EDGES[source])
    assert Target.objects.get(pk=target.pk).status == (to if moved else source)
    events = list(Event.objects.filter(subject_type="target", subject_id=target.pk).values_list("type", flat=True))
    assert events == ([f"target.{to}"] if moved else [])


@pytest.mark.parametrize(("source", "to"), list(itertools.product(P.values, P.values)))
def test_every_part_edge(target, source, to):
    part = TargetPart.objects.create(target=target, position=0, kind="main", status=source)
    moved = part_move(part, to, target=target)
    assert moved == (to in PART_EDGES[source])
    assert TargetPart.objects.get(pk=part.pk).status == (to if moved else source)
    event = Event.objects.filter(subject_type="part", subject_id=part.pk).first()
    assert (event.type if event else None) == (f"part.{to}" if moved else None)
    if moved:
        assert (event.post_id, event.payload["target_id"]) == (target.post_id, target.id)


def test_every_status_is_in_the_graph():
    assert set(TARGET_EDGES) == set(T.values)
    assert set(PART_EDGES) == set(P.values)
    assert not TARGET_EDGES[T.PUBLISHED], "published is final"
    assert not PART_EDGES[P.PUBLISHED], "a landed part is final"


def test_naming_a_source_outside_the_graph_is_refused(target):
    with pytest.raises(ImpossibleTransition):
        target_move(target, T.PUBLISHED, only_from=[T.SCHEDULED])


def test_a_narrowed_source_is_respected(target):
    Target.objects.filter(pk=target.pk).update(status=T.FAILED)
    assert not target_move(target, T.SCHEDULED, only_from=[T.UNKNOWN])
    assert Target.objects.get(pk=target.pk).status == T.FAILED


def test_bulk_moves_name_exactly_the_rows_they_changed(target, team, demo_accounts):
    other = Target.objects.create(
        workspace=team.workspace, post=target.post, account=demo_accounts[1], status=T.PUBLISHED
    )
    Target.objects.filter(pk=target.pk).update(status=T.SCHEDULED)
    moved = targets_move(Target.objects.filter(post=target.post), T.CANCELED)
    assert moved == [target.pk]
    assert Target.objects.get(pk=other.pk).status == T.PUBLISHED
    assert list(Event.objects.filter(subject_type="target").values_list("subject_id", "type")) == [
        (target.pk, "target.canceled")
    ]


def test_the_event_rolls_back_with_its_change(target):
    Target.objects.filter(pk=target.pk).update(status=T.SCHEDULED)

    def cancel_then_fail() -> None:
        with transaction.atomic():
            target_move(target, T.CANCELED)
            raise RuntimeError("the change around it failed")

    with pytest.raises(RuntimeError):
        cancel_then_fail()
    assert Target.objects.get(pk=target.pk).status == T.SCHEDULED
    assert not Event.objects.filter(subject_type="target").exists()


def test_events_record_who_acted(target, team):
    Target.objects.filter(pk=target.pk).update(status=T.SCHEDULED)
    target_move(target, T.CANCELED, actor=team.membership("editor"))
    event = Event.objects.get(subject_type="target")
    assert event.actor_user == team.users["editor"]
    assert event.actor_label == team.users["editor"].display_name
    assert event.public_id.startswith("evt_")


def test_admin_cannot_change_a_status(target, team, client):
    from accounts.models import User

    admin = User.objects.create_superuser(email="root@example.com", password="pw-pw-pw-pw-12")
    client.force_login(admin)
    Target.objects.filter(pk=target.pk).update(status=T.SCHEDULED)
    url = f"/admin/publishing/target/{target.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="status"' not in page.content
    client.post(url, {"status": T.PUBLISHED, "due_at_0": "", "due_at_1": ""})
    assert Target.objects.get(pk=target.pk).status == T.SCHEDULED


# --- moves_apply: the engine's one-statement moves (PostgreSQL) and their fallback ----------

from datetime import UTC, datetime  # noqa: E402

from publishing import states  # noqa: E402
from publishing.states import moves_apply, part_move_planned, target_move_planned  # noqa: E402

LANDED_AT = datetime(2026, 12, 1, 10, 0, 0, 400000, tzinfo=UTC)


def _landing(target, part):
    landing = part_move_planned(
        part, P.PUBLISHED, target=target, only_from=[P.SENDING], platform_post_id="p-1", url="https://x.test/p-1",
        facts={"cid": "bafy"}, state={}, landed_at=LANDED_AT, payload={"platform_post_id": "p-1"},
    )  # fmt: skip
    published = target_move_planned(
        target, T.PUBLISHED, only_from=[T.PUBLISHING], after=landing, finished_at=LANDED_AT, platform_post_id="p-1"
    )
    return landing, published


def _sending(target):
    Target.objects.filter(pk=target.pk).update(status=T.PUBLISHING)
    target.status = T.PUBLISHING
    return TargetPart.objects.create(target=target, position=0, kind="main", status=P.SENDING, state={"a": 1})


def _written(target, part):
    part_row = TargetPart.objects.values("status", "platform_post_id", "url", "facts", "landed_at").get(pk=part.pk)
    target_row = Target.objects.values("status", "finished_at", "platform_post_id").get(pk=target.pk)
    events = list(Event.objects.filter(post_id=target.post_id).order_by("seq").values("type", "payload", "actor_label"))
    return part_row, target_row, events, TargetPart.objects.get(pk=part.pk).state


@pytest.mark.parametrize("path", ["auto", "one_by_one"])
def test_a_landing_and_its_target_move_together_with_their_events(target, path, monkeypatch):
    if path == "one_by_one":
        monkeypatch.setattr(states.connection, "vendor", "other")  # the fallback, on any database
    part = _sending(target)
    assert moves_apply(list(_landing(target, part))) == [True, True]
    part_row, target_row, events, state = _written(target, part)
    assert part_row == {"status": P.PUBLISHED, "platform_post_id": "p-1", "url": "https://x.test/p-1",
                        "facts": {"cid": "bafy"}, "landed_at": LANDED_AT}  # fmt: skip
    assert target_row == {"status": T.PUBLISHED, "finished_at": LANDED_AT, "platform_post_id": "p-1"}
    assert [e["type"] for e in events] == ["part.published", "target.published"]
    assert events[0]["payload"] == {"target_id": target.id, "position": 0, "kind": "main", "platform_post_id": "p-1"}
    assert state == {}, "the resume state is cleared (and still decrypts)"
    assert (part.status, target.status, target.platform_post_id) == (P.PUBLISHED, T.PUBLISHED, "p-1")
    assert len({e.public_id for e in Event.objects.filter(post_id=target.post_id)}) == 2


@pytest.mark.parametrize("path", ["auto", "one_by_one"])
def test_a_dependent_move_waits_for_the_one_before_it(target, path, monkeypatch):
    if path == "one_by_one":
        monkeypatch.setattr(states.connection, "vendor", "other")
    part = _sending(target)
    TargetPart.objects.filter(pk=part.pk).update(status=P.UNKNOWN)  # another run took the part over
    assert moves_apply(list(_landing(target, part))) == [False, False]
    part_row, target_row, events, state = _written(target, part)
    assert (part_row["status"], target_row["status"], events) == (P.UNKNOWN, T.PUBLISHING, [])
    assert state == {"a": 1}


@pytest.mark.parametrize("path", ["auto", "one_by_one"])
def test_a_column_update_rides_on_a_landing(target, path, monkeypatch):
    """A first part landing on a target that has more to send: the target takes its ids only."""
    if path == "one_by_one":
        monkeypatch.setattr(states.connection, "vendor", "other")
    part = _sending(target)
    landing, _ = _landing(target, part)
    ids = {"platform_post_id": "p-1", "url": "https://x.test/p-1"}
    assert moves_apply([landing], fields_only=[(landing, target, ids)]) == [True]
    assert Target.objects.values("status", "platform_post_id", "url").get(pk=target.pk) == {
        "status": T.PUBLISHING,
        **ids,
    }
    assert [e.type for e in Event.objects.filter(post_id=target.post_id)] == ["part.published"]


def test_moves_apply_refuses_expressions(target):
    from django.db.models import F

    part = _sending(target)
    with pytest.raises(ValueError, match="plain values"):
        moves_apply([part_move_planned(part, P.PUBLISHED, target=target, attempts=F("attempts") + 1)])
