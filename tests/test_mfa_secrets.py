"""Two-factor secrets are encrypted at rest, survive key rotation, and stay out of the admin."""

import importlib
import io
import re
import time

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import User
from connections import vault
from tests.fixtures import PASSWORD, login, make_user
from tests.test_signup import _totp

BASE32_SECRET = re.compile(r"\b[A-Z2-7]{16,}\b")


@pytest.fixture
def keys(monkeypatch):
    def use(*keys: bytes) -> None:
        monkeypatch.setenv("POSTWRIGHT_ENCRYPTION_KEYS", ",".join(k.decode() for k in keys))
        vault.reset_keys_cache()

    old = Fernet.generate_key()
    use(old)
    yield use, old
    vault.reset_keys_cache()


def _enable_totp(user: User) -> tuple[str, list[str]]:
    """Enrol through allauth's own pages, as a person would; returns the secret and recovery codes."""
    client = login(user)
    client.post(client.get(reverse("mfa_activate_totp")).url, {"password": PASSWORD})
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    assert client.post(reverse("mfa_activate_totp"), {"code": _totp(secret, time.time())}).status_code == 302
    codes = client.get(reverse("mfa_view_recovery_codes")).context["unused_codes"]
    return secret, codes


def _raw_data() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM mfa_authenticator ORDER BY id")
        return " ".join(str(row[0]) for row in cursor.fetchall())


def _login_with_code(email: str, code_at) -> Client:
    client = Client()
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.url == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": code_at()})
    assert response.status_code == 302, response.context["form"].errors
    assert client.get(reverse("dashboard")).status_code == 200
    return client


def test_the_database_holds_no_totp_secret_or_recovery_seed(db, keys):
    user = make_user("mfa@example.com")
    secret, codes = _enable_totp(user)
    raw = _raw_data()
    assert secret not in raw
    assert not BASE32_SECRET.search(raw)
    seed = vault.decrypt(Authenticator.objects.get(type="recovery_codes").data["seed"])
    assert seed not in raw
    assert all(code not in raw for code in codes)
    dump = io.StringIO()
    call_command("dumpdata", "mfa", stdout=dump)
    assert secret not in dump.getvalue()
    assert seed not in dump.getvalue()


def test_login_with_totp_and_with_a_recovery_code_still_works(db, keys):
    user = make_user("mfa@example.com")
    secret, codes = _enable_totp(user)
    with time_machine.travel(time.time() + 60, tick=False):  # a fresh code: the enrolment one is spent
        _login_with_code("mfa@example.com", lambda: _totp(secret, time.time()))
    _login_with_code("mfa@example.com", lambda: codes[0])


def test_a_wrong_totp_code_is_refused(db, keys):
    user = make_user("mfa@example.com")
    secret, _ = _enable_totp(user)
    client = Client()
    client.post(reverse("account_login"), {"login": "mfa@example.com", "password": PASSWORD})
    wrong = f"{(int(_totp(secret, time.time() + 60)) + 1) % 1_000_000:06d}"
    client.post(reverse("mfa_authenticate"), {"code": wrong})
    assert client.get(reverse("dashboard")).status_code == 302


def test_rotation_reencrypts_two_factor_secrets_and_login_still_works(db, keys):
    use, old = keys
    user = make_user("mfa@example.com")
    secret, codes = _enable_totp(user)
    before = _raw_data()
    new = Fernet.generate_key()
    use(new, old)
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "two-factor authenticators: 2/2" in out.getvalue()
    assert _raw_data() != before
    use(new)  # the old key is gone: everything must read under the new one alone
    for authenticator in Authenticator.objects.all():
        for value in [authenticator.data.get("secret"), authenticator.data.get("seed")]:
            if value:
                Fernet(new).decrypt(value.encode())
    with time_machine.travel(time.time() + 60, tick=False):
        _login_with_code("mfa@example.com", lambda: _totp(secret, time.time()))
    _login_with_code("mfa@example.com", lambda: codes[1])


def test_the_migration_encrypts_existing_plaintext_rows_and_is_reversible(db, keys):
    user = make_user("old@example.com")
    plain = {"secret": "JBSWY3DPEHPK3PXPJBSWY3DP"}
    totp = Authenticator.objects.create(user=user, type="totp", data=plain)
    codes = Authenticator.objects.create(
        user=user, type="recovery_codes", data={"seed": "ab" * 40, "used_mask": 5, "migrated_codes": ["12345678"]}
    )
    migration = importlib.import_module("accounts.migrations.0002_encrypt_mfa_secrets")
    migration.encrypt_secrets(apps, None)
    migration.encrypt_secrets(apps, None)  # a second run must not double-encrypt
    totp.refresh_from_db()
    codes.refresh_from_db()
    assert "JBSWY3DP" not in _raw_data()
    assert vault.decrypt(totp.data["secret"]) == plain["secret"]
    assert vault.decrypt(codes.data["seed"]) == "ab" * 40
    assert [vault.decrypt(c) for c in codes.data["migrated_codes"]] == ["12345678"]
    assert codes.data["used_mask"] == 5
    migration.decrypt_secrets(apps, None)
    totp.refresh_from_db()
    assert totp.data == plain


def test_admin_shows_authenticators_read_only_without_their_data(db, keys):
    user = make_user("mfa@example.com")
    _enable_totp(user)
    root = User.objects.create_superuser(email="root@example.com", password="x")
    client = login(root)
    totp = Authenticator.objects.get(type="totp")
    url = reverse("admin:mfa_authenticator_change", args=[totp.pk])
    page = client.get(url).content.decode()
    assert totp.data["secret"] not in page
    assert "<textarea" not in page
    assert 'name="data"' not in page
    before = dict(totp.data)
    client.post(url, {"data": '{"secret": "AAAA"}', "type": "totp", "user": user.pk})
    totp.refresh_from_db()
    assert totp.data == before
    assert client.get(reverse("admin:mfa_authenticator_changelist")).status_code == 200
