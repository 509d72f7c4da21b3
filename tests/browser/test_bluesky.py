"""Connect a Bluesky account hosted on a real local PDS, through the dashboard."""

import re
import uuid

import pytest
import requests
from playwright.sync_api import Page, expect

from connections.models import SocialAccount
from tests.peers.fixtures import pds_server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.peer, pytest.mark.django_db(transaction=True)]


def pds_account_with_app_password(base: str) -> tuple[str, str]:
    """A fresh account on the PDS and an app password for it, made the way a user would."""
    handle = f"br{uuid.uuid4().hex[:8]}.test"
    created = requests.post(
        f"{base}/xrpc/com.atproto.server.createAccount",
        json={"handle": handle, "email": f"{handle}@example.test", "password": "main-password-1"},
        timeout=15,
    )
    created.raise_for_status()
    app_password = requests.post(
        f"{base}/xrpc/com.atproto.server.createAppPassword",
        json={"name": "Postwright"},
        headers={"Authorization": f"Bearer {created.json()['accessJwt']}"},
        timeout=15,
    )
    app_password.raise_for_status()
    return handle, app_password.json()["password"]


def test_connect_bluesky_on_a_self_hosted_pds(live_server, page: Page, signed_in, pds_server, shot):  # noqa: F811
    handle, app_password = pds_account_with_app_password(pds_server.url)
    page.goto(f"{live_server.url}/connections/")
    page.get_by_role("link", name="Connect Bluesky").click()
    page.get_by_label("Handle or email").fill(handle)
    page.get_by_label("App password").fill("Not-An-App-Password")
    page.get_by_label(re.compile("^Server")).fill(pds_server.url)
    page.get_by_role("button", name="Connect").click()
    expect(page.locator(".has-error")).to_contain_text("app password")
    assert not SocialAccount.objects.exists()

    page.get_by_label("App password").fill(app_password)
    page.get_by_role("button", name="Connect").click()
    row = page.locator("tr", has_text=handle)
    expect(row.get_by_text("Active")).to_be_visible()
    shot("connected")

    account = SocialAccount.objects.get(platform="bluesky")
    assert account.username.endswith(handle)
    assert account.external_id.startswith("did:plc:")
    assert account.grant.secrets["app_password"]  # encrypted at rest, readable by the app
    row.get_by_role("button", name="Check").click()
    expect(page.get_by_text(re.compile("is working"))).to_be_visible()
