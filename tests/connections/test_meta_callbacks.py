"""Meta's deauthorize and data-deletion callbacks, with signed requests computed here as Meta
makes them, and the privacy and data-deletion pages the Meta console asks for."""

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from connections import services
from connections.models import Grant, OAuthApp, SocialAccount
from connections.providers.meta import login
from connections.providers.meta.models import DataDeletionRequest
from connections.providers.meta.signed_request import BadSignedRequest, sign, verify
from connections.registry import get_provider
from events.models import Event
from tests.connections.meta_graph import APP_SECRET, IG_ID, META_USER_ID, PAGE_ID, mock_consent

OTHER_USER = "10000999999999"


def meta_signed(payload: dict, secret: str = APP_SECRET) -> str:
    """Written out by hand (not with the module under test): base64url JSON, HMAC-SHA256 of it."""
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}.{body}"


def payload(user_id: str = META_USER_ID) -> dict:
    return {"algorithm": "HMAC-SHA256", "expires": 1291840400, "issued_at": 1291836800, "user_id": user_id}


@pytest.fixture
def meta_app(settings, monkeypatch):
    settings.SITE_URL = "https://postwright.example"
    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "facebook": ("client-123", APP_SECRET)}
    monkeypatch.setattr(login, "_resolve", lambda host: ["93.184.216.34"])


def connect(team, *, workspace=None) -> list[SocialAccount]:
    """The real consent flow: a Page and its Instagram account, one grant."""
    from accounts.models import Membership

    if workspace is None:
        actor = team.membership("admin")
    else:
        actor = Membership.objects.get(workspace=workspace, user=team.users["outsider"])
    url = services.connect_start(actor=actor, provider=get_provider("facebook"))
    state = parse_qs(urlsplit(url).query)["state"][0]
    mock_consent()
    session = services.connect_callback(
        user=actor.user, provider=get_provider("facebook"), params={"state": state, "code": "c0de"}
    )
    return services.connect_select(actor=actor, session=session, external_ids=[PAGE_ID, IG_ID])


def post(path: str, signed: str | None):
    client = Client(enforce_csrf_checks=True)  # Meta sends no CSRF token: the callbacks are exempt
    return client.post(path, {} if signed is None else {"signed_request": signed})


DEAUTHORIZE = "/meta/facebook/deauthorize/"
DELETION = "/meta/facebook/data-deletion/"


# --- signed_request -----------------------------------------------------------------------------


def test_a_request_signed_as_meta_signs_is_verified_and_names_its_user():
    facts = verify(meta_signed(payload()), ["another-secret", APP_SECRET])
    assert (facts.user_id, facts.issued_at, facts.secret) == (META_USER_ID, 1291836800, APP_SECRET)
    assert verify(sign(payload(), APP_SECRET), [APP_SECRET]).user_id == META_USER_ID


def test_a_padded_signature_is_accepted():
    signature, body = meta_signed(payload()).split(".")
    assert verify(f"{signature}=.{body}", [APP_SECRET]).user_id == META_USER_ID


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (None, "missing"),
        ("", "missing"),
        ("no-dot-at-all", "malformed"),
        ("a.b.c", "malformed"),
        (meta_signed(payload(), "wrong-secret"), "does not match"),
        ("!!!." + meta_signed(payload()).split(".")[1], "base64url"),
        (meta_signed({**payload(), "algorithm": "HMAC-SHA1"}), "HMAC-SHA256"),
        (meta_signed({"algorithm": "HMAC-SHA256", "issued_at": 1}), "names no user"),
    ],
)
def test_bad_signed_requests_are_refused_saying_why(value, why):
    with pytest.raises(BadSignedRequest, match=why):
        verify(value, [APP_SECRET])


def test_a_payload_changed_after_signing_is_refused():
    signature, _ = meta_signed(payload()).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(payload(OTHER_USER)).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignedRequest, match="does not match"):
        verify(f"{signature}.{forged}", [APP_SECRET])


# --- The deauthorize callback -----------------------------------------------------------------


def test_connecting_keeps_the_app_scoped_user_id_meta_callbacks_name(team, meta_app):
    accounts = connect(team)
    assert {(a.extra["meta_user_id"], a.extra["meta_app_id"]) for a in accounts} == {(META_USER_ID, "client-123")}


def test_deauthorize_flips_the_consent_to_reconnect_and_wipes_its_dead_tokens(team, meta_app):
    page, insta = sorted(connect(team), key=lambda a: a.platform)
    response = post(DEAUTHORIZE, meta_signed(payload()))
    assert response.status_code == 200
    grant = Grant.objects.get(pk=page.grant_id)
    assert (grant.status, grant.secrets) == (Grant.Status.NEEDS_RECONNECT, {})
    for account in SocialAccount.objects.filter(pk__in=[page.pk, insta.pk]):
        assert (account.status, account.secrets) == (SocialAccount.Status.NEEDS_RECONNECT, {})
        assert "removed" in account.last_error
    flipped = Event.objects.filter(type="account.needs_reconnect").values_list("subject_id", flat=True)
    assert sorted(flipped) == sorted([page.pk, insta.pk])


def test_deauthorize_of_another_user_touches_nothing(team, meta_app):
    page, _ = connect(team)
    assert post(DEAUTHORIZE, meta_signed(payload(OTHER_USER))).status_code == 200
    assert Grant.objects.get(pk=page.grant_id).status == Grant.Status.ACTIVE
    assert SocialAccount.objects.get(pk=page.pk).secrets


