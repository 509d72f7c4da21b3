"""Connect the Demo network, compose, schedule, and watch the post go out — in a real browser."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from connections.models import SocialAccount
from connections.providers.demo.models import DemoPost
from publishing.models import Post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_demo_then_compose_schedule_and_see_it_published(live_server, page: Page, signed_in, dispatcher, shot):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="Connect Demo network").click()
    page.get_by_label("Display name").fill("Ada Demo")
    page.get_by_label("Handle").fill("ada-demo")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_text("Connected Demo network account @ada-demo.")).to_be_visible()
    row = page.locator("tr", has_text="Ada Demo")
    expect(row.get_by_text("Active")).to_be_visible()
    shot("accounts")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Posts").click()
    page.get_by_role("link", name="New post").first.click()
    page.get_by_label(re.compile("Demo network · Ada Demo")).check()
    page.get_by_label("Post", exact=True).fill("Hello from the browser 👋 https://example.com")
    expect(page.locator("#checks")).to_contain_text("Ready")
    expect(page.locator("#checks [data-counter]").first).to_have_text("44/500")

    when = datetime.now(ZoneInfo("Europe/Paris")) + timedelta(seconds=6)
    page.get_by_label("Schedule").check()
    page.get_by_label("Date").fill(when.strftime("%Y-%m-%d"))
    page.get_by_label(re.compile("^Time")).fill(when.strftime("%H:%M:%S"))
    shot("composer")
    page.get_by_role("button", name=re.compile("^Schedule for ")).click()
    expect(page.locator(".page-subtitle")).to_contain_text("Scheduled for")
    expect(page.locator("#post-status")).to_have_text("Scheduled")

    # The page polls while the post is due; the dispatcher thread publishes it on time.
    expect(page.locator("#post-status")).to_have_text("Published", timeout=30_000)
    expect(page.get_by_role("link", name="View the live post")).to_be_visible()
    shot("published")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar").click()
    expect(page.locator(".calendar-day.is-today .post-chip")).to_contain_text("Hello from the browser")
    shot("calendar")

    post = Post.objects.get()
    demo = DemoPost.objects.get()
    assert post.targets.get().platform_post_id == demo.post_id
    assert demo.text.startswith("Hello from the browser")
    assert SocialAccount.objects.get().display_name == "Ada Demo"


def test_composer_blocks_a_post_too_long_for_the_platform(live_server, page: Page, signed_in):
    page.goto(f"{live_server.url}/connections/connect/demo/")
    page.get_by_role("button", name="Connect").click()
    page.goto(f"{live_server.url}/posts/new/")
    page.get_by_role("checkbox", name=re.compile("Demo network · ")).check()
    page.get_by_label("Post", exact=True).fill("x" * 505)
    expect(page.locator("#checks")).to_contain_text("shorten it by 5")
    page.get_by_role("button", name="Publish now").click()
    # The service's message, shown under the text it is about.
    expect(page.locator(".field.has-error", has=page.locator("#id_text"))).to_contain_text("505/500")
    assert not Post.objects.exists()
