"""/social-networks: bring-your-own OAuth apps, upserted by platform, the secret write-only."""

import pytest

from connections.models import OAuthApp
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.django_db
APP = {"client_id": "mine", "client_secret": "top-secret", "scopes": ["a", "b"]}


def test_upsert_keeps_the_secret_write_only(api, keys, team):
    created = api.put("/social-networks/oauth2-test", keys.write, APP)
    assert created.status_code == 201, created.content
    assert created.json() | {"updated_at": None} == {
        "platform": "oauth2-test", "client_id": "mine", "has_client_secret": True, "scopes": ["a", "b"],
        "redirect_uri": "http://127.0.0.1:8000/connections/callback/oauth2-test/", "updated_at": None,
    }  # fmt: skip
    replaced = api.put("/social-networks/oauth2-test", keys.write, {"client_id": "mine-2"})
    assert replaced.status_code == 200
    app = OAuthApp.objects.get(workspace=team.workspace)
    assert (app.client_id, app.client_secret, app.scopes) == ("mine-2", "top-secret", "")
    for response in (created, replaced, api.get("/social-networks", keys.read),
                     api.get("/social-networks/oauth2-test", keys.read)):  # fmt: skip
        assert "top-secret" not in response.content.decode()
    assert [n["client_id"] for n in api.get("/social-networks", keys.read).json()] == ["mine-2"]


def test_a_new_app_needs_a_secret_and_a_platform_that_takes_keys(api, keys):
    problem = assert_problem(api.put("/social-networks/oauth2-test", keys.write, {"client_id": "x"}), 422)
    assert problem["errors"][0]["field"] == "client_secret"
    for platform in ("demo", "mastodon", "nope"):
        problem = assert_problem(api.put(f"/social-networks/{platform}", keys.write, APP), 422)
        assert problem["errors"][0]["field"] == "platform"
    assert_problem(api.put("/social-networks/oauth2-test", keys.write, {**APP, "scopes": ["a b"]}), 422)
    assert_problem(api.put("/social-networks/oauth2-test", keys.write, {**APP, "secret": "x"}), 422)
    assert not OAuthApp.objects.exists()


def test_roles_and_workspaces(api, keys, team):
    assert_problem(api.put("/social-networks/oauth2-test", keys.read, APP), 403)
    assert_problem(api.put("/social-networks/oauth2-test", keys.expired, APP), 401)
    api.put("/social-networks/oauth2-test", keys.write, APP)
    assert api.get("/social-networks", keys.outsider).json() == []
    assert_problem(api.get("/social-networks/oauth2-test", keys.outsider), 404)
    assert_problem(api.delete("/social-networks/oauth2-test", keys.outsider), 404)
    assert_problem(api.delete("/social-networks/oauth2-test", keys.read), 403)
    assert api.delete("/social-networks/oauth2-test", keys.write).status_code == 204
    assert not OAuthApp.objects.exists()
    assert_problem(api.delete("/social-networks/oauth2-test", keys.write), 404)


def test_connections_then_use_the_workspace_keys(api, keys, team):
    from connections.registry import get_provider
    from connections.services import app_credentials_for

    api.put("/social-networks/oauth2-test", keys.write, APP)
    app = app_credentials_for(workspace=team.workspace, provider=get_provider("oauth2-test"))
    assert (app.client_id, app.client_secret, app.scopes, app.source) == ("mine", "top-secret", ("a", "b"), "workspace")