@pytest.mark.parametrize("signed", [None, "garbage", meta_signed(payload(), "not-the-app-secret")])
@pytest.mark.parametrize("path", [DEAUTHORIZE, DELETION])
def test_a_callback_without_a_valid_signature_is_a_400_that_changes_nothing(team, meta_app, path, signed):
    page, _ = connect(team)
    response = post(path, signed)
    assert response.status_code == 400
    assert "signed_request" in response.json()["error"]
    assert Grant.objects.get(pk=page.grant_id).status == Grant.Status.ACTIVE
    assert SocialAccount.objects.get(pk=page.pk).secrets
    assert not DataDeletionRequest.objects.exists()


def test_callbacks_exist_only_for_platforms_whose_app_signs_them(db, meta_app):
    signed = meta_signed(payload())
    assert post("/meta/instagram/deauthorize/", signed).status_code == 404, "Facebook's app covers these"
    assert post("/meta/no-such-platform/data-deletion/", signed).status_code == 404
    assert Client().get(DEAUTHORIZE).status_code == 405


def test_csrf_stays_enforced_elsewhere(team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.users["owner"])
    assert client.post(reverse("notifications_read")).status_code == 403


# --- The data-deletion callback and its status page ---------------------------------------------


def test_a_deletion_request_erases_the_users_data_and_answers_a_status_url_and_code(team, meta_app):
    page, insta = sorted(connect(team), key=lambda a: a.platform)
    response = post(DELETION, meta_signed(payload()))
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"url", "confirmation_code"}
    assert answer["url"] == f"https://postwright.example/meta/data-deletion/{answer['confirmation_code']}/"
    grant = Grant.objects.get(pk=page.grant_id)
    assert (grant.status, grant.secrets) == (Grant.Status.REVOKED, {})
    for account in SocialAccount.objects.filter(pk__in=[page.pk, insta.pk]):
        assert (account.status, account.secrets, account.extra) == (SocialAccount.Status.DISCONNECTED, {}, {})
        assert (account.display_name, account.avatar_url, account.profile_url) == ("", "", "")
        assert account.username == account.external_id
    assert Event.objects.filter(type="account.disconnected").count() == 2
    status = Client().get(urlsplit(answer["url"]).path)
    assert status.status_code == 200
    page_text = status.content.decode()
    assert answer["confirmation_code"] in page_text
    assert 'data-status="completed"' in page_text
    assert "2 connected accounts" in page_text


def test_a_deletion_request_for_a_user_we_hold_nothing_about_is_completed_saying_so(team, meta_app):
    page, _ = connect(team)
    answer = post(DELETION, meta_signed(payload(OTHER_USER))).json()
    assert SocialAccount.objects.get(pk=page.pk).status == SocialAccount.Status.ACTIVE
    status = Client().get(urlsplit(answer["url"]).path).content.decode()
    assert "nothing to delete" in status
    assert DataDeletionRequest.objects.get().accounts_erased == 0


def test_an_unknown_confirmation_code_is_404(db):
    assert Client().get("/meta/data-deletion/not-a-code/").status_code == 404


def test_a_workspaces_own_app_signs_for_its_own_consents_only(team, meta_app):
    """The same app-scoped id under two apps is two different people: each app's signature
    reaches only the consents made with that app."""
    OAuthApp.objects.create(
        workspace=team.other_workspace, platform="facebook", client_id="byok-9", client_secret="byok-secret"
    )
    ours = connect(team)
    theirs = connect(team, workspace=team.other_workspace)
    assert {a.extra["meta_app_id"] for a in theirs} == {"byok-9"}
    assert post(DELETION, meta_signed(payload(), "byok-secret")).status_code == 200
    assert {SocialAccount.objects.get(pk=a.pk).status for a in theirs} == {SocialAccount.Status.DISCONNECTED}
    assert {SocialAccount.objects.get(pk=a.pk).status for a in ours} == {SocialAccount.Status.ACTIVE}


# --- The pages the Meta console asks for ---------------------------------------------------------


def test_the_operator_can_redirect_the_pages_to_their_own(db, settings):
    settings.PRIVACY_POLICY_URL = "https://example.com/privacy"
    settings.DATA_DELETION_INSTRUCTIONS_URL = "https://example.com/delete-my-data"
    assert Client().get("/privacy/").url == "https://example.com/privacy"
    assert Client().get("/data-deletion/").url == "https://example.com/delete-my-data"
    assert Client().get("/terms/").status_code == 200, "the terms stay ours unless TERMS_URL is set"


def test_operators_see_deletion_requests_in_the_admin_but_cannot_rewrite_them(team, meta_app):
    from accounts.models import User
    from tests.fixtures import login as signed_in

    answer = post(DELETION, meta_signed(payload())).json()
    client = signed_in(User.objects.create_superuser(email="root@example.com", password="x"))
    listing = client.get(reverse("admin:meta_datadeletionrequest_changelist"), {"q": answer["confirmation_code"]})
    assert answer["confirmation_code"] in listing.content.decode()
    record = DataDeletionRequest.objects.get()
    client.post(reverse("admin:meta_datadeletionrequest_change", args=[record.pk]), {"status": "received"})
    assert DataDeletionRequest.objects.get().status == DataDeletionRequest.Status.COMPLETED
