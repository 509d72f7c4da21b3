"""Secrets at rest: encrypted in every row, rotatable, never rendered."""

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from accounts.models import User
from connections import vault
from connections.models import ConnectSession, Grant, InstanceApp, OAuthApp, SocialAccount
from tests.fixtures import login

PLAINTEXTS = [
    "access-PLAINTEXT-1", "refresh-PLAINTEXT-2", "app-password-PLAINTEXT", "client-secret-PLAINTEXT", "page-PLAINTEXT",
]  # fmt: skip


@pytest.fixture
def keys(monkeypatch):
    """Run with explicit keys from the environment; yields a function to change them."""

    def use(*keys: bytes) -> None:
        monkeypatch.setenv("POSTWRIGHT_ENCRYPTION_KEYS", ",".join(k.decode() for k in keys))
        vault.reset_keys_cache()

    old = Fernet.generate_key()
    use(old)
    yield use, old
    vault.reset_keys_cache()


def _store_secrets(team) -> SocialAccount:
    grant = Grant.objects.create(
        workspace=team.workspace,
        platform="bluesky",
        secrets={"access_token": PLAINTEXTS[0], "refresh_token": PLAINTEXTS[1], "app_password": PLAINTEXTS[2]},
    )
    account = SocialAccount.objects.create(
        workspace=team.workspace,
        platform="bluesky",
        external_id="did:plc:abc",
        username="ada.test",
        grant=grant,
        secrets={"page_token": PLAINTEXTS[4]},
    )
    OAuthApp.objects.create(
        workspace=team.workspace, platform="oauth2-test", client_id="id", client_secret=PLAINTEXTS[3]
    )
    InstanceApp.objects.create(
        platform="mastodon", instance_url="https://m.example", redirect_uri="https://x/cb",
        client_id="cid", client_secret=PLAINTEXTS[3], scopes="read",
    )  # fmt: skip
    ConnectSession.objects.create(
        workspace=team.workspace, platform="oauth2-test", created_by=team.users["admin"],
        redirect_uri="https://x/cb", secrets={"code_verifier": PLAINTEXTS[0]},
    )  # fmt: skip
    return account


def _raw_rows() -> str:
    dump = []
    with connection.cursor() as cursor:
        for table in (
            "connections_socialaccount",
            "connections_grant",
            "connections_oauthapp",
            "connections_instanceapp",
            "connections_connectsession",
        ):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            dump.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dump)


def test_no_plaintext_secret_in_any_raw_row(team, keys):
    account = _store_secrets(team)
    raw = _raw_rows()
    for secret in PLAINTEXTS:
        assert secret not in raw
    account.refresh_from_db()
    assert account.grant.secrets["app_password"] == PLAINTEXTS[2]
    assert account.secrets["page_token"] == PLAINTEXTS[4]


def test_rotation_reencrypts_everything_under_the_new_key(team, keys):
    use, old = keys
    account = _store_secrets(team)
    new = Fernet.generate_key()
    use(new, old)  # newest first: old rows still readable
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "1/1" in out.getvalue()
    assert "grants: 1/1 done" in out.getvalue()
    use(new)  # the old key is gone: everything must still decrypt
    account.refresh_from_db()
    assert account.grant.secrets["refresh_token"] == PLAINTEXTS[1]
    assert account.secrets["page_token"] == PLAINTEXTS[4]
    assert OAuthApp.objects.get().client_secret == PLAINTEXTS[3]
    assert InstanceApp.objects.get().client_secret == PLAINTEXTS[3]
    assert ConnectSession.objects.get().secrets["code_verifier"] == PLAINTEXTS[0]
    call_command("rotate_encryption_keys", stdout=io.StringIO())  # re-running is harmless


def test_a_missing_key_is_a_clear_error_not_a_leak(team, keys):
    use, _old = keys
    _store_secrets(team)
    use(Fernet.generate_key())
    with pytest.raises(vault.VaultError, match="cannot be decrypted") as caught:
        SocialAccount.objects.get()
    with pytest.raises(vault.VaultError):
        Grant.objects.get()
    assert PLAINTEXTS[0] not in str(caught.value)


