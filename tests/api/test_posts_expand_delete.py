"""/posts: expand, and DELETE that deletes from the platforms that can."""

import pytest

from connections.providers.base import Connection, Profile
from connections.providers.demo.models import DemoPost
from connections.services import account_save
from events.models import Event
from publishing.models import Post, Target, TargetPart
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.django_db


def _post(api, keys, accounts, containers=None) -> dict:
    body = {"containers": containers or [{"text": "hello"}], "accounts": [a.id for a in accounts]}
    response = api.post("/posts", keys.write, body)
    assert response.status_code == 201, response.content
    return response.json()


def _landed(target: Target, account_handle: str, *positions: int) -> list[DemoPost]:
    """The target as the engine leaves it once its parts landed on the Demo network."""
    Target.objects.filter(pk=target.pk).update(status=Target.Status.PUBLISHED)
    posts = []
    for position in positions:
        demo = DemoPost.objects.create(account_external_id=account_handle, text="x", idempotency_key=f"k{position}")
        TargetPart.objects.create(target=target, position=position, kind="main" if position == 0 else "reply",
                                  status="published", platform_post_id=demo.post_id)  # fmt: skip
        posts.append(demo)
    return posts


def test_expand_embeds_accounts_and_media(api, keys, demo_accounts, django_assert_max_num_queries):
    post = _post(api, keys, demo_accounts)
    plain = api.get(f"/posts/{post['id']}", keys.read).json()
    assert "account" not in plain["targets"][0] or plain["targets"][0]["account"] is None
    expanded = api.get(f"/posts/{post['id']}?expand=targets.account", keys.read).json()
    accounts = {t["account"]["id"]: t["account"] for t in expanded["targets"]}
    assert accounts[demo_accounts[0].id]["username"] == "@alpha"
    assert accounts[demo_accounts[0].id]["status"] == "active"
    for _ in range(3):
        _post(api, keys, demo_accounts)
    with django_assert_max_num_queries(14):  # still a fixed number with the accounts embedded
        page = api.get("/posts?expand=targets.account&limit=4", keys.read).json()
    assert all(t["account"]["platform"] == "demo" for p in page["data"] for t in p["targets"])
    assert_problem(api.get(f"/posts/{post['id']}?expand=everything", keys.read), 422)


def test_expand_media(api, keys, demo_accounts, settings, tmp_path):
    from django.core.files.base import ContentFile

    from publishing.media import media_store
    from tests.publishing.test_media import phone_photo

    settings.MEDIA_ROOT = tmp_path
    media = media_store(actor=keys_actor(keys), upload=ContentFile(phone_photo(), name="a.jpg"))
    post = _post(api, keys, demo_accounts[:1], [{"text": "pic", "media": [{"media_id": media.pk, "alt_text": "A"}]}])
    data = api.get(f"/posts/{post['id']}?expand=containers.media", keys.read).json()
    item = data["containers"][0]["media"][0]
    assert (item["media_id"], item["alt_text"], item["media"]["kind"], item["media"]["status"]) == (
        media.pk, "A", "image", "ready")  # fmt: skip


def keys_actor(keys):
    from api.keys import api_key_actor
    from api.models import ApiKey

    return api_key_actor(ApiKey.objects.get(prefix=keys.write[:16]))


def test_delete_removes_every_landed_part_then_the_post(api, keys, demo_accounts):
    post = _post(api, keys, demo_accounts)
    alpha = Target.objects.get(post_id=post["id"], account=demo_accounts[0])
    demo_posts = _landed(alpha, "alpha", 0, 1)
    assert_problem(api.delete(f"/posts/{post['id']}", keys.read), 403)
    assert_problem(api.delete(f"/posts/{post['id']}", keys.outsider), 404)
    response = api.delete(f"/posts/{post['id']}", keys.write)
    assert response.status_code == 204, response.content
    assert not DemoPost.objects.filter(pk__in=[d.pk for d in demo_posts]).exists()
    assert not Post.objects.filter(pk=post["id"]).exists()
    assert Event.objects.filter(post_id=post["id"], type="post.deleted").get().payload == {"removed_parts": 2}
    assert Event.objects.filter(post_id=post["id"], type="target.canceled").exists()  # beta never went out


def test_a_platform_without_deletion_keeps_the_post(api, keys, team, demo_accounts):
    post = _post(api, keys, demo_accounts)
    alpha, beta = (Target.objects.get(post_id=post["id"], account=a) for a in demo_accounts)
    other = account_save(workspace=team.workspace, platform="oauth2-test", user=None,
                         connection=Connection(profile=Profile("u1", "u1"), secrets={"access_token": "t"}))  # fmt: skip
    Target.objects.filter(pk=beta.pk).update(account=other)
    _landed(alpha, "alpha", 0)
    Target.objects.filter(pk=beta.pk).update(status=Target.Status.PUBLISHED)
    TargetPart.objects.create(target=beta, position=0, kind="main", status="published", platform_post_id="ex-1")
    problem = assert_problem(api.delete(f"/posts/{post['id']}", keys.write), 409, "POSTWRIGHT/CONFLICT")
    assert problem["errors"][0]["field"] == f"targets[{beta.pk}]"
    assert "offers no way to delete" in problem["errors"][0]["message"]
    assert Post.objects.filter(pk=post["id"]).exists()
    removed = api.get(f"/posts/{post['id']}", keys.read).json()
    parts = {t["id"]: t["parts"][0] for t in removed["targets"]}
    assert parts[alpha.pk]["removed_at"] is not None
    assert parts[beta.pk]["removed_at"] is None
    assert not DemoPost.objects.exists()


def test_a_post_being_published_is_not_deleted(api, keys, demo_accounts):
    post = _post(api, keys, demo_accounts)
    Target.objects.filter(post_id=post["id"]).update(status=Target.Status.PUBLISHING)
    assert_problem(api.delete(f"/posts/{post['id']}", keys.write), 409, "POSTWRIGHT/CONFLICT")
    assert Post.objects.filter(pk=post["id"]).exists()
