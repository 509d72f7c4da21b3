import base64
import hashlib
import hmac
import re
import struct
import time

from django.core import mail
from django.urls import reverse

from accounts.models import Membership, User
from accounts.roles import Role
from tests.fixtures import PASSWORD, make_user


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def test_signup_requires_email_verification_then_lands_on_dashboard(client, db):
    response = client.post(
        reverse("account_signup"),
        {"email": "New.Person@Example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "new.person@example.com"
    # Not in until the address is verified.
    assert client.get(reverse("dashboard")).status_code == 302
    assert len(mail.outbox) == 1
    confirm_path = _link(mail.outbox[0])
    assert client.get(confirm_path).status_code == 200
    response = client.post(confirm_path)
    assert response.status_code == 302
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.status_code == 200
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert membership.workspace.name == "new.person's workspace"
    assert user.emailaddress_set.get().verified


def test_signup_shows_specific_errors_and_creates_nothing(client, db):
    response = client.post(reverse("account_signup"), {"email": "not-an-email", "password1": "a", "password2": "b"})
    assert response.status_code == 200
    assert b"Enter a valid email address" in response.content
    assert not User.objects.exists()


def test_signups_can_be_closed(client, db, settings):
    settings.SIGNUPS_OPEN = False
    response = client.get(reverse("account_signup"))
    assert b"Sign Up Closed" in response.content or b"closed" in response.content.lower()


def test_password_reset_sends_a_working_link(client, db):
    user = make_user("reset@example.com")
    client.post(reverse("account_reset_password"), {"email": "reset@example.com"})
    assert len(mail.outbox) == 1
    reset_path = _link(mail.outbox[0])
    form_page = client.get(reset_path, follow=True)
    assert form_page.status_code == 200
    new_password = "another-long-passphrase-77"
    response = client.post(
        form_page.redirect_chain[-1][0], {"password1": new_password, "password2": new_password}, follow=True
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_login_with_email_and_logout(client, db):
    make_user("login@example.com")
    response = client.post(reverse("account_login"), {"login": "login@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    client.post(reverse("account_logout"))
    assert client.get(reverse("dashboard")).status_code == 302


def _totp(secret: str, at: float) -> str:
    """RFC 6238 code, written here so the test does not trust the code under test."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def test_mfa_totp_can_be_activated_with_recovery_codes(client, db):
    user = make_user("mfa@example.com")
    client.post(reverse("account_login"), {"login": "mfa@example.com", "password": PASSWORD})
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 302  # sensitive: asks for the password again first
    client.post(response.url, {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": _totp(secret, time.time())})
    assert response.status_code == 302
    assert set(user.authenticator_set.values_list("type", flat=True)) == {"totp", "recovery_codes"}


def test_google_login_hidden_when_not_configured(client, db):
    response = client.get(reverse("account_login"))
    assert b"Google" not in response.content
