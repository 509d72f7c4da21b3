"""/social-accounts: the Accounts page's services with the key as actor; never a secret shown."""

import pytest

from connections.models import Grant, SocialAccount
from events.models import Event
from tests.api.conftest import assert_problem, make_key

pytestmark = pytest.mark.django_db


def _token(account: SocialAccount) -> str:
    account.refresh_from_db()
    return account.state().secrets["access_token"]


def test_list_shows_the_seed_fields_and_no_secret(api, keys, demo_accounts):
    alpha, beta = demo_accounts
    Grant.objects.filter(pk=alpha.grant_id).update(scope="read write")
    response = api.get("/social-accounts", keys.read)
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert [a["id"] for a in data] == [beta.id, alpha.id]
    shown = data[1]
    assert shown | {"connected_at": None, "last_synced_at": None} == {
        "id": alpha.id, "platform": "demo", "network_unique_id": "alpha", "username": "@alpha",
        "display_name": "alpha", "avatar_url": "", "profile_url": alpha.profile_url, "type": "profile",
        "status": "active", "problem": "", "scopes": ["read", "write"], "token_expires_at": None,
        "last_synced_at": None, "tenant_id": "", "connected_at": None,
    }  # fmt: skip
    assert _token(alpha) not in response.content.decode()
    assert "secret" not in response.content.decode()


def test_list_filters_and_pages(api, keys, demo_accounts, team):
    alpha, beta = demo_accounts
    SocialAccount.objects.filter(pk=alpha.pk).update(tenant_id="user-1")
    SocialAccount.objects.filter(pk=beta.pk).update(status=SocialAccount.Status.NEEDS_RECONNECT)
    ids = lambda query: [a["id"] for a in api.get(f"/social-accounts{query}", keys.read).json()["data"]]  # noqa: E731
    assert ids("?tenant_id=user-1") == [alpha.id]
    assert ids("?status=needs_reconnect") == [beta.id]
    assert ids("?platform=demo") == [beta.id, alpha.id]
    assert ids("?platform=bluesky") == []
    first = api.get("/social-accounts?limit=1", keys.read).json()
    assert [a["id"] for a in first["data"]] == [beta.id]
    rest = api.get(f"/social-accounts?limit=1&cursor={first['next_cursor']}", keys.read).json()
    assert [a["id"] for a in rest["data"]] == [alpha.id]
    assert rest["next_cursor"] is None
    assert api.get("/social-accounts", keys.outsider).json()["data"] == []
    assert_problem(api.get("/social-accounts?status=bogus", keys.read), 422)
    assert_problem(api.get("/social-accounts?cursor=nope", keys.read), 422)
    assert_problem(api.get("/social-accounts", keys.expired), 401)
    restricted = make_key(team.workspace, tenant_ids=["user-1"])
    assert [a["id"] for a in api.get("/social-accounts", restricted).json()["data"]] == [alpha.id]


