"""The OAuth connect flow through the views, against a mocked generic OAuth 2.0 platform."""

import base64
import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from connections.models import ConnectSession, Grant, OAuthApp, SocialAccount
from tests.connections.example_provider import BASE
from tests.fixtures import assert_role_gate

CONNECT = reverse("connect", args=["oauth2-test"])
CALLBACK = reverse("connect_callback", args=["oauth2-test"])
TOKEN = {"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600, "token_type": "Bearer", "scope": "openid"}
ME = {"sub": "user-42", "name": "Ada Lovelace", "email": "ada@example.test"}


def _start(client) -> dict[str, str]:
    response = client.post(CONNECT)
    assert response.status_code == 302
    assert response.url.startswith(f"{BASE}/authorize?")
    return {k: v[0] for k, v in parse_qs(urlsplit(response.url).query).items()}


def _mock_token_and_profile(token: dict = TOKEN, me: dict = ME) -> None:
    responses.add(responses.POST, f"{BASE}/token", json=token)
    responses.add(responses.GET, f"{BASE}/me", json=me)


def test_start_sends_state_and_pkce(team):
    params = _start(team.client("admin"))
    session = ConnectSession.objects.get()
    verifier = session.secrets["code_verifier"]
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert params["state"] == session.state
    assert (params["code_challenge"], params["code_challenge_method"]) == (expected, "S256")
    assert params["client_id"] == "client-123"
    assert params["redirect_uri"] == "http://127.0.0.1:8000" + CALLBACK


def test_full_connect_creates_an_encrypted_account(team):
    client = team.client("admin")
    params = _start(client)
    _mock_token_and_profile()
    response = client.get(CALLBACK, {"code": "the-code", "state": params["state"]})
    assert response.status_code == 302
    account = SocialAccount.objects.get()
    assert (account.workspace, account.external_id, account.username) == (team.workspace, "user-42", "ada@example.test")
    assert account.grant.secrets == {"access_token": "at-1", "refresh_token": "rt-1"}
    assert account.secrets == {}  # the consent's tokens are kept once, on the grant
    grant = account.grant
    assert (grant.platform, grant.scope, grant.created_by) == ("oauth2-test", "openid", team.users["admin"])
    assert account.token_expires_at == account.grant.expires_at > timezone.now() + timedelta(minutes=50)
    token_request = parse_qs(responses.calls[0].request.body)
    session = ConnectSession.objects.get()
    assert token_request["code"] == ["the-code"]
    assert "code_verifier" in token_request
    assert session.status == ConnectSession.Status.COMPLETED
    assert session.secrets == {}  # verifier wiped once used


def test_state_mismatch_connects_nothing(team):
    client = team.client("admin")
    _start(client)
    response = client.get(CALLBACK, {"code": "c", "state": "forged"}, follow=True)
    assert b"not valid any more" in response.content
    assert not SocialAccount.objects.exists()
    assert not responses.calls


def test_state_of_another_user_is_refused(team):
    params = _start(team.client("admin"))
    response = team.client("owner").get(CALLBACK, {"code": "c", "state": params["state"]}, follow=True)
    assert b"not valid any more" in response.content
    assert not SocialAccount.objects.exists()


def test_user_cancelled(team):
    client = team.client("admin")
    params = _start(client)
    response = client.get(CALLBACK, {"error": "access_denied", "state": params["state"]}, follow=True)
    assert b"You cancelled the connection" in response.content
    assert ConnectSession.objects.get().status == ConnectSession.Status.FAILED
    assert not SocialAccount.objects.exists()


def test_malformed_reply_without_code(team):
    client = team.client("admin")
    params = _start(client)
    response = client.get(CALLBACK, {"state": params["state"]}, follow=True)
    assert b"incomplete answer" in response.content
    assert not SocialAccount.objects.exists()


def test_malformed_token_response(team):
    client = team.client("admin")
    params = _start(client)
    responses.add(responses.POST, f"{BASE}/token", body="<html>oops</html>", status=200)
    response = client.get(CALLBACK, {"code": "c", "state": params["state"]}, follow=True)
    assert b"did not complete the connection" in response.content
    assert not SocialAccount.objects.exists()


def test_token_endpoint_error_is_shown(team):
    client = team.client("admin")
    params = _start(client)
    responses.add(
        responses.POST,
        f"{BASE}/token",
        json={"error": "invalid_grant", "error_description": "grant request is invalid"},
        status=400,
    )
    response = client.get(CALLBACK, {"code": "c", "state": params["state"]}, follow=True)
    assert b"grant request is invalid" in response.content


def test_expired_session(team):
    client = team.client("admin")
    params = _start(client)
    ConnectSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(CALLBACK, {"code": "c", "state": params["state"]}, follow=True)
    assert b"took too long and expired" in response.content
    assert not responses.calls


def test_replayed_callback_is_refused(team):
    client = team.client("admin")
    params = _start(client)
    _mock_token_and_profile()
    client.get(CALLBACK, {"code": "c", "state": params["state"]})
    response = client.get(CALLBACK, {"code": "c", "state": params["state"]}, follow=True)
    assert b"not valid any more" in response.content
    assert SocialAccount.objects.count() == 1


def test_platform_not_configured(team, settings):
    settings.PLATFORM_CREDENTIALS = {}
    client = team.client("admin")
    page = client.get(reverse("connections")).content.decode()
    assert "Not configured" in page
    assert "Set OAUTH2-TEST client credentials." in page
    response = client.post(CONNECT, follow=True)
    assert b"is not configured for this workspace yet" in response.content
    assert not ConnectSession.objects.exists()


def test_workspace_keys_take_precedence(team):
    OAuthApp.objects.create(workspace=team.workspace, platform="oauth2-test", client_id="own-id", client_secret="own")
    params = _start(team.client("admin"))
    assert params["client_id"] == "own-id"


def test_several_assets_lead_to_a_selection(team):
    client = team.client("admin")
    params = _start(client)
    pages = [{"id": "p1", "name": "Page One", "token": "pt1"}, {"id": "p2", "name": "Page Two", "token": "pt2"}]
    _mock_token_and_profile(me={**ME, "pages": pages})
    response = client.get(CALLBACK, {"code": "c", "state": params["state"]})
    session = ConnectSession.objects.get()
    assert response.url == reverse("connect_select", args=[session.pk])
    page = client.get(response.url).content.decode()
    assert "Page One" in page
    assert "pt1" not in page  # tokens never reach the browser
    client.post(response.url, {"account": ["p2"]})
    account = SocialAccount.objects.get()
    assert (account.external_id, account.secrets["access_token"]) == ("p2", "pt2")  # the Page token
    assert account.grant.secrets["access_token"] == "at-1"  # the login's own
    assert account.state().secrets["access_token"] == "pt2"  # the page acts with its own token
    assert team.client("outsider").get(response.url).status_code == 404


def test_selection_requires_a_choice(team):
    client = team.client("admin")
    params = _start(client)
    _mock_token_and_profile(
        me={**ME, "pages": [{"id": "p1", "name": "One", "token": "t"}, {"id": "p2", "name": "Two", "token": "u"}]}
    )
    url = client.get(CALLBACK, {"code": "c", "state": params["state"]}).url
    response = client.post(url, {}, follow=True)
    assert b"Choose at least one account" in response.content
    assert not SocialAccount.objects.exists()


def test_reconnect_updates_and_keeps_the_refresh_token(team):
    client = team.client("admin")
    params = _start(client)
    _mock_token_and_profile()
    client.get(CALLBACK, {"code": "c", "state": params["state"]})
    account = SocialAccount.objects.get()
    old_grant_id = account.grant_id
    SocialAccount.objects.filter(pk=account.pk).update(status=SocialAccount.Status.NEEDS_RECONNECT)
    responses.reset()
    params = _start(client)
    _mock_token_and_profile(token={"access_token": "at-2", "token_type": "Bearer"})
    client.get(CALLBACK, {"code": "c2", "state": params["state"]})
    account.refresh_from_db()
    assert SocialAccount.objects.count() == 1
    assert account.grant.secrets == {"access_token": "at-2", "refresh_token": "rt-1"}
    assert not Grant.objects.filter(pk=old_grant_id).exists()  # left with no account: gone, secrets too
    assert account.status == SocialAccount.Status.ACTIVE


def test_same_platform_account_in_two_workspaces_is_two_rows(team):
    for who in ("admin", "outsider"):
        client = team.client(who)
        params = _start(client)
        _mock_token_and_profile()
        client.get(CALLBACK, {"code": "c", "state": params["state"]})
    assert SocialAccount.objects.filter(external_id="user-42").count() == 2


def test_tenant_id_is_carried_to_the_account(team):
    client = team.client("admin")
    response = client.post(CONNECT, {"tenant_id": "customer-981"})
    state = parse_qs(urlsplit(response.url).query)["state"][0]
    _mock_token_and_profile()
    client.get(CALLBACK, {"code": "c", "state": state})
    assert SocialAccount.objects.get().tenant_id == "customer-981"


def test_connecting_needs_admin(team):
    assert_role_gate(team, CONNECT, lowest="admin", method="post", object_url=False)


def _connected(team) -> SocialAccount:
    grant = Grant.objects.create(
        workspace=team.workspace, platform="oauth2-test", secrets={"access_token": "at", "refresh_token": "rt"}
    )
    return SocialAccount.objects.create(
        workspace=team.workspace, platform="oauth2-test", external_id="u1", username="ada", grant=grant
    )


def test_disconnect_revokes_wipes_and_keeps_the_row(team):
    account = _connected(team)
    responses.add(responses.POST, f"{BASE}/revoke", body="")
    url = reverse("account_disconnect", args=[account.pk])
    assert_role_gate(team, url, lowest="admin", method="post", data={"confirm": "1"})
    account.refresh_from_db()
    assert account.status == SocialAccount.Status.DISCONNECTED
    assert (account.secrets, account.grant.secrets, account.grant.status) == ({}, {}, Grant.Status.REVOKED)
    revoke = parse_qs(responses.calls[0].request.body)
    assert (revoke["token"], revoke["token_type_hint"]) == (["rt"], ["refresh_token"])


def test_disconnect_still_wipes_when_the_platform_is_down(team):
    account = _connected(team)
    responses.add(responses.POST, f"{BASE}/revoke", status=503)
    team.client("admin").post(reverse("account_disconnect", args=[account.pk]), {"confirm": "1"})
    account.refresh_from_db()
    assert (account.status, account.grant.secrets) == (SocialAccount.Status.DISCONNECTED, {})


def test_check_button(team):
    account = _connected(team)
    responses.add(responses.GET, f"{BASE}/me", json=ME)
    url = reverse("account_check", args=[account.pk])
    assert_role_gate(team, url, lowest="editor", method="post")
    account.refresh_from_db()
    assert account.last_checked_at is not None


def test_check_with_revoked_token_refreshes_then_asks_to_reconnect(team, django_capture_on_commit_callbacks):
    account = _connected(team)
    responses.add(responses.GET, f"{BASE}/me", status=401)
    responses.add(responses.POST, f"{BASE}/token", json={"error": "invalid_grant"}, status=400)
    with django_capture_on_commit_callbacks(execute=True):
        response = team.client("admin").post(reverse("account_check", args=[account.pk]), follow=True)
    assert b"Reconnect" in response.content
    assert parse_qs(responses.calls[1].request.body)["refresh_token"] == ["rt"]  # refreshed once first
    account.refresh_from_db()
    assert account.status == SocialAccount.Status.NEEDS_RECONNECT
    assert team.users["owner"].notifications.filter(title__contains="needs to be reconnected").exists()
    assert team.users["admin"].notifications.exists()
    assert not team.users["editor"].notifications.exists()
    assert any("needs to be reconnected" in message.subject for message in mail.outbox)


@pytest.mark.parametrize("platform", ["nope", "demo"])
def test_unknown_or_disabled_platform_is_404(team, settings, platform):
    settings.DEMO_NETWORK_ENABLED = False
    assert team.client("admin").get(reverse("connect", args=[platform])).status_code == 404


def test_demo_connect_through_the_page(team):
    client = team.client("admin")
    response = client.post(reverse("connect", args=["demo"]), {"display_name": "Demo Ada", "identifier": "demo-ada"})
    assert response.status_code == 302
    account = SocialAccount.objects.get()
    assert (account.platform, account.username, account.display_name) == ("demo", "@demo-ada", "Demo Ada")
    page = team.client("viewer").get(reverse("connections")).content.decode()
    assert "Demo Ada" in page
    assert "Disconnect" not in page


def test_byo_keys_form_is_write_only(team):
    url = reverse("connection_app", args=["oauth2-test"])
    client = team.client("admin")
    response = client.post(url, {"client_id": "mine", "client_secret": "", "scopes": ""})
    assert response.status_code == 400
    assert b"Paste the client secret" in response.content
    client.post(url, {"client_id": "mine", "client_secret": "top-secret", "scopes": "a b"})
    page = client.get(url).content.decode()
    assert "top-secret" not in page
    assert "Secret saved" in page
    assert "http://127.0.0.1:8000/connections/callback/oauth2-test/" in page
    client.post(url, {"client_id": "mine-2", "client_secret": "", "scopes": "a b"})
    app = OAuthApp.objects.get()
    assert (app.client_id, app.client_secret) == ("mine-2", "top-secret")
    assert team.client("editor").get(url).status_code == 403


def test_a_member_demoted_mid_connect_lands_nothing(team):
    client = team.client("admin")
    params = _start(client)
    membership = team.membership("admin")
    membership.role = "viewer"
    membership.save()
    response = client.get(CALLBACK, {"code": "c", "state": params["state"]}, follow=True)
    assert b"You can no longer connect accounts in this workspace" in response.content
    assert not SocialAccount.objects.exists()
    assert not responses.calls  # the code is never even exchanged


def test_platform_links_are_http_only(team):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save

    profile = Profile("x", "x", avatar_url="javascript:alert(1)", profile_url="https://ok.example/x")
    account = account_save(
        workspace=team.workspace, platform="oauth2-test", user=None,
        connection=Connection(profile=profile, secrets={"access_token": "t"}),
    )  # fmt: skip
    assert (account.avatar_url, account.profile_url) == ("", "https://ok.example/x")
