"""A post typed at 19:04:30 in Berlin reads 19:04:30 everywhere, in winter and in summer time."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from publishing.models import Post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def browser_context_args(browser_context_args):
    # The browser lives in Berlin: a new workspace must start there without being told.
    # Tall enough that a drag between weeks needs no scrolling mid-drag.
    return {**browser_context_args, "timezone_id": "Europe/Berlin", "viewport": {"width": 1280, "height": 1600}}


@pytest.fixture
def berlin_workspace(live_server, page: Page, signed_in):
    """Create a workspace through the form, taking the zone the browser proposes."""
    from connections.registry import get_provider
    from connections.services import account_save

    page.goto(f"{live_server.url}/workspaces/new/")
    zone = page.get_by_label("Time zone")
    expect(zone).to_have_value("Europe/Berlin")
    page.get_by_label("Name").fill("Berlin desk")
    page.get_by_role("button", name="Create workspace").click()
    expect(page.get_by_text("Created Berlin desk")).to_be_visible()
    signed_in.refresh_from_db()
    workspace = signed_in.current_workspace
    assert workspace.timezone == "Europe/Berlin"
    demo = get_provider("demo")
    account_save(workspace=workspace, platform="demo", user=signed_in,
                 connection=demo.connect_with_form(data={"identifier": "ada", "display_name": "Ada"}))  # fmt: skip
    return workspace


@pytest.mark.parametrize(("month", "moved_to"), [(1, 21), (7, 22)], ids=["winter", "summer"])
def test_scheduled_time_reads_the_same_everywhere(live_server, page: Page, berlin_workspace, month, moved_to, shot):
    day = date(date.today().year + 1, month, 14)  # always ahead, so it stays scheduled
    page.goto(f"{live_server.url}/posts/new/")
    page.get_by_role("checkbox", name=re.compile("Demo network · Ada")).check()
    page.get_by_label("Post", exact=True).fill("Time zone check")
    page.get_by_label("Schedule").check()
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label(re.compile("^Time")).fill("19:04:30")
    page.get_by_role("button", name=re.compile("^Schedule for .*19:04:30$")).click()

    expect(page.locator("#post-when")).to_contain_text("19:04:30")
    expect(page.locator("#post-when")).to_contain_text("Europe/Berlin")
    post = Post.objects.get()
    assert post.scheduled_at == datetime(day.year, month, 14, 19, 4, 30, tzinfo=BERLIN)

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label(re.compile("^Time"))).to_have_value("19:04:30")
    expect(page.get_by_label("Date")).to_have_value(day.isoformat())

    page.goto(f"{live_server.url}/posts/")
    expect(page.locator("tbody tr").first).to_contain_text("19:04:30")

    page.goto(f"{live_server.url}/calendar/?date={day.isoformat()}")
    chip = page.locator(f'.calendar-day[data-date="{day.isoformat()}"] .post-chip')
    expect(chip).to_contain_text("19:04:30")
    target_day = day.replace(day=moved_to)
    chip.drag_to(page.locator(f'.calendar-day[data-date="{target_day.isoformat()}"]'))
    expect(page.locator("#calendar-status")).to_contain_text("19:04:30")
    shot(f"dragged-{month}")

    page.reload()
    expect(page.locator(f'.calendar-day[data-date="{target_day.isoformat()}"] .post-chip')).to_contain_text("19:04:30")
    post.refresh_from_db()
    assert post.scheduled_at == datetime(day.year, month, moved_to, 19, 4, 30, tzinfo=BERLIN)
