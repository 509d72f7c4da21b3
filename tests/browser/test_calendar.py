"""The calendar in a browser: a chip's preview on focus, hover or a tap; rescheduling from it
with the keyboard or by touch (the alternative to dragging); a click on an empty day or hour
opens the composer there. At a phone's width and a desktop's, without sideways scroll or axe faults."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership
from publishing.models import Post
from tests.browser.test_pages import _axe, _overflow, axe_source  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PARIS = ZoneInfo("Europe/Paris")


def _scheduled(owner) -> Post:
    from connections.registry import get_provider
    from connections.services import account_save
    from publishing import services
    from publishing.inputs import PartInput, PostInput, When

    membership = Membership.objects.get(user=owner)
    connection = get_provider("demo").connect_with_form(data={"identifier": "ada", "display_name": "Ada"})
    account = account_save(workspace=membership.workspace, platform="demo", connection=connection, user=owner)
    at = datetime(2031, 5, 5, 10, 0, 30, tzinfo=PARIS)
    data = PostInput(parts=[PartInput("Launch day #news")], account_ids=[account.id], when=When.at(at))
    return services.post_create(actor=membership, data=data)


def test_keyboard_preview_then_reschedule_from_it(live_server, page: Page, signed_in, axe_source, shot):  # noqa: F811
    post = _scheduled(signed_in)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/calendar/?date=2031-05-05")
    chip = page.locator(".post-chip")
    chip.focus()
    preview = page.get_by_role("dialog", name="Post preview")
    expect(preview).to_contain_text("Launch day #news")
    expect(preview).to_contain_text("Demo network · @ada — Scheduled")
    assert _axe(page, axe_source) == []
    page.keyboard.press("Tab")
    expect(preview.get_by_role("link", name="Open post")).to_be_focused()
    page.keyboard.press("Tab")
    expect(preview.get_by_role("button", name="Reschedule…")).to_be_focused()
    page.keyboard.press("Enter")
    day = preview.get_by_label("Day")
    expect(day).to_be_focused()
    day.fill("2031-05-08")
    preview.get_by_label("Time (Europe/Paris)").fill("07:45:10")
    shot("reschedule-popover")
    preview.get_by_role("button", name="Move").press("Enter")
    expect(page.locator("#calendar-status")).to_contain_text("Moved to Thu 8 May 2031, 07:45:10")
    moved = page.locator('.calendar-day[data-date="2031-05-08"] .post-chip')
    expect(moved).to_contain_text("07:45:10")
    # The focus is back on the chip, whose preview now tells the new time.
    expect(moved).to_be_focused()
    expect(preview.locator("time")).to_have_text("Thu 8 May 2031, 07:45:10")
    post.refresh_from_db()
    assert post.scheduled_at == datetime(2031, 5, 8, 7, 45, 10, tzinfo=PARIS)
    page.keyboard.press("Escape")
    expect(preview).to_be_hidden()
    expect(moved).to_be_focused()


def test_on_a_phone_a_tap_shows_the_preview_and_moves_by_touch(
    live_server,
    browser,
    page: Page,
    signed_in,
    axe_source,  # noqa: F811
):
    post = _scheduled(signed_in)
    page.goto(f"{live_server.url}/")  # the sign-in has finished before its cookie is copied
    phone = browser.new_context(has_touch=True, is_mobile=True, viewport={"width": 390, "height": 844})
    phone.add_cookies(page.context.cookies())
    tab = phone.new_page()
    tab.goto(f"{live_server.url}/calendar/?date=2031-05-05")
    tab.locator(".post-chip").tap()
    preview = tab.get_by_role("dialog", name="Post preview")
    expect(preview).to_contain_text("Launch day #news")
    assert tab.url.endswith("/calendar/?date=2031-05-05")  # the first tap previews, it does not leave
    assert _overflow(tab) <= 0
    assert _axe(tab, axe_source) == []
    preview.get_by_role("button", name="Reschedule…").tap()
    preview.get_by_label("Day").fill("2031-05-20")
    preview.get_by_role("button", name="Move").tap()
    expect(tab.locator("#calendar-status")).to_contain_text("Moved to Tue 20 May 2031, 10:00:30")
    post.refresh_from_db()
    assert post.scheduled_at == datetime(2031, 5, 20, 10, 0, 30, tzinfo=PARIS)
    phone.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_a_click_on_an_empty_day_or_hour_opens_the_composer_there(live_server, page: Page, signed_in, width):
    _scheduled(signed_in)
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    page.goto(f"{live_server.url}/calendar/?date=2031-05-05")
    page.locator('.calendar-day[data-date="2031-05-14"]').click()
    page.wait_for_url("**/posts/new/?date=2031-05-14")
    expect(page.get_by_label("Date")).to_have_value("2031-05-14")
    expect(page.get_by_label("Schedule", exact=True)).to_be_checked()
    if width > 800:  # the phone's week lists only the hours that hold posts
        page.goto(f"{live_server.url}/calendar/?date=2031-05-05&view=week")
        page.locator('.calendar-slot[data-date="2031-05-07"][data-hour="15"]').click()
        page.wait_for_url("**/posts/new/?date=2031-05-07&time=15:00")
        expect(page.get_by_label("Time (Europe/Paris)")).to_have_value("15:00:00")
    # The "+" of a day is the keyboard's way to the same place.
    page.goto(f"{live_server.url}/calendar/?date=2031-05-05")
    page.get_by_role("link", name="New post on Friday 16 May").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/posts/new/?date=2031-05-16")


def test_more_in_a_week_slot_loads_the_hours_other_posts(live_server, page: Page, signed_in, axe_source):  # noqa: F811
    from datetime import timedelta

    from publishing.models import PostContent

    first = _scheduled(signed_in)
    for minutes in (10, 20):  # two more in the same hour: the week grid shows one per hour
        PostContent.objects.create(post=Post.objects.create(
            workspace=first.workspace, status="scheduled", scheduled_at=first.scheduled_at + timedelta(minutes=minutes),
        ), text=f"Also at 10:{minutes}")  # fmt: skip
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/calendar/?date=2031-05-05&view=week")
    slot = page.locator('.calendar-day[data-date="2031-05-05"][data-hour="10"]')
    expect(slot.locator(".post-chip")).to_have_count(1)
    slot.get_by_role("link", name="+2 more").click()
    expect(slot.locator(".post-chip")).to_have_count(3)
    expect(page).to_have_url(f"{live_server.url}/calendar/?date=2031-05-05&view=week")  # loaded in place
    loaded = slot.locator(".post-chip").nth(2)
    expect(loaded).to_contain_text("Also at 10:20")
    loaded.hover()  # a loaded chip previews like the others
    expect(page.get_by_role("dialog", name="Post preview")).to_contain_text("Also at 10:20")
    assert _axe(page, axe_source) == []
