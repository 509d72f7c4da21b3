"""Plan limits live in the services: the dashboard and the API refuse with the same message."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Plan
from accounts.plans import plan_of
from accounts.services import invitation_create
from connections.errors import ConnectError
from connections.registry import get_provider
from connections.services import account_save
from publishing.inputs import PartInput, PostInput, When
from publishing.services import post_create
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_plans_are_seeded_and_free_is_the_default(team):
    assert set(Plan.objects.values_list("name", flat=True)) == {"Free", "Starter", "Pro", "Agency"}
    assert plan_of(team.workspace).name == "Free"
    team.workspace.plan = Plan.objects.get(name="Pro")
    assert plan_of(team.workspace).name == "Pro"


def _set(team, **limits) -> None:
    Plan.objects.filter(name="Free").update(**limits)


def _scheduled(accounts) -> PostInput:
    return PostInput(parts=[PartInput("Hi")], account_ids=[a.id for a in accounts],
                     when=When.at(timezone.now() + timedelta(days=1)))  # fmt: skip


def test_scheduled_posts_a_month(api, keys, team, demo_accounts):
    _set(team, scheduled_posts_per_month=1)
    editor = team.membership("editor")
    post_create(actor=editor, data=_scheduled(demo_accounts))
    post_create(
        actor=editor, data=PostInput(parts=[PartInput("draft")], account_ids=[demo_accounts[0].id])
    )  # drafts are free
    with pytest.raises(ValidationError) as refused:
        post_create(actor=editor, data=_scheduled(demo_accounts))
    message = refused.value.message_dict["when"][0]
    assert message.startswith("The Free plan allows 1 scheduled posts a month")
    body = {"containers": [{"text": "x"}], "accounts": [demo_accounts[0].id], "publish_now": True}
    problem = assert_problem(api.post("/posts", keys.write, body), 403, "POSTWRIGHT/PLAN_LIMIT")
    assert problem["detail"] == message
    assert problem["errors"][0]["field"] == "publish_now"
    form = {"accounts": [demo_accounts[0].id], "text": "x", "when": "schedule", "date": "2031-05-01", "time": "08:00"}
    composer = team.client("editor").post("/posts/new/", form)
    assert composer.status_code == 400
    assert message.encode() in composer.content


def test_members_count_pending_invitations(team):
    _set(team, members=5)  # the team has 4 members
    admin = team.membership("admin")
    invitation_create(actor=admin, email="new@example.com", role="editor")
    invitation_create(actor=admin, email="new@example.com", role="viewer")  # renewing is not another seat
    with pytest.raises(ValidationError) as refused:
        invitation_create(actor=admin, email="more@example.com", role="editor")
    assert "allows 5 members" in refused.value.message_dict["email"][0]
    page = team.client("admin").post("/settings/members/invite/", {"email": "more@example.com", "role": "editor"})
    assert b"allows 5 members" in page.content


def test_connected_accounts(team, demo_accounts):
    _set(team, connected_accounts=2)
    provider = get_provider("demo")
    connection = provider.connect_with_form(data={"identifier": "gamma", "display_name": "gamma"})
    with pytest.raises(ConnectError, match="allows 2 connected accounts"):
        account_save(workspace=team.workspace, platform="demo", connection=connection, user=None)
    # Reconnecting one that exists takes no new seat.
    again = provider.connect_with_form(data={"identifier": "alpha", "display_name": "alpha"})
    account_save(workspace=team.workspace, platform="demo", connection=again, user=None)
    page = team.client("admin").post("/connections/connect/demo/", {"identifier": "gamma", "display_name": "g"})
    assert b"allows 2 connected accounts" in page.content


def test_operators_edit_limits_in_admin_and_keys_show_no_hash(team):
    from django.urls import reverse

    from accounts.models import User
    from api.models import ApiKey
    from tests.api.conftest import make_key
    from tests.fixtures import login

    make_key(team.workspace)
    client = login(User.objects.create_superuser(email="root@example.com", password="x"))
    free = Plan.objects.get(name="Free")
    page = client.get(reverse("admin:accounts_plan_change", args=[free.pk]))
    assert page.status_code == 200
    fields = {f.name: getattr(free, f.name) for f in Plan._meta.fields if f.name != "id"}
    response = client.post(reverse("admin:accounts_plan_change", args=[free.pk]), {**fields, "members": 3})
    assert response.status_code == 302
    assert plan_of(team.workspace).members == 3
    key = ApiKey.objects.get()
    assert client.get(reverse("admin:api_apikey_changelist")).status_code == 200
    change = client.get(reverse("admin:api_apikey_change", args=[key.pk])).content.decode()
    assert key.prefix in change
    assert key.key_hash not in change
