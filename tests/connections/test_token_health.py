"""Token refresh before expiry, and what happens when a platform refuses."""

import json
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule

from connections.errors import ProviderError
from connections.models import Grant, SocialAccount
from connections.services import account_refresh, refresh_expiring_tokens
from tests.connections.example_provider import BASE


def _account(team, *, expires_in: timedelta, refresh_token: str = "rt-1") -> SocialAccount:
    """An account of a grant of its own, as a connect would leave it."""
    grant = Grant.objects.create(
        workspace=team.workspace, platform="oauth2-test",
        secrets={"access_token": "at-1", "refresh_token": refresh_token}, expires_at=timezone.now() + expires_in,
    )  # fmt: skip
    return SocialAccount.objects.create(
        workspace=team.workspace, platform="oauth2-test", external_id=f"u-{SocialAccount.objects.count()}",
        username="ada", grant=grant,
    )  # fmt: skip


def test_refreshes_only_tokens_near_expiry(team):
    soon = _account(team, expires_in=timedelta(minutes=5))
    later = _account(team, expires_in=timedelta(days=2))
    responses.add(
        responses.POST, f"{BASE}/token", json={"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600}
    )
    assert refresh_expiring_tokens() == {"refreshed": 1, "failed": 0}
    soon.refresh_from_db()
    later.refresh_from_db()
    assert soon.grant.secrets == {"access_token": "at-2", "refresh_token": "rt-2"}
    assert soon.token_expires_at > timezone.now() + timedelta(minutes=55)
    assert soon.grant.last_refreshed_at is not None
    assert later.grant.secrets["access_token"] == "at-1"
    assert parse_qs(responses.calls[0].request.body)["refresh_token"] == ["rt-1"]


def test_refresh_without_a_new_refresh_token_keeps_the_old_one(team):
    account = _account(team, expires_in=timedelta(minutes=1))
    responses.add(responses.POST, f"{BASE}/token", json={"access_token": "at-2", "expires_in": 3600})
    account_refresh(account_id=account.pk)
    account.refresh_from_db()
    assert account.grant.secrets == {"access_token": "at-2", "refresh_token": "rt-1"}


def test_auth_failure_asks_to_reconnect(team):
    account = _account(team, expires_in=timedelta(minutes=1))
    responses.add(responses.POST, f"{BASE}/token", json={"error": "invalid_grant"}, status=400)
    assert refresh_expiring_tokens() == {"refreshed": 0, "failed": 1}
    account.refresh_from_db()
    assert account.status == SocialAccount.Status.NEEDS_RECONNECT
    assert "refused" in account.last_error
    assert team.users["owner"].notifications.count() == 1
    refresh_expiring_tokens()  # no longer active: not retried, not notified again
    assert team.users["owner"].notifications.count() == 1


def test_transient_failure_does_not_disconnect(team):
    account = _account(team, expires_in=timedelta(minutes=1))
    responses.add(responses.POST, f"{BASE}/token", body="upstream down", status=503)
    with pytest.raises(ProviderError):
        account_refresh(account_id=account.pk)
    account.refresh_from_db()
    assert (account.status, account.grant.status) == (SocialAccount.Status.ACTIVE, Grant.Status.ACTIVE)
    assert "will retry" in account.grant.last_error
    assert account.problem == account.grant.last_error  # what the Accounts page shows
    assert not team.users["owner"].notifications.exists()


def test_token_jobs_are_scheduled(db):
    assert Schedule.objects.get(name="refresh-expiring-tokens").func == "connections.tasks.refresh_expiring_tokens"
    assert Schedule.objects.filter(name="expire-connect-sessions").exists()


@pytest.mark.skipif(connection.vendor == "sqlite", reason="row locks need PostgreSQL (what CI and production run)")
@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_do_not_lose_a_rotated_token(team):
    """The platform rotates refresh tokens and rejects a used one, like X and oidc-provider do."""
    account = _account(team, expires_in=timedelta(minutes=1))
    current = {"refresh_token": "rt-1", "n": 1}
    lock = threading.Lock()

    def token_endpoint(request):
        sent = parse_qs(request.body)["refresh_token"][0]
        time.sleep(0.3)  # hold the first refresh open while the second one starts
        with lock:
            if sent != current["refresh_token"]:
                return 400, {}, '{"error": "invalid_grant"}'
            current["n"] += 1
            current["refresh_token"] = f"rt-{current['n']}"
            body = {"access_token": f"at-{current['n']}", "refresh_token": current["refresh_token"], "expires_in": 3600}
            return 200, {}, json.dumps(body)

    responses.add_callback(responses.POST, f"{BASE}/token", callback=token_endpoint, content_type="application/json")
    errors: list[Exception] = []

    def refresh() -> None:
        try:
            account_refresh(account_id=account.pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    account.refresh_from_db()
    assert errors == []
    assert account.status == SocialAccount.Status.ACTIVE
    assert account.grant.secrets["refresh_token"] == "rt-3"
