"""Connecting end users' accounts through the API: the Demo network's consent page (one account,
or several to choose from), Bluesky's credentials, and the redirect_uri rules."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.test import Client
from django.utils import timezone

from api.models import ApiKey
from connections.models import ConnectSession, SocialAccount
from events.models import Event
from tests.api.conftest import assert_problem, make_key
from tests.connections.test_bluesky import APP_PASSWORD, DID, HANDLE, PDS, SERVICE, error, session, xrpc

pytestmark = pytest.mark.django_db
RETURN = "https://app.example/connected?from=pw"


def _start(api, key, **extra) -> str:
    response = api.post("/connect/demo/auth-url", key, {"redirect_uri": RETURN, "tenant_id": "user-42", **extra})
    assert response.status_code == 200, response.content
    return response.json()["auth_url"]


def _consent(auth_url: str, *, pages: bool, answer: str = "allow") -> str:
    """The end user (not signed in here) allows access on the Demo network; where they end up."""
    browser = Client()
    parts = urlsplit(auth_url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://127.0.0.1:8000"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert browser.get(parts.path, query).status_code == 200
    form = {**query, "identifier": "alice", "display_name": "Alice", "answer": answer}
    if pages:
        form["pages"] = "on"
    to_callback = browser.post(parts.path, form)
    assert to_callback.status_code == 302
    callback = urlsplit(to_callback["Location"])
    assert callback.path == "/connections/callback/demo/"
    bounced = browser.get(callback.path, {k: v[0] for k, v in parse_qs(callback.query).items()})
    assert bounced.status_code == 302
    return bounced["Location"]


def _answer(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://app.example/connected"
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_one_account_is_connected_at_once(api, keys):
    answer = _answer(_consent(_start(api, keys.write), pages=False))
    assert answer["from"] == "pw"  # the developer's own query is kept
    assert answer["status"] == "connected"
    account = SocialAccount.objects.get(pk=answer["account_id"])
    assert (account.username, account.tenant_id, account.connected_by) == ("@alice", "user-42", None)
    assert Event.objects.filter(type="account.connected", subject_id=account.pk).exists()
    shown = api.get(f"/social-accounts/{account.pk}", keys.read).json()
    assert (shown["type"], shown["tenant_id"], shown["scopes"]) == ("profile", "user-42", ["demo.read", "demo.write"])


def test_several_accounts_wait_for_a_selection(api, keys, team):
    answer = _answer(_consent(_start(api, keys.write), pages=True))
    assert answer["status"] == "pending"
    assert not SocialAccount.objects.exists()
    path = f"/social-accounts/pending/{answer['session']}"
    pending = api.get(path, keys.write)
    assert pending.status_code == 200, pending.content
    choices = pending.json()["choices"]
    assert [(c["id"], c["type"]) for c in choices] == [("alice", "profile"), ("alice-news", "page"),
                                                       ("alice-shop", "page")]  # fmt: skip
    assert pending.json()["tenant_id"] == "user-42"
    assert "access_token" not in pending.content.decode()
    # Only the key that started it sees it.
    assert_problem(api.get(path, keys.outsider), 404)
    assert_problem(api.get(path, make_key(team.workspace, name="other")), 404)
    assert_problem(api.post(f"{path}/finalize", keys.write, {"selectedPageIds": ["nobody"]}), 422)
    assert_problem(api.post(f"{path}/finalize", keys.write, {"selectedPageIds": []}), 422)
    done = api.post(f"{path}/finalize", keys.write, {"selectedPageIds": ["alice-news", "alice-shop"]})
    assert done.status_code == 201, done.content
    data = done.json()["data"]
    assert sorted(a["username"] for a in data) == ["@alice-news", "@alice-shop"]
    assert {a["tenant_id"] for a in data} == {"user-42"}
    accounts = SocialAccount.objects.order_by("pk")
    assert accounts.count() == 2
    assert len({a.grant_id for a in accounts}) == 1  # one consent, one grant
    assert_problem(api.post(f"{path}/finalize", keys.write, {"selectedPageIds": ["alice"]}), 409)
    assert_problem(api.get(path, keys.write), 409)


def test_denied_consent_and_revoked_key_land_nothing(api, keys, team):
    answer = _answer(_consent(_start(api, keys.write), pages=False, answer="deny"))
    assert answer["status"] == "error"
    assert "cancelled" in answer["message"]
    auth_url = _start(api, keys.write)
    ApiKey.objects.filter(prefix=keys.write[:16]).update(revoked_at=timezone.now())
    answer = _answer(_consent(auth_url, pages=False))
    assert answer == {"from": "pw", "status": "error", "message": answer["message"]}
    assert "API key can no longer connect" in answer["message"]
    assert not SocialAccount.objects.exists()
    assert ConnectSession.objects.filter(status=ConnectSession.Status.FAILED).count() == 2


def test_a_forged_code_is_refused(api, keys):
    auth_url = _start(api, keys.write)
    state = parse_qs(urlsplit(auth_url).query)["state"][0]
    bounced = Client().get("/connections/callback/demo/", {"code": "made-up", "state": state})
    answer = _answer(bounced["Location"])
    assert answer["status"] == "error"
    assert "not valid" in answer["message"]
    assert not SocialAccount.objects.exists()


def test_the_consent_page_only_answers_our_callback():
    response = Client().get("/demo/consent/", {"state": "s", "redirect_uri": "https://evil.example/cb"})
    assert response.status_code == 400
    assert "evil.example" not in response.content.decode()


@pytest.mark.parametrize(
    "uri",
    ["http://app.example/cb", "http://localhost:3000/cb", "javascript:alert(1)", "https://u:p@app.example/cb",
     "https://app.example/cb#frag", "/relative", ""],
)  # fmt: skip
def test_redirect_uri_must_be_https(api, keys, uri):
    problem = assert_problem(api.post("/connect/demo/auth-url", keys.write, {"redirect_uri": uri}), 422)
    assert problem["errors"][0]["field"] == "redirect_uri"
    assert not ConnectSession.objects.exists()


def test_http_on_loopback_while_debugging(api, keys, settings):
    settings.DEBUG = True
    response = api.post("/connect/demo/auth-url", keys.write, {"redirect_uri": "http://localhost:3000/cb"})
    assert response.status_code == 200, response.content
    assert ConnectSession.objects.get().return_to == "http://localhost:3000/cb"


def test_auth_url_refusals(api, keys, team):
    body = {"redirect_uri": RETURN}
    assert_problem(api.post("/connect/demo/auth-url", keys.read, body), 403)
    assert_problem(api.post("/connect/demo/auth-url", keys.expired, body), 401)
    assert_problem(api.post("/connect/nowhere/auth-url", keys.write, body), 404)
    assert "credentials" in assert_problem(api.post("/connect/bluesky/auth-url", keys.write, body), 422)["detail"]
    restricted = make_key(team.workspace, tenant_ids=["user-1"])
    assert_problem(api.post("/connect/demo/auth-url", restricted, {**body, "tenant_id": "user-2"}), 403)
    assert_problem(api.post("/connect/demo/auth-url", restricted, body), 403)
    assert api.post("/connect/demo/auth-url", restricted, {**body, "tenant_id": "user-1"}).status_code == 200


FORM = {"identifier": HANDLE, "app_password": APP_PASSWORD}


def test_bluesky_connects_with_an_app_password(api, keys):
    responses.add(responses.POST, xrpc(SERVICE, "com.atproto.server.createSession"), json=session())
    responses.add(responses.GET, xrpc(PDS, "app.bsky.actor.getProfile"),
                  json={"did": DID, "handle": HANDLE, "displayName": "Alice"})  # fmt: skip
    response = api.post("/connect/bluesky", keys.write, {"tenant_id": "user-9", "credentials": FORM})
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["platform"], data["network_unique_id"], data["tenant_id"]) == ("bluesky", DID, "user-9")
    assert APP_PASSWORD not in response.content.decode()
    assert json.loads(responses.calls[0].request.body) == {"identifier": HANDLE, "password": APP_PASSWORD}


def test_bluesky_credentials_are_checked_by_its_form_then_by_bluesky(api, keys):
    problem = assert_problem(
        api.post("/connect/bluesky", keys.write, {"credentials": {**FORM, "app_password": "my-real-password"}}), 422
    )
    assert problem["errors"][0]["field"] == "credentials.app_password"
    assert not responses.calls  # refused before anything leaves
    responses.add(responses.POST, xrpc(SERVICE, "com.atproto.server.createSession"), status=401,
                  json=error("AuthenticationRequired", "Invalid identifier or password"))  # fmt: skip
    problem = assert_problem(api.post("/connect/bluesky", keys.write, {"credentials": FORM}), 422)
    assert "did not accept those credentials" in problem["detail"]
    assert_problem(api.post("/connect/bluesky", keys.read, {"credentials": FORM}), 403)
    assert_problem(api.post("/connect/oauth2-test", keys.write, {"credentials": {}}), 422)
    assert not SocialAccount.objects.exists()