def test_list_reads_a_fixed_number_of_queries(api, keys, demo_accounts, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        assert len(api.get("/social-accounts", keys.read).json()["data"]) == 2


def test_get_owner_reader_outsider(api, keys, demo_accounts):
    alpha = demo_accounts[0]
    assert api.get(f"/social-accounts/{alpha.id}", keys.write).json()["username"] == "@alpha"
    assert api.get(f"/social-accounts/{alpha.id}", keys.read).status_code == 200
    assert_problem(api.get(f"/social-accounts/{alpha.id}", keys.outsider), 404, "POSTWRIGHT/NOT_FOUND")
    assert_problem(api.get(f"/social-accounts/{alpha.id}", keys.expired), 401)


def test_patch_sets_the_tenant(api, keys, demo_accounts, team):
    alpha = demo_accounts[0]
    response = api.call("patch", f"/social-accounts/{alpha.id}", keys.write, {"tenant_id": "user-7"})
    assert response.status_code == 200, response.content
    assert response.json()["tenant_id"] == "user-7"
    alpha.refresh_from_db()
    assert alpha.tenant_id == "user-7"
    assert_problem(api.call("patch", f"/social-accounts/{alpha.id}", keys.read, {"tenant_id": "x"}), 403)
    assert_problem(api.call("patch", f"/social-accounts/{alpha.id}", keys.outsider, {"tenant_id": "x"}), 404)
    assert_problem(api.call("patch", f"/social-accounts/{alpha.id}", keys.write, {"tenant": "x"}), 422)
    restricted = make_key(team.workspace, tenant_ids=["user-7"])
    assert_problem(api.call("patch", f"/social-accounts/{alpha.id}", restricted, {"tenant_id": "other"}), 403)
    alpha.refresh_from_db()
    assert alpha.tenant_id == "user-7"


def test_check_a_healthy_and_a_broken_account(api, keys, demo_accounts):
    alpha, beta = demo_accounts
    healthy = api.post(f"/social-accounts/{alpha.id}/check", keys.write)
    assert healthy.status_code == 200, healthy.content
    assert healthy.json()["healthy"] is True
    assert healthy.json()["account"]["last_synced_at"] is not None
    Grant.objects.filter(pk=beta.grant_id).update(secrets={})  # the platform lost the session
    broken = api.post(f"/social-accounts/{beta.id}/check", keys.write).json()
    assert broken["healthy"] is False
    assert broken["error_code"] == "POSTWRIGHT/DEMO/AUTH"
    assert broken["account"]["status"] == "needs_reconnect"
    assert_problem(api.post(f"/social-accounts/{alpha.id}/check", keys.read), 403)
    assert_problem(api.post(f"/social-accounts/{alpha.id}/check", keys.outsider), 404)
    assert_problem(api.post(f"/social-accounts/{alpha.id}/check", keys.expired), 401)


def test_disconnect_wipes_secrets_and_keeps_the_row(api, keys, demo_accounts):
    alpha = demo_accounts[0]
    assert_problem(api.post(f"/social-accounts/{alpha.id}/disconnect", keys.read), 403)
    assert_problem(api.post(f"/social-accounts/{alpha.id}/disconnect", keys.outsider), 404)
    response = api.post(f"/social-accounts/{alpha.id}/disconnect", keys.write)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "disconnected"
    alpha.refresh_from_db()
    assert alpha.secrets == {}
    assert Grant.objects.get(pk=alpha.grant_id).secrets == {}
    event = Event.objects.get(type="account.disconnected", subject_id=alpha.pk)
    assert event.actor_label == ""  # no person disconnected it
    again = api.post(f"/social-accounts/{alpha.id}/disconnect", keys.write)
    assert again.status_code == 200
    assert Event.objects.filter(type="account.disconnected", subject_id=alpha.pk).count() == 1
    assert_problem(api.post(f"/social-accounts/{alpha.id}/check", keys.write), 409, "POSTWRIGHT/CONFLICT")


def test_a_read_write_key_acts_as_an_admin_but_makes_no_keys(keys):
    from django.core.exceptions import PermissionDenied

    from accounts.roles import Capability
    from api.keys import api_key_actor, api_key_create, api_key_revoke
    from api.models import ApiKey

    key = ApiKey.objects.get(prefix=keys.write[:16])
    actor = api_key_actor(key)
    assert actor.can(Capability.MANAGE_CONNECTIONS)
    assert actor.can(Capability.MANAGE_SETTINGS)
    assert not actor.can(Capability.MANAGE_OWNERS)
    with pytest.raises(PermissionDenied, match="not by other keys"):
        api_key_create(actor=actor, name="minted", scope="read_write")
    with pytest.raises(PermissionDenied):
        api_key_revoke(actor=actor, key=key)
    assert not ApiKey.objects.filter(name="minted").exists()
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_the_accounts_page_shows_the_tenant(api, keys, team, demo_accounts):
    api.call("patch", f"/social-accounts/{demo_accounts[0].id}", keys.write, {"tenant_id": "customer-42"})
    page = team.client("viewer").get("/connections/")
    assert page.status_code == 200
    assert b"Tenant customer-42" in page.content
