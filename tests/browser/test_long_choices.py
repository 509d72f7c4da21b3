"""A long per-post choice list from an account (a Reddit user's many subscribed subreddits) is
narrowed by typing, at a phone's width and a desktop's."""

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from accounts.models import Membership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUBREDDITS = ("", "Choose..."), *((name, f"r/{name}") for name in (
    "AskReddit", "Cooking", "django", "gardening", "history", "learnpython", "movies", "music", "pics",
    "programming", "python", "science", "space", "worldnews"))  # fmt: skip


def _reddit_account(owner) -> None:
    from connections.providers.base import Connection, Profile
    from connections.services import account_save

    membership = Membership.objects.get(user=owner)
    connection = Connection(profile=Profile(external_id="abc12", username="alice"), secrets={"access_token": "t"})
    account_save(workspace=membership.workspace, platform="reddit", connection=connection, user=owner)
    # The lists as the provider keeps them after asking Reddit, so the page needs no network.
    cache.set("reddit-choices:subreddit:abc12", SUBREDDITS, timeout=600)
    cache.set("reddit-choices:flair:abc12", (("", "No flair"),), timeout=600)


@pytest.mark.parametrize("width", [390, 1280])
def test_typing_narrows_the_subreddits_and_picks_the_first_match(live_server, page: Page, signed_in, width):
    _reddit_account(signed_in)
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    page.goto(f"{live_server.url}/posts/new/")
    page.get_by_text("Customize for Reddit").click()
    select = page.get_by_label("Subreddit", exact=True)
    box = page.get_by_label("Narrow the subreddit list for Reddit")
    box.fill("pyth")
    expect(select).to_have_value("learnpython")
    assert select.locator("option:not([hidden])").all_inner_texts() == ["Choose...", "r/learnpython", "r/python"]
    box.fill("python")
    expect(select).to_have_value("learnpython")  # still the first match
    select.select_option("python")
    box.fill("cook")
    expect(select).to_have_value("python")  # a choice the author made is kept
    assert select.locator("option:not([hidden])").all_inner_texts() == ["Choose...", "r/Cooking", "r/python"]
    box.fill("")
    assert select.locator("option:not([hidden])").count() == len(SUBREDDITS)
