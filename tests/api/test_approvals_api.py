"""Posts made through the REST API follow the workspace's approval policy like any editor's: a
key acts as an admin, but is never its own reviewer, so what it schedules waits for a person and
nothing it calls sends it or approves it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApprovalPolicy, Notification
from publishing import approvals, engine
from publishing.models import Post, Target

pytestmark = pytest.mark.django_db


def _body(accounts, **extra):
    return {"containers": [{"text": "From the API"}], "accounts": [a.id for a in accounts], **extra}


@pytest.fixture
def editors_need_approval(team):
    team.workspace.approval_policy = ApprovalPolicy.EDITORS
    team.workspace.save(update_fields=["approval_policy"])


def test_an_api_post_waits_for_approval(api, keys, team, demo_accounts, editors_need_approval):
    created = api.post("/posts", keys.write, _body(demo_accounts, publish_now=True))
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["status"] == "awaiting_approval"
    assert {t["status"] for t in data["targets"]} == {"awaiting_approval"}
    assert engine.targets_claim_due() == []
    # Every admin and owner hears of it (the key has no person to leave out).
    told = set(Notification.objects.filter(title__contains="submitted").values_list("user__email", flat=True))
    assert told == {"owner@example.com", "admin@example.com"}
    # Moving it or replacing it through the API keeps it waiting.
    later = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    moved = api.post(f"/posts/{data['id']}/reschedule", keys.write, {"scheduled_at": later.isoformat()})
    assert moved.json()["status"] == "awaiting_approval"
    replaced = api.put(f"/posts/{data['id']}", keys.write, _body(demo_accounts, scheduled_at=later.isoformat()))
    assert replaced.json()["status"] == "awaiting_approval"
    assert engine.targets_claim_due() == []
    listed = api.get("/posts?status=awaiting_approval", keys.read).json()["data"]
    assert [item["id"] for item in listed] == [data["id"]]
    post = approvals.post_approve(actor=team.membership("admin"), post=Post.objects.get(pk=data["id"]))
    assert api.get(f"/posts/{post.pk}", keys.read).json()["status"] == "scheduled"
    assert set(Target.objects.filter(post=post).values_list("status", flat=True)) == {"scheduled"}


def test_without_the_policy_api_posts_schedule_directly(api, keys, demo_accounts):
    created = api.post("/posts", keys.write, _body(demo_accounts, publish_now=True))
    assert created.json()["status"] == "scheduled"


def test_an_api_key_cannot_approve(api, keys, team, demo_accounts, editors_need_approval):
    from django.core.exceptions import PermissionDenied

    from api.keys import api_key_actor_by_id
    from api.models import ApiKey

    created = api.post("/posts", keys.write, _body(demo_accounts, publish_now=True)).json()
    post = Post.objects.get(pk=created["id"])
    key = next(k for k in ApiKey.objects.all() if keys.write.startswith(k.prefix))
    with pytest.raises(PermissionDenied, match="a person reviews them"):
        approvals.post_approve(actor=api_key_actor_by_id(key.pk), post=post)
    post.refresh_from_db()
    assert post.approval == Post.Approval.PENDING