def test_a_page_that_meets_an_undecryptable_secret_tells_the_operator_what_to_do(team, keys, caplog):
    use, _old = keys
    _store_secrets(team)
    use(Fernet.generate_key())  # the key that encrypted them was dropped before rotating
    client = team.client("owner")
    client.raise_request_exception = True  # a 500 would raise here rather than pass quietly
    # The Accounts page reads no secret at all (its "configured" flags need none): it still works.
    assert client.get(reverse("connections")).status_code == 200
    # The workspace's own app keys page has to decrypt the stored client secret.
    response = client.get(reverse("connection_app", args=["oauth2-test"]))
    assert response.status_code == 503
    page = response.content.decode()
    assert "POSTWRIGHT_ENCRYPTION_KEYS" in page
    assert "rotate_encryption_keys" in page
    assert "Traceback" not in page
    assert PLAINTEXTS[0] not in page
    logged = [r for r in caplog.records if r.levelname == "ERROR" and "POSTWRIGHT_ENCRYPTION_KEYS" in r.getMessage()]
    assert logged
    assert "/connections/apps/oauth2-test/" in logged[0].getMessage()


def test_rotation_without_the_old_key_stops_with_the_variable_named(team, keys):
    use, _old = keys
    _store_secrets(team)
    use(Fernet.generate_key())
    with pytest.raises(CommandError, match="POSTWRIGHT_ENCRYPTION_KEYS"):
        call_command("rotate_encryption_keys", stdout=io.StringIO())


def test_bad_key_configuration_names_the_variable(monkeypatch):
    monkeypatch.setenv("POSTWRIGHT_ENCRYPTION_KEYS", "not-a-key")
    vault.reset_keys_cache()
    with pytest.raises(Exception, match="POSTWRIGHT_ENCRYPTION_KEYS"):
        vault.encrypt("x")
    vault.reset_keys_cache()


def test_keys_required_in_production(monkeypatch, settings):
    monkeypatch.delenv("POSTWRIGHT_ENCRYPTION_KEYS", raising=False)
    settings.DEBUG = False
    settings.TESTING = False
    vault.reset_keys_cache()
    with pytest.raises(Exception, match="POSTWRIGHT_ENCRYPTION_KEYS must be set"):
        vault.encrypt("x")
    vault.reset_keys_cache()


def test_secrets_are_not_in_admin_pages_or_serialised_output(team):
    account = _store_secrets(team)
    admin = login(User.objects.create_superuser(email="root@example.com", password="x"))
    pages = [
        admin.get(reverse("admin:connections_socialaccount_change", args=[account.pk])),
        admin.get(reverse("admin:connections_socialaccount_changelist")),
        admin.get(reverse("admin:connections_grant_change", args=[account.grant_id])),
        admin.get(reverse("admin:connections_grant_changelist")),
        admin.get(reverse("admin:connections_oauthapp_change", args=[OAuthApp.objects.get().pk])),
        admin.get(reverse("admin:connections_instanceapp_change", args=[InstanceApp.objects.get().pk])),
        admin.get(reverse("admin:connections_connectsession_change", args=[ConnectSession.objects.get().pk])),
        team.client("owner").get(reverse("connections")),
    ]
    for page in pages:
        assert page.status_code == 200
        for secret in PLAINTEXTS:
            assert secret not in page.content.decode()
    grant_page = pages[2].content.decode()
    assert "ada.test" in grant_page  # the grant lists its accounts
    assert 'name="secrets"' not in grant_page  # and offers no field for its tokens
    assert f"/admin/connections/grant/{account.grant_id}/change/" in pages[0].content.decode()  # account -> grant
    out = io.StringIO()
    call_command("dumpdata", "connections", stdout=out)
    dumped = json.dumps(json.loads(out.getvalue()))
    for secret in PLAINTEXTS:
        assert secret not in dumped
