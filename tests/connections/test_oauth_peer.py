"""The generic OAuth 2.0 machinery end to end against a real authorization server
(panva's oidc-provider on loopback): PKCE, state, code exchange, refresh-token rotation,
revocation, and a refused consent — through our views and services, not mocks."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from connections import services
from connections.errors import ErrorClass, ProviderError
from connections.models import SocialAccount
from connections.registry import get_provider
from tests.connections.example_provider import ExampleOAuthProvider
from tests.peers.fixtures import oidc_server  # noqa: F401

pytestmark = pytest.mark.peer
CALLBACK = "http://127.0.0.1:8000/connections/callback/oauth2-peer/"


class PeerOAuthProvider(ExampleOAuthProvider):
    """The generic provider, pointed at the peer server by the fixture below."""

    id = "oauth2-peer"
    name = "Peer OAuth"


@pytest.fixture
def peer(oidc_server, settings):  # noqa: F811 - the fixture imported above
    PeerOAuthProvider.base_url = oidc_server.url
    PeerOAuthProvider.authorize_url = f"{oidc_server.url}/auth"
    PeerOAuthProvider.token_url = f"{oidc_server.url}/token"
    PeerOAuthProvider.revoke_url = f"{oidc_server.url}/token/revocation"
    settings.EXTRA_CONNECTION_PROVIDERS = {
        **settings.EXTRA_CONNECTION_PROVIDERS,
        "oauth2-peer": ("Peer OAuth", "tests.connections.test_oauth_peer.PeerOAuthProvider"),
    }
    settings.PLATFORM_CREDENTIALS = {
        **settings.PLATFORM_CREDENTIALS,
        "oauth2-peer": (oidc_server.extra["client_id"], oidc_server.extra["client_secret"]),
    }
    return oidc_server


def consent(authorize_url: str) -> dict[str, str]:
    """Follow the authorization server's redirects, as a browser would, back to our callback."""
    browser = requests.Session()
    url = authorize_url
    for _ in range(10):
        response = browser.get(url, allow_redirects=False, timeout=10)
        assert response.status_code in (302, 303), f"{response.status_code}: {response.text[:300]}"
        url = requests.compat.urljoin(url, response.headers["Location"])
        if url.startswith(CALLBACK):
            return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    raise AssertionError("no redirect back to the callback")


def connect(team, *, login_hint: str = "") -> dict[str, str]:
    client = team.client("admin")
    start = client.post(reverse("connect", args=["oauth2-peer"]))
    authorize = start.url + (f"&login_hint={login_hint}" if login_hint else "")
    params = consent(authorize)
    return client, params


def _connected(team) -> tuple:
    client, params = connect(team)
    assert "code" in params, params
    response = client.get(reverse("connect_callback", args=["oauth2-peer"]), params)
    assert response.status_code == 302
    provider = get_provider("oauth2-peer")
    app = services.app_credentials_for(workspace=team.workspace, provider=provider)
    return client, SocialAccount.objects.get(platform="oauth2-peer"), provider, app


def test_connect_refresh_and_revoke(team, peer):
    client, account, provider, app = _connected(team)
    # Only the profile scope was asked for: the name comes back, the email does not.
    assert (account.external_id, account.username, account.display_name) == ("test-user", "test-user", "Test User")
    first = dict(account.grant.secrets)
    assert first["access_token"]
    assert first["refresh_token"]

    account = services.account_refresh(account_id=account.pk)
    assert account.grant.secrets["refresh_token"] != first["refresh_token"]  # rotated, and stored
    assert account.grant.secrets["access_token"] != first["access_token"]
    assert provider.check(app=app, account=account.state()).external_id == "test-user"

    # Disconnect revokes at the server: the grant's refresh token is dead afterwards.
    revoked = account.state()
    client.post(reverse("account_disconnect", args=[account.pk]), {"confirm": "1"})
    with pytest.raises(ProviderError) as caught:
        provider.refresh(app=app, account=revoked)
    assert caught.value.error_class == ErrorClass.AUTH


def test_reusing_a_rotated_refresh_token_ends_the_grant(team, peer):
    """What a lost rotation would cost: the server treats reuse as theft and revokes everything,
    so the account must be reconnected. This is why refreshes are serialised per grant."""
    _client, account, provider, app = _connected(team)
    stale = account.state()
    account = services.account_refresh(account_id=account.pk)
    with pytest.raises(ProviderError) as caught:
        provider.refresh(app=app, account=stale)
    assert caught.value.error_class == ErrorClass.AUTH
    with pytest.raises(ProviderError):
        services.account_refresh(account_id=account.pk)
    account.refresh_from_db()
    assert account.status == SocialAccount.Status.NEEDS_RECONNECT


def test_replayed_code_is_refused(team, peer):
    client, params = connect(team)
    provider = get_provider("oauth2-peer")
    app = services.app_credentials_for(workspace=team.workspace, provider=provider)
    client.get(reverse("connect_callback", args=["oauth2-peer"]), params)
    assert SocialAccount.objects.filter(platform="oauth2-peer").count() == 1
    with pytest.raises(ProviderError) as caught:
        provider.exchange_code(app=app, code=params["code"], redirect_uri=CALLBACK, code_verifier="x" * 43)
    assert caught.value.error_class == ErrorClass.AUTH


def test_wrong_pkce_verifier_is_refused(team, peer):
    _client, params = connect(team)
    provider = get_provider("oauth2-peer")
    app = services.app_credentials_for(workspace=team.workspace, provider=provider)
    with pytest.raises(ProviderError) as caught:
        provider.exchange_code(app=app, code=params["code"], redirect_uri=CALLBACK, code_verifier="y" * 64)
    assert caught.value.error_class == ErrorClass.AUTH


def test_refused_consent_connects_nothing(team, peer):
    client, params = connect(team, login_hint="deny")
    assert params.get("error") == "access_denied"
    response = client.get(reverse("connect_callback", args=["oauth2-peer"]), params, follow=True)
    assert b"You cancelled the connection" in response.content
    assert not SocialAccount.objects.filter(platform="oauth2-peer").exists()


def test_wrong_client_secret_is_a_config_error(team, peer, settings):
    client, params = connect(team)
    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "oauth2-peer": (peer.extra["client_id"], "nope")}
    response = client.get(reverse("connect_callback", args=["oauth2-peer"]), params, follow=True)
    assert b"did not complete the connection" in response.content
    assert not SocialAccount.objects.filter(platform="oauth2-peer").exists()
