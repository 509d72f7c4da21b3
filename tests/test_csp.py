"""Content-Security-Policy: scripts and styles from our origin only, and pages that need nothing else."""

import datetime
from html.parser import HTMLParser

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.middleware import CONTENT_SECURITY_POLICY
from publishing.services import PartInput, PostInput, When, post_create
from tests.fixtures import PASSWORD, login, make_user

# Script types a browser does not run (allauth passes data to its scripts this way).
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, on*= handlers, style attributes and
    <style> elements, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-on"):
                self.found.append(f"<{tag} {name}=...>")
            if name == "style":
                self.found.append(f"<{tag} style=...>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and not named.get("src") and named.get("type") not in DATA_SCRIPT_TYPES:
            self._in_inline_script = True

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_the_scanner_finds_what_csp_would_block():
    page = (
        '<script>alert(1)</script><script src="/s.js"></script><script type="application/json">{"a":1}</script>'
        '<button onclick="x()">b</button><div style="color:red"></div><style>p{}</style>'
        '<a href="javascript:void(0)">a</a><p hx-on:click="y()"></p>'
    )
    assert len(inline_code(page)) == 6


def test_every_response_carries_the_policy(client, db):
    response = client.get(reverse("account_login"))
    policy = response.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert client.get("/no-such-page/").headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_htmx_is_told_not_to_inject_styles_or_eval(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert '"includeIndicatorStyles": false' in page
    assert '"allowEval": false' in page


@pytest.fixture
def a_post(team, demo_accounts):
    tomorrow = When.at(timezone.now() + datetime.timedelta(days=1))
    data = PostInput(parts=[PartInput(text="Hello")], account_ids=[a.id for a in demo_accounts], when=tomorrow)
    return post_create(actor=team.membership("owner"), data=data)


def _signed_in_pages(team, demo_accounts, a_post) -> list[str]:
    return [
        reverse("dashboard"),
        reverse("workspace_list"),
        reverse("workspace_create"),
        reverse("workspace_settings"),
        reverse("members"),
        reverse("api_keys"),
        reverse("api_docs"),
        reverse("notifications"),
        reverse("calendar"),
        reverse("calendar") + "?view=week",
        reverse("posts"),
        reverse("compose"),
        reverse("post_detail", args=[a_post.pk]),
        reverse("post_edit", args=[a_post.pk]),
        reverse("queue_slots"),
        reverse("media_library"),
        reverse("connections"),
        reverse("connect", args=["bluesky"]),
        reverse("connect", args=["mastodon"]),
        reverse("connection_app", args=["oauth2-test"]),
        reverse("analytics"),
        reverse("account_email"),
        reverse("account_change_password"),
        reverse("mfa_index"),
    ]


def test_signed_in_pages_have_no_inline_code(team, demo_accounts, a_post):
    client = team.client("owner")
    for url in _signed_in_pages(team, demo_accounts, a_post):
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url


def test_sign_in_and_signup_pages_have_no_inline_code(client, db):
    for url in (
        reverse("account_login"),
        reverse("account_signup"),
        reverse("account_reset_password"),
        reverse("account_email_verification_sent"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url


def test_two_factor_pages_have_no_inline_code(db):
    from tests.test_signup import _totp

    user = make_user("mfa@example.com")
    client = login(user)
    client.post(client.get(reverse("mfa_activate_totp")).url, {"password": PASSWORD})
    activate = client.get(reverse("mfa_activate_totp"))
    assert inline_code(activate.content.decode()) == []
    secret = activate.context["form"].secret
    client.post(reverse("mfa_activate_totp"), {"code": _totp(secret, timezone.now().timestamp())})
    codes = client.get(reverse("mfa_view_recovery_codes"))
    assert codes.status_code == 200
    assert inline_code(codes.content.decode()) == []
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1)):
        fresh = Client()
        fresh.post(reverse("account_login"), {"login": "mfa@example.com", "password": PASSWORD})
        challenge = fresh.get(reverse("mfa_authenticate"))
        assert challenge.status_code == 200
        assert inline_code(challenge.content.decode()) == []


def test_htmx_partials_have_no_inline_code(team, demo_accounts, a_post):
    client = team.client("owner")
    for url in (reverse("post_targets", args=[a_post.pk]), reverse("compose_check")):
        response = client.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code in (200, 405), url
        assert inline_code(response.content.decode()) == [], url
