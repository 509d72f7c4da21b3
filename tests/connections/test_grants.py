"""Grants: one consent's tokens shared by every account it yielded.

The example OAuth platform's /me lists ``pages`` when a login manages several accounts (like a
LinkedIn member and its organizations); a page without a token acts with the login's own token,
one with a token (a Facebook Page) acts with that.
"""

import importlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone
from responses import matchers

from accounts.actors import Actor
from accounts.models import Workspace
from connections import services
from connections.errors import ConnectError, ErrorClass, ProviderError
from connections.models import ConnectSession, Grant, SocialAccount
from connections.registry import get_provider
from events.models import Event
from tests.connections.example_provider import BASE

CONNECT = reverse("connect", args=["oauth2-test"])
CALLBACK = reverse("connect_callback", args=["oauth2-test"])
TOKEN = {"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600, "token_type": "Bearer"}
ME = {"sub": "member-1", "name": "Ada", "email": "ada@example.test"}
TWO = [{"id": "org-1", "name": "Org One"}, {"id": "org-2", "name": "Org Two"}]


def _consent(client, pages: list[dict], *, token: dict = TOKEN, account: SocialAccount | None = None) -> str:
    """Run one consent through the views; returns where the callback sent the browser."""
    response = client.post(CONNECT + (f"?account={account.pk}" if account else ""))
    state = parse_qs(urlsplit(response.url).query)["state"][0]
    responses.add(responses.POST, f"{BASE}/token", json=token)
    responses.add(responses.GET, f"{BASE}/me", json={**ME, "pages": pages})
    return client.get(CALLBACK, {"code": "c", "state": state}).url


def _connect_two(team, pages: list[dict] = TWO) -> list[SocialAccount]:
    """Connect every page of one consent; returns their accounts in the pages' order."""
    client = team.client("admin")
    url = _consent(client, pages)
    client.post(url, {"account": [page["id"] for page in pages]})
    responses.reset()
    return [SocialAccount.objects.get(external_id=page["id"]) for page in pages]


def _auth_header(call) -> str:
    return call.request.headers["Authorization"]


def _types(**lookup) -> list[str]:
    return list(Event.objects.filter(subject_type="account", **lookup).values_list("type", flat=True))


# --- Connecting ---------------------------------------------------------------------------


def test_one_consent_is_one_grant_shared_by_the_accounts_it_yielded(team):
    first, second = _connect_two(team)
    grant = Grant.objects.get()
    assert first.grant == second.grant == grant
    assert grant.secrets == {"access_token": "at-1", "refresh_token": "rt-1"}
    assert (first.secrets, second.secrets) == ({}, {})  # no copy of the consent's tokens per account
    assert (grant.platform, grant.status, grant.created_by) == ("oauth2-test", Grant.Status.ACTIVE, team.users["admin"])
    assert first.token_expires_at == second.token_expires_at == grant.expires_at
    event = Event.objects.get(type="account.connected", subject_id=second.pk)
    assert event.payload == {"account_id": second.pk, "platform": "oauth2-test", "username": "Org Two"}
    assert (event.workspace_id, event.actor_user_id) == (team.workspace.pk, team.users["admin"].pk)
    assert _types() == ["account.connected", "account.connected"]


def test_a_consent_may_yield_accounts_of_another_platform(team):
    pages = [{"id": "org-1", "name": "Org"}, {"id": "ig-1", "name": "Insta", "platform": "oauth2-test-pages"}]
    _connect_two(team, pages)
    insta = SocialAccount.objects.get(external_id="ig-1")
    assert (insta.platform, insta.grant.platform) == ("oauth2-test-pages", "oauth2-test")
    assert SocialAccount.objects.get(external_id="org-1").grant == insta.grant


def test_the_accounts_page_shows_siblings_as_one_login(team, django_assert_max_num_queries):
    first, _second, _third = _connect_two(team, [*TWO, {"id": "org-3", "name": "Org Three"}])
    client = team.client("admin")
    with django_assert_max_num_queries(12):  # does not grow with the number of accounts
        page = client.get(reverse("connections")).content.decode()
    assert page.count("Connected together with 2 other accounts") == 3
    SocialAccount.objects.filter(pk=first.pk).update(status=SocialAccount.Status.DISCONNECTED)
    page = client.get(reverse("connections")).content.decode()
    assert page.count("Connected together with 1 other account ") == 2  # a disconnected one is not a sibling


# --- Refresh ------------------------------------------------------------------------------


def test_refreshing_through_one_account_gives_its_sibling_the_rotated_token(team):
    first, second = _connect_two(team)
    assert second.grant.secrets["access_token"] == "at-1"  # the sibling holds its grant as it was then
    responses.add(
        responses.GET, f"{BASE}/me", status=401, match=[matchers.header_matcher({"Authorization": "Bearer at-1"})]
    )
    responses.add(
        responses.POST, f"{BASE}/token", json={"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600}
    )
    responses.add(
        responses.GET,
        f"{BASE}/me",
        json={"sub": "org-1"},
        match=[matchers.header_matcher({"Authorization": "Bearer at-2"})],
    )
    services.account_check(actor=Actor.of(team.membership("editor")), account=first)
    # The sibling was loaded before the refresh; its next call still uses the rotated token.
    services.account_check(actor=Actor.of(team.membership("editor")), account=second)
    me_calls = [c for c in responses.calls if c.request.url.endswith("/me")]
    assert [_auth_header(c) for c in me_calls] == ["Bearer at-1", "Bearer at-2", "Bearer at-2"]
    token_calls = [c for c in responses.calls if c.request.url.endswith("/token")]
    assert len(token_calls) == 1
    assert parse_qs(token_calls[0].request.body)["refresh_token"] == ["rt-1"]
    second.refresh_from_db()
    assert second.grant.secrets == {"access_token": "at-2", "refresh_token": "rt-2"}
    assert second.status == SocialAccount.Status.ACTIVE


def test_a_page_keeps_its_own_token_when_the_login_is_refreshed(team):
    page, _org = _connect_two(team, [{"id": "a-page", "name": "Page", "token": "pt-1"}, TWO[0]])
    assert page.state().secrets == {"access_token": "pt-1", "refresh_token": "rt-1"}
    responses.add(responses.POST, f"{BASE}/token", json={"access_token": "at-2", "refresh_token": "rt-2"})
    services.grant_refresh(grant_id=page.grant_id)
    page.refresh_from_db()
    assert page.state().secrets == {"access_token": "pt-1", "refresh_token": "rt-2"}
    assert page.grant.secrets["access_token"] == "at-2"
    assert page.secrets == {"access_token": "pt-1"}


def test_rotation_is_stored_whole_and_the_next_refresh_sends_the_new_token(team):
    first, _second = _connect_two(team)
    for n in (2, 3):
        responses.add(
            responses.POST,
            f"{BASE}/token",
            json={"access_token": f"at-{n}", "refresh_token": f"rt-{n}", "expires_in": 60},
        )
        services.grant_refresh(grant_id=first.grant_id)
    sent = [parse_qs(c.request.body)["refresh_token"][0] for c in responses.calls]
    assert sent == ["rt-1", "rt-2"]
    grant = Grant.objects.get()
    assert grant.secrets == {"access_token": "at-3", "refresh_token": "rt-3"}


def test_a_refresh_a_sibling_already_made_is_not_repeated(team):
    """Two siblings hit 401 with the same old token: the second finds it rotated and refreshes
    nothing (a second refresh would present a used refresh token, which ends the grant)."""
    first, _second = _connect_two(team)
    responses.add(responses.POST, f"{BASE}/token", json={"access_token": "at-2", "refresh_token": "rt-2"})
    services.grant_refresh(grant_id=first.grant_id, seen_access_token="at-1")
    grant = services.grant_refresh(grant_id=first.grant_id, seen_access_token="at-1")
    assert len(responses.calls) == 1
    assert grant.secrets["access_token"] == "at-2"


def test_the_token_job_refreshes_each_grant_once(team):
    _connect_two(team, [*TWO, {"id": "org-3", "name": "Org Three"}])
    Grant.objects.update(expires_at=timezone.now() + timedelta(minutes=1))
    responses.add(responses.POST, f"{BASE}/token", json={"access_token": "at-2", "expires_in": 3600})
    assert services.refresh_expiring_tokens() == {"refreshed": 1, "failed": 0}
    assert len(responses.calls) == 1
    assert Grant.objects.get().secrets == {"access_token": "at-2", "refresh_token": "rt-1"}


def test_an_account_of_another_platform_is_refreshed_by_the_consents_provider(team):
    """ExamplePagesProvider cannot refresh: the account's grant (the example login) can."""
    pages = [{"id": "ig-1", "name": "Insta", "platform": "oauth2-test-pages"}, TWO[0]]
    insta = next(a for a in _connect_two(team, pages) if a.platform == "oauth2-test-pages")
    assert not get_provider("oauth2-test-pages").supports_refresh
    responses.add(
        responses.GET, f"{BASE}/me", status=401, match=[matchers.header_matcher({"Authorization": "Bearer at-1"})]
    )
    responses.add(responses.POST, f"{BASE}/token", json={"access_token": "at-2"})
    responses.add(responses.GET, f"{BASE}/me", json={"sub": "ig-1"})
    services.account_check(actor=team.membership("admin"), account=insta)
    assert Grant.objects.get().secrets["access_token"] == "at-2"


# --- Secrets a provider updates mid-call ------------------------------------------------------


def test_update_secrets_stores_each_key_where_it_lives(team):
    page, org = _connect_two(team, [{"id": "a-page", "name": "Page", "token": "pt-1"}, TWO[0]])
    expiry = timezone.now() + timedelta(hours=5)

    def rotate(state):
        state.update_secrets(access_token="pt-2", refresh_token="rt-9", session="s-1", expires_at=expiry)
        return "done"

    assert services.call_with_account(account=page, operation=rotate) == "done"
    page.refresh_from_db()
    org.refresh_from_db()
    assert page.secrets == {"access_token": "pt-2"}  # the page's own key stays the page's
    assert page.grant.secrets == {"access_token": "at-1", "refresh_token": "rt-9", "session": "s-1"}
    assert page.grant.expires_at == expiry
    assert org.state().secrets == {"access_token": "at-1", "refresh_token": "rt-9", "session": "s-1"}


def test_update_secrets_on_a_shared_token_reaches_every_sibling(team):
    first, second = _connect_two(team)
    services.call_with_account(account=first, operation=lambda state: state.update_secrets(access_token="at-7"))
    second.refresh_from_db()
    assert (second.state().secrets["access_token"], second.secrets) == ("at-7", {})


def test_update_secrets_is_stored_even_when_the_call_then_fails(team):
    first, _second = _connect_two(team)

    def fail(state):
        state.update_secrets(refresh_token="rt-5")
        raise ProviderError(ErrorClass.TRANSIENT, "down")

    with pytest.raises(ProviderError):
        services.call_with_account(account=first, operation=fail)
    assert Grant.objects.get().secrets["refresh_token"] == "rt-5"


# --- Needs reconnect ----------------------------------------------------------------------


def test_a_refused_refresh_flips_the_grant_and_every_sibling_and_tells_admins_once(
    team, django_capture_on_commit_callbacks
):
    first, second, third = _connect_two(team, [*TWO, {"id": "org-3", "name": "Org Three"}])
    SocialAccount.objects.filter(pk=third.pk).update(status=SocialAccount.Status.DISCONNECTED)
    responses.add(responses.GET, f"{BASE}/me", status=401)
    responses.add(responses.POST, f"{BASE}/token", json={"error": "invalid_grant"}, status=400)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ProviderError):
        services.account_check(actor=team.membership("admin"), account=first)
    grant = Grant.objects.get()
    assert grant.status == Grant.Status.NEEDS_RECONNECT
    statuses = dict(SocialAccount.objects.values_list("external_id", "status"))
    assert statuses == {"org-1": "needs_reconnect", "org-2": "needs_reconnect", "org-3": "disconnected"}
    assert "refused" in SocialAccount.objects.get(pk=second.pk).last_error
    for who in ("owner", "admin"):
        notes = list(team.users[who].notifications.values_list("title", "body"))
        assert len(notes) == 1
        assert "Org One and 1 other account needs to be reconnected" in notes[0][0]
        assert "Org Two" in notes[0][1]
    assert len([m for m in mail.outbox if "reconnected" in m.subject]) == 1
    flipped = Event.objects.filter(type="account.needs_reconnect").values_list("subject_id", flat=True)
    assert sorted(flipped) == sorted([first.pk, second.pk])
    # The next failure of the same consent is the same incident: nobody is told again.
    services.account_mark_needs_reconnect(account=second, reason="still refused")
    assert team.users["owner"].notifications.count() == 1
    assert len(_types(type="account.needs_reconnect")) == 2


def test_reconnecting_one_account_renews_its_whole_grant(team):
    first, second = _connect_two(team)
    old = first.grant
    services.grant_mark_needs_reconnect(grant_id=old.pk, reason="revoked")
    client = team.client("admin")
    url = _consent(client, TWO, token={"access_token": "at-new"}, account=first)
    assert url == reverse("connections")  # no selection: the grant's accounts are renewed together
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.grant == second.grant != old
    assert first.grant.secrets == {"access_token": "at-new", "refresh_token": "rt-1"}  # refresh token kept
    assert (first.status, second.status) == (SocialAccount.Status.ACTIVE, SocialAccount.Status.ACTIVE)
    assert not Grant.objects.filter(pk=old.pk).exists()  # no account left: gone with its secrets
    assert _types(type="account.reconnected") == ["account.reconnected", "account.reconnected"]
    assert ConnectSession.objects.filter(status=ConnectSession.Status.COMPLETED).count() == 2


def test_a_grant_keeps_its_tokens_while_one_of_its_accounts_moves_away(team):
    first, second = _connect_two(team)
    old = first.grant
    url = _consent(team.client("admin"), [TWO[0], {"id": "org-9", "name": "Nine"}], token={"access_token": "x"})
    team.client("admin").post(url, {"account": ["org-1"]})
    first.refresh_from_db()
    old.refresh_from_db()
    assert first.grant != old
    assert (old.status, old.secrets["access_token"]) == (Grant.Status.ACTIVE, "at-1")  # org-2 still acts with it
    assert list(old.accounts.all()) == [second]


# --- Disconnect ---------------------------------------------------------------------------


def test_disconnecting_one_sibling_keeps_the_consent_and_the_last_one_revokes_it(team):
    first, second = _connect_two(team)
    responses.add(responses.POST, f"{BASE}/revoke", body="")
    client = team.client("admin")
    client.post(reverse("account_disconnect", args=[first.pk]), {"confirm": "1"})
    assert not responses.calls  # the sibling still publishes with this consent
    first.refresh_from_db()
    grant = Grant.objects.get()
    assert (first.status, first.secrets) == (SocialAccount.Status.DISCONNECTED, {})
    assert (grant.status, grant.secrets["refresh_token"]) == (Grant.Status.ACTIVE, "rt-1")
    client.post(reverse("account_disconnect", args=[second.pk]), {"confirm": "1"})
    revoke = parse_qs(responses.calls[0].request.body)
    assert (revoke["token"], revoke["token_type_hint"]) == (["rt-1"], ["refresh_token"])
    grant.refresh_from_db()
    assert (grant.status, grant.secrets, grant.expires_at) == (Grant.Status.REVOKED, {}, None)
    event = Event.objects.get(type="account.disconnected", subject_id=second.pk)
    assert (event.actor_user_id, event.payload["username"]) == (team.users["admin"].pk, "Org Two")


def test_a_revoked_grant_is_not_refreshed_or_flipped(team):
    first, second = _connect_two(team)
    responses.add(responses.POST, f"{BASE}/revoke", body="")
    for account in (first, second):
        services.account_disconnect(actor=team.membership("admin"), account=account)
    Grant.objects.update(expires_at=timezone.now())  # an expiry it can no longer have, to be sure
    assert services.refresh_expiring_tokens() == {"refreshed": 0, "failed": 0}
    services.grant_mark_needs_reconnect(grant_id=first.grant_id, reason="x")
    assert Grant.objects.get().status == Grant.Status.REVOKED
    assert not team.users["owner"].notifications.exists()


# --- Actors -------------------------------------------------------------------------------


def test_services_check_the_actor_not_only_the_views(team):
    first, _second = _connect_two(team)
    viewer, editor = Actor.of(team.membership("viewer")), team.membership("editor")
    provider = get_provider("oauth2-test")
    demo = get_provider("demo")
    denied = [
        lambda: services.connect_start(actor=editor, provider=provider),
        lambda: services.connect_with_form(actor=viewer, provider=demo, data={"identifier": "x"}),
        lambda: services.account_disconnect(actor=editor, account=first),
        lambda: services.account_check(actor=viewer, account=first),
    ]
    for call in denied:
        with pytest.raises(PermissionDenied):
            call()
    assert not responses.calls
    assert SocialAccount.objects.filter(status=SocialAccount.Status.ACTIVE).count() == 2
    assert not ConnectSession.objects.exclude(status=ConnectSession.Status.COMPLETED).exists()


def test_an_actor_of_another_workspace_cannot_touch_an_account(team):
    first, _second = _connect_two(team)
    outsider = Actor.of(team.users["outsider"].memberships.get())
    with pytest.raises(PermissionDenied):
        services.account_disconnect(actor=outsider, account=first)
    with pytest.raises(PermissionDenied):
        services.connect_start(actor=outsider, provider=get_provider("oauth2-test"), reconnect_account=first)
    assert SocialAccount.objects.get(pk=first.pk).status == SocialAccount.Status.ACTIVE


def test_selection_is_finished_only_by_its_admin(team):
    url = _consent(team.client("admin"), TWO)
    session = ConnectSession.objects.get(status=ConnectSession.Status.SELECTING)
    with pytest.raises(PermissionDenied):
        services.connect_select(actor=team.membership("viewer"), session=session, external_ids=["org-1"])
    with pytest.raises(PermissionDenied):  # another admin did not start it
        services.connect_select(actor=team.membership("owner"), session=session, external_ids=["org-1"])
    with pytest.raises(ConnectError, match="Choose at least one"):
        services.connect_select(actor=team.membership("admin"), session=session, external_ids=["nope"])
    assert not SocialAccount.objects.exists()
    assert url == reverse("connect_select", args=[session.pk])


# --- Migration of today's accounts ------------------------------------------------------------


MIGRATION = importlib.import_module("connections.migrations.0003_grants_data")


@pytest.mark.django_db(transaction=True)
def test_migration_gives_each_account_a_grant_holding_its_secrets():
    executor = MigrationExecutor(connection)
    target = [("connections", "0002_grants")]
    executor.migrate(target)
    try:
        apps = executor.loader.project_state(target).apps
        Account = apps.get_model("connections", "SocialAccount")
        HistoricalGrant = apps.get_model("connections", "Grant")
        workspace = Workspace.objects.create(name="Old")
        expiry = timezone.now() + timedelta(hours=1)
        common = {"workspace_id": workspace.pk, "platform": "oauth2-test"}
        live = Account.objects.create(
            **common, external_id="a", username="a", token_expires_at=expiry,
            secrets={"access_token": "at-a", "refresh_token": "rt-a"},
        )  # fmt: skip
        gone = Account.objects.create(**common, external_id="b", username="b", status="disconnected", secrets={})
        MIGRATION.move_secrets_to_grants(apps, None)
        live, gone = Account.objects.get(pk=live.pk), Account.objects.get(pk=gone.pk)
        assert live.secrets == {}
        assert live.grant.secrets == {"access_token": "at-a", "refresh_token": "rt-a"}
        assert (live.grant.expires_at, live.grant.status, live.grant.platform) == (expiry, "active", "oauth2-test")
        assert (gone.grant.status, gone.grant.secrets) == ("revoked", {})
        assert live.grant_id != gone.grant_id
        MIGRATION.move_secrets_to_grants(apps, None)  # re-running creates nothing new
        assert HistoricalGrant.objects.count() == 2

        MIGRATION.move_secrets_to_accounts(apps, None)
        live = Account.objects.get(pk=live.pk)
        assert (live.secrets, live.token_expires_at, live.grant_id) == (
            {"access_token": "at-a", "refresh_token": "rt-a"}, expiry, None,
        )  # fmt: skip
        assert not HistoricalGrant.objects.exists()
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
