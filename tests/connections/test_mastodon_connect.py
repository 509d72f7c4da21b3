"""Connecting a Mastodon account end to end: the server form, app registration, consent, callback."""

import base64
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.db import connection
from django.urls import reverse

from connections import services
from connections.models import ConnectSession, InstanceApp, SocialAccount
from connections.registry import get_provider

PAYLOADS = Path(__file__).parent / "payloads" / "mastodon"
INSTANCE = "https://mastodon.example"
CONNECT = reverse("connect", args=["mastodon"])
CALLBACK = reverse("connect_callback", args=["mastodon"])
APPS = f"{INSTANCE}/api/v1/apps"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def registrations(server: str = INSTANCE) -> int:
    return sum(1 for call in responses.calls if call.request.url == f"{server}/api/v1/apps")


def raw(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - a fixed table name
        return repr(cursor.fetchall())


def _start(client, server: str = "mastodon.example") -> dict[str, str]:
    response = client.post(CONNECT, {"instance": server})
    assert response.status_code == 302, response.content.decode()[:500]
    assert response.url.startswith(f"{INSTANCE}/oauth/authorize?")
    return {key: value[0] for key, value in parse_qs(urlsplit(response.url).query).items()}


def _mock_callback_calls() -> None:
    responses.add(responses.POST, f"{INSTANCE}/oauth/token", json=payload("token"))
    responses.add(responses.GET, f"{INSTANCE}/api/v1/accounts/verify_credentials", json=payload("verify_credentials"))
    responses.add(responses.GET, f"{INSTANCE}/api/v2/instance", json=payload("instance_v2"))


@pytest.fixture
def registered():
    """The server answers app registrations (callers may not need it)."""
    responses.add(responses.POST, APPS, json=payload("app"))


def test_app_is_registered_once_per_server_and_cached(db, registered):
    provider = get_provider("mastodon")
    first = services.instance_app_credentials(provider=provider, instance_url=INSTANCE)
    again = services.instance_app_credentials(provider=provider, instance_url=INSTANCE)
    assert registrations() == 1
    assert first == again
    assert (first.client_id, first.scopes) == (payload("app")["client_id"], ("read", "write:statuses", "write:media"))
    assert parse_qs(responses.calls[0].request.body)["redirect_uris"] == [services.redirect_uri_for("mastodon")]

    other = "https://other.example"
    responses.add(responses.POST, f"{other}/api/v1/apps", json={**payload("app"), "client_id": "other-id"})
    assert services.instance_app_credentials(provider=provider, instance_url=other).client_id == "other-id"
    assert registrations(other) == 1
    assert InstanceApp.objects.count() == 2
    assert payload("app")["client_secret"] not in raw("connections_instanceapp")  # encrypted at rest


def test_full_connect_through_the_views(team, registered):
    client = team.client("admin")
    params = _start(client)
    session = ConnectSession.objects.get()
    verifier = session.secrets["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert params["state"] == session.state
    assert (params["code_challenge"], params["code_challenge_method"]) == (challenge, "S256")
    assert params["client_id"] == payload("app")["client_id"]
    assert params["scope"] == "read write:statuses write:media"
    assert params["redirect_uri"] == services.redirect_uri_for("mastodon")
    assert session.instance_url == INSTANCE

    _mock_callback_calls()
    response = client.get(CALLBACK, {"code": "c0de", "state": params["state"]})
    assert response.status_code == 302
    assert response.url == reverse("connections")

    account = SocialAccount.objects.get()
    assert (account.workspace, account.platform) == (team.workspace, "mastodon")
    assert (account.external_id, account.username) == ("mastodon.example:109348123", "@alice@mastodon.example")
    assert (account.display_name, account.instance_url) == ("Alice Example", INSTANCE)
    assert account.grant.secrets["access_token"] == payload("token")["access_token"]
    assert account.token_expires_at is None
    assert payload("token")["access_token"] not in raw("connections_socialaccount")
    assert payload("token")["access_token"] not in raw("connections_grant")
    assert account.extra["max_characters"] == 500
    assert account.extra["image_size_limit"] == 16777216
    assert account.extra["account_id"] == "109348123"

    token_request = parse_qs(next(c for c in responses.calls if c.request.url.endswith("/oauth/token")).request.body)
    assert token_request["code_verifier"] == [verifier]
    assert token_request["client_secret"] == [payload("app")["client_secret"]]
    session.refresh_from_db()
    assert (session.status, session.secrets) == (ConnectSession.Status.COMPLETED, {})


def test_a_second_connect_to_the_same_server_reuses_the_registration(team, registered):
    client = team.client("admin")
    _start(client)
    _start(client, "https://Mastodon.example/")  # typed differently, the same server
    assert registrations() == 1
    assert ConnectSession.objects.count() == 2


def test_user_cancelling_on_the_server_connects_nothing(team, registered):
    client = team.client("admin")
    params = _start(client)
    calls_before = len(responses.calls)
    response = client.get(
        CALLBACK,
        {
            "error": "access_denied",
            "error_description": "The resource owner denied the request.",
            "state": params["state"],
        },
        follow=True,
    )
    assert b"You cancelled the connection on Mastodon; nothing was connected." in response.content
    assert not SocialAccount.objects.exists()
    assert ConnectSession.objects.get().status == ConnectSession.Status.FAILED
    assert len(responses.calls) == calls_before  # no token request


def test_a_server_that_is_not_mastodon_is_explained_on_the_form(team):
    responses.add(responses.POST, APPS, body="<html>My blog</html>", status=404)
    response = team.client("admin").post(CONNECT, {"instance": "mastodon.example"})
    assert response.status_code == 400
    assert "did not answer like a Mastodon server" in response.content.decode()
    assert not InstanceApp.objects.exists()
    assert not ConnectSession.objects.exists()


def test_the_connect_page_asks_for_the_server(team):
    response = team.client("admin").get(CONNECT)
    assert response.status_code == 200
    assert 'name="instance"' in response.content.decode()
    assert not responses.calls


@pytest.mark.parametrize("who", ["viewer", "editor"])
def test_only_admins_may_connect(team, who):
    response = team.client(who).post(CONNECT, {"instance": "mastodon.example"})
    assert response.status_code == 403
    assert not responses.calls
    assert not InstanceApp.objects.exists()
    assert not ConnectSession.objects.exists()


def test_disconnect_revokes_on_the_server(team, registered):
    client = team.client("admin")
    params = _start(client)
    _mock_callback_calls()
    client.get(CALLBACK, {"code": "c0de", "state": params["state"]})
    account = SocialAccount.objects.get()
    responses.add(responses.POST, f"{INSTANCE}/oauth/revoke", json={})
    client.post(reverse("account_disconnect", args=[account.pk]), {"confirm": "1"})
    revoke = parse_qs(responses.calls[-1].request.body)
    assert revoke["token"] == [payload("token")["access_token"]]
    assert revoke["client_id"] == [payload("app")["client_id"]]
    account.refresh_from_db()
    assert (account.status, account.secrets, account.grant.secrets) == (SocialAccount.Status.DISCONNECTED, {}, {})
    assert registrations() == 1  # disconnecting used the cached registration


def test_a_server_that_forgot_our_app_is_registered_again_next_time(team, registered):
    """mastodon-mock (test_mastodon_peer.py) accepts any client at /oauth/token; a real server
    answers invalid_client for an app it does not know. The documentation wins: this stays recorded."""
    client = team.client("admin")
    params = _start(client)
    assert InstanceApp.objects.count() == 1
    responses.add(
        responses.POST, f"{INSTANCE}/oauth/token", status=401,
        json={"error": "invalid_client", "error_description": "Client authentication failed due to unknown client."},
    )  # fmt: skip
    response = client.get(CALLBACK, {"code": "c", "state": params["state"]}, follow=True)
    assert b"no longer knows Postwright" in response.content
    assert not InstanceApp.objects.exists()
    _start(client)
    assert registrations() == 2
