"""Pages say what each provider declares: badges, intros, hints, examples, reconnect values and
the Check button follow provider attributes, so no template or view names a platform."""

import responses
from django.urls import reverse

from connections.models import Grant, SocialAccount
from connections.providers.bluesky.provider import BlueskyProvider
from connections.providers.mastodon.provider import MastodonProvider
from tests.connections.example_provider import ExampleOAuthProvider

ACCOUNTS = reverse("connections")


def _card(page: str, platform: str) -> str:
    start = page.index(f'id="platform-{platform}"')
    return page[start : page.index("</section>", start)]


def _example_account(team) -> SocialAccount:
    grant = Grant.objects.create(workspace=team.workspace, platform="oauth2-test", secrets={"access_token": "at"})
    return SocialAccount.objects.create(
        workspace=team.workspace, platform="oauth2-test", external_id="u1", username="ada", grant=grant
    )


def test_badges_are_the_providers_own(team, monkeypatch):
    monkeypatch.setattr(ExampleOAuthProvider, "badge", "beta")
    page = team.client("admin").get(ACCOUNTS).content.decode()
    assert '<span class="badge badge-info">demo</span>' in _card(page, "demo")
    assert '<span class="badge badge-info">beta</span>' in _card(page, "oauth2-test")
    assert "badge-info" not in _card(page, "bluesky")


def test_connect_intro_is_shown_for_the_provider_that_declares_one(team, monkeypatch):
    client = team.client("admin")
    assert "nothing leaves this server" in client.get(reverse("connect", args=["demo"])).content.decode()
    assert "alert-info" not in client.get(reverse("connect", args=["oauth2-test"])).content.decode()
    monkeypatch.setattr(ExampleOAuthProvider, "connect_intro", "Ask your IT team for access first.")
    assert "Ask your IT team for access first." in client.get(reverse("connect", args=["oauth2-test"])).content.decode()


def test_starter_hints_come_from_enabled_providers_only(team, settings):
    client = team.client("admin")
    hint = "The Demo network needs nothing and lets you try everything."
    assert hint in client.get(ACCOUNTS).content.decode()
    assert hint in client.get(reverse("compose")).content.decode()
    settings.DEMO_NETWORK_ENABLED = False  # the pages must not suggest a platform this instance does not offer
    assert "Demo network" not in client.get(ACCOUNTS).content.decode()
    assert "Demo network" not in client.get(reverse("compose")).content.decode()


def test_the_server_example_is_the_providers(team, monkeypatch):
    client = team.client("admin")
    page = client.get(reverse("connect", args=["mastodon"])).content.decode()
    assert 'placeholder="mastodon.social"' in page
    assert "e.g. mastodon.social" in page
    monkeypatch.setattr(MastodonProvider, "instance_example", "")
    page = client.get(reverse("connect", args=["mastodon"])).content.decode()
    assert "mastodon.social" not in page
    response = client.post(reverse("connect", args=["mastodon"]), {"instance": "ftp://files.example.org"})
    assert response.status_code == 400
    assert "Enter a server address (its host name)." in response.content.decode()


def test_reconnecting_fills_the_providers_own_form_fields(team, demo_accounts):
    bluesky = SocialAccount.objects.create(
        workspace=team.workspace, platform="bluesky", external_id="did:plc:ada", username="ada.example.com",
        instance_url="https://pds.example.com", status=SocialAccount.Status.NEEDS_RECONNECT,
    )  # fmt: skip
    client = team.client("admin")
    form = client.get(reverse("connect", args=["bluesky"]), {"account": bluesky.pk}).context["form"]
    assert (form["identifier"].value(), form["service_url"].value()) == ("ada.example.com", "https://pds.example.com")
    alpha = demo_accounts[0]
    form = client.get(reverse("connect", args=["demo"]), {"account": alpha.pk}).context["form"]
    assert form["identifier"].value() == "alpha"  # the handle, without the "@" it is shown with
    assert BlueskyProvider().connect_initial(username="a", instance_url="") == {"identifier": "a", "service_url": ""}


def test_no_check_button_or_check_for_a_provider_that_declares_none(team, monkeypatch):
    account = _example_account(team)
    page = team.client("admin").get(ACCOUNTS).content.decode()
    assert reverse("account_check", args=[account.pk]) in page
    monkeypatch.setattr(ExampleOAuthProvider, "supports_check", False)
    page = team.client("admin").get(ACCOUNTS).content.decode()
    assert reverse("account_check", args=[account.pk]) not in page
    response = team.client("editor").post(reverse("account_check", args=[account.pk]), follow=True)
    assert "Example OAuth offers no way to check an account." in response.content.decode()
    assert len(responses.calls) == 0, "an undeclared capability is never called"
    account.refresh_from_db()
    assert account.last_checked_at is None


def test_checking_an_account_of_a_platform_switched_off_explains(team, settings, demo_accounts):
    settings.DEMO_NETWORK_ENABLED = False
    page = team.client("editor").get(ACCOUNTS).content.decode()
    assert reverse("account_check", args=[demo_accounts[0].pk]) not in page
    response = team.client("editor").post(reverse("account_check", args=[demo_accounts[0].pk]), follow=True)
    assert response.status_code == 200
    assert "This platform is not offered here any more." in response.content.decode()
