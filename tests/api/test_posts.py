"""/posts through the API: the same services as the dashboard, with the key as actor."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Notification
from publishing.models import Post, PostContent, Target, TargetPart
from publishing.rollup import tell_author
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.django_db


def body(accounts, **extra):
    return {"containers": [{"text": "Hello from the API"}], "accounts": [a.id for a in accounts], **extra}


def test_create_a_scheduled_post_with_first_comment_and_thread(api, keys, demo_accounts):
    at = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    containers = [{"text": "main"}, {"text": "first comment"}, {"text": "reply one"}, {"text": "reply two"}]
    response = api.post("/posts", keys.write, body(demo_accounts, containers=containers, scheduled_at=at.isoformat(),
                                                   tenant_id="cust-1", external_ref="order-9"))  # fmt: skip
    assert response.status_code == 201, response.content
    data = response.json()
    post = Post.objects.get(pk=data["id"])
    assert response["Location"] == f"/api/v1/posts/{post.pk}"
    assert post.author is None
    assert post.tenant_id == "cust-1"
    assert post.external_ref == "order-9"
    assert post.scheduled_at == at
    assert data["status"] == "scheduled"
    kinds = list(post.contents.order_by("position").values_list("kind", "text"))
    assert kinds == [
        ("main", "main"),
        ("reply", "reply one"),
        ("reply", "reply two"),
        ("first_comment", "first comment"),
    ]
    assert [c["text"] for c in data["containers"]] == ["main", "first comment", "reply one", "reply two"]
    assert sorted(data["accounts"]) == sorted(a.id for a in demo_accounts)
    assert {t["status"] for t in data["targets"]} == {"scheduled"}
    # The history names the key, not a person.
    from events.models import Event

    assert Event.objects.filter(post_id=post.pk, type="post.created").get().actor_label == "API key ci-bot"


def test_a_thread_without_first_comment_leaves_container_one_empty(api, keys, demo_accounts):
    response = api.post(
        "/posts", keys.write, body(demo_accounts, containers=[{"text": "a"}, {"text": ""}, {"text": "b"}])
    )
    assert response.status_code == 201, response.content
    assert [c["text"] for c in response.json()["containers"]] == ["a", "", "b"]
    post = Post.objects.get(pk=response.json()["id"])
    assert list(post.contents.values_list("kind", flat=True)) == [PostContent.Kind.MAIN, PostContent.Kind.REPLY]


def test_validation_errors_name_the_api_fields(api, keys, demo_accounts):
    containers = [{"text": "ok"}, {"text": "c"}, {"text": "  "}]
    response = api.post("/posts", keys.write, body(demo_accounts, containers=containers))
    problem = assert_problem(response, 422, "POSTWRIGHT/VALIDATION")
    message = "This thread reply is empty: write it or remove it."
    assert problem["errors"] == [{"field": "containers[2].text", "message": message, "code": "required"}]
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    problem = assert_problem(api.post("/posts", keys.write, body(demo_accounts, scheduled_at=past)), 422)
    assert [e["field"] for e in problem["errors"]] == ["scheduled_at"]
    assert not Post.objects.exists()


def test_schema_errors_are_problems_with_fields(api, keys, demo_accounts):
    problem = assert_problem(api.post("/posts", keys.write, {"containers": [], "accounts": [0]}), 422)
    fields = {e["field"] for e in problem["errors"]}
    assert {"containers", "accounts[0]"} <= fields
    both = body(demo_accounts, publish_now=True, queue=True)
    assert_problem(api.post("/posts", keys.write, both), 422, "POSTWRIGHT/VALIDATION")
    nul = body(demo_accounts, containers=[{"text": "a\x00b"}])
    assert assert_problem(api.post("/posts", keys.write, nul), 422)["errors"][0]["field"] == "containers[0].text"
    bad_json = api.client.post("/api/v1/posts", data="{not json", content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {keys.write}")  # fmt: skip
    assert bad_json.status_code in (400, 422)
    assert bad_json["Content-Type"] == "application/problem+json"


def test_someone_elses_account_is_refused(api, keys, team, demo_accounts):
    response = api.post("/posts", keys.outsider, body(demo_accounts))
    assert assert_problem(response, 422)["errors"][0]["field"] == "accounts"


def test_read_only_and_expired_keys(api, keys, demo_accounts):
    assert_problem(api.post("/posts", keys.read, body(demo_accounts)), 403, "POSTWRIGHT/FORBIDDEN")
    assert_problem(api.post("/posts", keys.expired, body(demo_accounts)), 401, "POSTWRIGHT/UNAUTHORIZED")
    assert not Post.objects.exists()


def _post(api, keys, demo_accounts, **extra) -> dict:
    response = api.post("/posts", keys.write, body(demo_accounts, **extra))
    assert response.status_code == 201, response.content
    return response.json()


def test_get_owner_reader_outsider(api, keys, demo_accounts):
    post = _post(api, keys, demo_accounts)
    assert api.get(f"/posts/{post['id']}", keys.write).json()["id"] == post["id"]
    assert api.get(f"/posts/{post['id']}", keys.read).status_code == 200
    assert_problem(api.get(f"/posts/{post['id']}", keys.outsider), 404, "POSTWRIGHT/NOT_FOUND")
    assert_problem(api.get(f"/posts/{post['id']}", keys.expired), 401)
    assert_problem(api.get("/posts/99999999999999999999", keys.write), 422)  # past any id: refused, not a 500


def test_get_shows_every_target_and_part(api, keys, demo_accounts):
    post = _post(api, keys, demo_accounts)
    target = Target.objects.filter(post_id=post["id"]).first()
    Target.objects.filter(pk=target.pk).update(status=Target.Status.FAILED, error_code="POSTWRIGHT/DEMO/REFUSED",
                                               error_message="Refused by the network")  # fmt: skip
    TargetPart.objects.create(target=target, position=0, kind="main", status="published", platform_post_id="p1",
                              url="https://demo.example/p1")  # fmt: skip
    data = api.get(f"/posts/{post['id']}", keys.read).json()
    shown = next(t for t in data["targets"] if t["id"] == target.pk)
    assert shown["error_code"] == "POSTWRIGHT/DEMO/REFUSED"
    assert shown["error_message"] == "Refused by the network"
    assert shown["parts"][0] | {"landed_at": None} == {
        "position": 0, "kind": "main", "status": "published", "platform_post_id": "p1",
        "url": "https://demo.example/p1", "error_code": "", "error_message": "", "landed_at": None,
        "removed_at": None,
    }  # fmt: skip


def test_list_filters_and_cursor(api, keys, demo_accounts, team):
    alpha, beta = demo_accounts
    ids = [_post(api, keys, [alpha], tenant_id="t1")["id"] for _ in range(3)]
    other = _post(api, keys, [beta], tenant_id="t2")["id"]
    page = api.get("/posts?limit=2", keys.read).json()
    assert [p["id"] for p in page["data"]] == [other, ids[2]]
    rest = api.get(f"/posts?limit=2&cursor={page['next_cursor']}", keys.read).json()
    assert [p["id"] for p in rest["data"]] == [ids[1], ids[0]]
    assert rest["next_cursor"] is None
    assert [p["id"] for p in api.get("/posts?tenant_id=t2", keys.read).json()["data"]] == [other]
    assert [p["id"] for p in api.get(f"/posts?account={beta.id}", keys.read).json()["data"]] == [other]
    assert api.get("/posts?status=scheduled", keys.read).json()["data"] == []
    assert len(api.get("/posts?status=draft", keys.read).json()["data"]) == 4
    assert api.get("/posts", keys.outsider).json()["data"] == []
    assert_problem(api.get("/posts?cursor=nonsense", keys.read), 422)
    assert_problem(api.get("/posts?status=bogus", keys.read), 422)


def test_list_reads_a_fixed_number_of_queries(api, keys, demo_accounts, django_assert_max_num_queries):
    for _ in range(5):
        _post(api, keys, demo_accounts)
    with django_assert_max_num_queries(14):
        assert len(api.get("/posts?limit=5", keys.read).json()["data"]) == 5


def test_update_reschedule_cancel(api, keys, demo_accounts):
    post = _post(api, keys, demo_accounts, tenant_id="t1")
    at = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    changed = api.put(f"/posts/{post['id']}", keys.write, body(demo_accounts[:1], containers=[{"text": "edited"}],
                                                               scheduled_at=at.isoformat()))  # fmt: skip
    assert changed.status_code == 200, changed.content
    data = changed.json()
    assert data["containers"][0]["text"] == "edited"
    assert len(data["targets"]) == 1
    assert data["tenant_id"] == "t1"
    later = at + timedelta(hours=3)
    moved = api.post(f"/posts/{post['id']}/reschedule", keys.write, {"scheduled_at": later.isoformat()})
    assert moved.status_code == 200
    assert Post.objects.get(pk=post["id"]).scheduled_at == later
    assert_problem(api.post(f"/posts/{post['id']}/reschedule", keys.read, {"scheduled_at": later.isoformat()}), 403)
    assert_problem(api.post(f"/posts/{post['id']}/cancel", keys.outsider), 404)
    assert_problem(api.post(f"/posts/{post['id']}/cancel", keys.read), 403)
    canceled = api.post(f"/posts/{post['id']}/cancel", keys.write)
    assert canceled.json()["status"] == "canceled"


def test_a_post_being_published_cannot_be_changed(api, keys, demo_accounts):
    post = _post(api, keys, demo_accounts)
    Target.objects.filter(post_id=post["id"]).update(status=Target.Status.PUBLISHING)
    response = api.put(f"/posts/{post['id']}", keys.write, body(demo_accounts))
    assert_problem(response, 409, "POSTWRIGHT/CONFLICT")


def test_retry_sends_the_failed_parts_again(api, keys, demo_accounts):
    post = _post(api, keys, demo_accounts)
    assert_problem(api.post(f"/posts/{post['id']}/retry", keys.write), 409, "POSTWRIGHT/CONFLICT")
    target = Target.objects.filter(post_id=post["id"]).first()
    Target.objects.filter(pk=target.pk).update(status=Target.Status.FAILED)
    TargetPart.objects.create(target=target, position=0, kind="main", status="published", platform_post_id="p1")
    TargetPart.objects.create(target=target, position=1, kind="reply", status="failed", error_message="x")
    assert_problem(api.post(f"/posts/{post['id']}/retry", keys.read), 403)
    response = api.post(f"/posts/{post['id']}/retry", keys.write)
    assert response.status_code == 200, response.content
    target.refresh_from_db()
    assert target.status == Target.Status.SCHEDULED
    assert dict(target.parts.values_list("position", "status")) == {0: "published", 1: "pending"}


def test_tenant_restricted_key(api, team, demo_accounts):
    from tests.api.conftest import make_key

    key = make_key(team.workspace, tenant_ids=["t1"])
    assert_problem(api.post("/posts", key, body(demo_accounts, tenant_id="t2")), 403)
    assert_problem(api.post("/posts", key, body(demo_accounts)), 403)
    mine = api.post("/posts", key, body(demo_accounts, tenant_id="t1")).json()["id"]
    theirs = Post.objects.create(workspace=team.workspace, tenant_id="t2")
    assert [p["id"] for p in api.get("/posts", key).json()["data"]] == [mine]
    assert_problem(api.get(f"/posts/{theirs.pk}", key), 404)


def test_failures_of_api_posts_are_told_to_the_admins(api, keys, team, demo_accounts):
    post = _post(api, keys, demo_accounts)
    target = Target.objects.filter(post_id=post["id"]).first()
    Target.objects.filter(pk=target.pk).update(status=Target.Status.FAILED, error_message="Refused")
    tell_author(target_id=target.pk)
    told = set(Notification.objects.values_list("user__email", flat=True))
    assert told == {"owner@example.com", "admin@example.com"}


def test_dashboard_post_page_shows_the_tenant(api, keys, team, demo_accounts):
    post = _post(api, keys, demo_accounts, tenant_id="customer-42")
    page = team.client("viewer").get(f"/posts/{post['id']}/")
    assert page.status_code == 200
    assert b"customer-42" in page.content
