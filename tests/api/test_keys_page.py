"""Settings → API keys: admins create (shown once), list and revoke keys; others cannot."""

import pytest

from api.models import ApiKey
from tests.fixtures import assert_role_gate

pytestmark = pytest.mark.django_db


def test_only_admins_reach_the_page(team):
    assert_role_gate(team, "/settings/api-keys/", lowest="admin", object_url=False)
    assert_role_gate(team, "/settings/api-keys/", lowest="admin", method="post", data={"name": "x", "scope": "read"},
                     object_url=False)  # fmt: skip


def test_create_shows_the_key_once_and_lists_its_prefix(team):
    admin = team.client("admin")
    response = admin.post("/settings/api-keys/", {"name": "billing", "scope": "read_write", "tenant_ids": "a, b\nc"},
                          HTTP_HX_REQUEST="true")  # fmt: skip
    assert response.status_code == 200
    key = ApiKey.objects.get()
    token = response.context["token"]
    assert token.startswith(key.prefix)
    assert token.encode() in response.content
    assert key.tenant_ids == ["a", "b", "c"]
    assert key.created_by == team.users["admin"]
    listing = admin.get("/settings/api-keys/")
    assert key.prefix.encode() in listing.content
    assert token.encode() not in listing.content  # never again
    assert b"never" in listing.content  # not used yet


def test_refusals_explain_themselves(team):
    response = team.client("admin").post(
        "/settings/api-keys/", {"name": "x", "scope": "read", "expires_on": "2001-01-01"}
    )
    assert response.status_code == 400
    assert b"The expiry has passed" in response.content
    assert not ApiKey.objects.exists()


def test_revoke_is_htmx_and_scoped(team):
    from tests.api.conftest import make_key

    make_key(team.workspace)
    make_key(team.other_workspace, name="theirs")
    mine = ApiKey.objects.get(workspace=team.workspace)
    theirs = ApiKey.objects.get(workspace=team.other_workspace)
    assert team.client("admin").post(f"/settings/api-keys/{theirs.pk}/revoke/").status_code == 404
    assert team.client("editor").post(f"/settings/api-keys/{mine.pk}/revoke/").status_code == 403
    response = team.client("admin").post(f"/settings/api-keys/{mine.pk}/revoke/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"revoked" in response.content
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None
    assert theirs.revoked_at is None
