"""The Analytics page in a browser: Chart.js draws each chart from its data, the table beside it
holds the stored numbers, at a phone's width and a desktop's, without sideways scroll or axe faults."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Membership
from analytics.models import PartMetrics, PartMetricSnapshot
from tests.analytics.factories import followers_at, published_post
from tests.browser.test_pages import _axe, _overflow, _wide_elements, axe_source  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _seed(owner) -> None:
    from connections.registry import get_provider
    from connections.services import account_save

    workspace = Membership.objects.get(user=owner).workspace
    connection = get_provider("demo").connect_with_form(data={"identifier": "ada", "display_name": "Ada"})
    account = account_save(workspace=workspace, platform="demo", connection=connection, user=owner)
    now = timezone.now()
    for days, likes, views in ((1, 12, 300), (3, 5, None), (3, 8, 90)):
        published_post(workspace, account, now - timedelta(days=days), text=f"Launch day {days}", likes=likes,
                       reposts=1, views=views)  # fmt: skip
    for days in range(5):
        followers_at(account, now - timedelta(days=days), 200 - days * 4)
    first = PartMetrics.objects.get(part__target__post__contents__text="Launch day 1")
    PartMetricSnapshot.objects.create(
        workspace=workspace, account=account, target=first.target, part=first.part,
        taken_at=first.published_at + timedelta(hours=1), likes=4, views=80,
    )  # fmt: skip


def _stored_by_day(zone) -> dict[str, tuple[int, int]]:
    """Posts and engagement per day in the workspace's zone, from the stored rows themselves."""
    found: dict[str, tuple[int, int]] = {}
    for row in PartMetrics.objects.all():
        day = timezone.localtime(row.published_at, zone).date().isoformat()
        posts, engagement = found.get(day, (0, 0))
        found[day] = (posts + 1, engagement + row.engagement)
    return found


@pytest.mark.parametrize("width", [390, 1280])
def test_charts_are_drawn_and_their_tables_match_the_stored_numbers(
    live_server,
    page: Page,
    signed_in,
    axe_source,  # noqa: F811
    width,
    shot,
):
    _seed(signed_in)
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    page.goto(f"{live_server.url}/analytics/?range=7d")
    for chart in ("chart-posts", "chart-engagement", "chart-followers", "chart-platforms"):
        expect(page.locator(f"canvas#{chart}")).to_have_attribute("data-drawn", "true")
        assert page.locator(f"canvas#{chart}").bounding_box()["height"] > 100
    expect(page.locator('[data-stat="engagement"]')).to_have_text("28")  # 13 + 6 + 9

    page.locator("details.chart-table > summary").first.click()
    rows = page.locator('table[data-table="chart-posts"] tbody tr')
    expect(rows).to_have_count(7)
    shown = {}
    for i in range(7):
        cells = rows.nth(i).locator("th, td").all_inner_texts()
        if cells[1] != "0":
            shown[cells[0]] = (int(cells[1]), int(cells[2]))
    zone = Membership.objects.get(user=signed_in).workspace.tzinfo
    assert shown == _stored_by_day(zone)

    expect(page.get_by_role("link", name="Launch day 1")).to_be_visible()
    expect(page.get_by_role("heading", name="Best time to post")).to_be_visible()
    shot("analytics")
    assert _overflow(page) <= 0, _wide_elements(page)
    assert _axe(page, axe_source) == []


def test_an_empty_range_says_so_without_charts(live_server, page: Page, signed_in, axe_source):  # noqa: F811
    page.goto(f"{live_server.url}/analytics/")
    expect(page.get_by_role("heading", name="No data in this range")).to_be_visible()
    assert page.locator("canvas").count() == 0
    assert _axe(page, axe_source) == []


def test_the_post_page_charts_its_growth_since_publishing(live_server, page: Page, signed_in, axe_source):  # noqa: F811
    _seed(signed_in)
    first = PartMetrics.objects.get(part__target__post__contents__text="Launch day 1")
    page.goto(f"{live_server.url}/posts/{first.target.post_id}/")
    expect(page.locator(f"canvas#chart-growth-{first.target_id}")).to_have_attribute("data-drawn", "true")
    expect(page.locator('[data-metric="engagement"]')).to_have_text(str(first.engagement))
    page.get_by_text("Growth since publishing").click()
    rows = page.locator(f'table[data-table="growth-{first.target_id}"] tbody tr')
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").first).to_have_text("4")
    expect(rows.nth(1).locator("td").first).to_have_text(str(first.engagement))
    assert _overflow(page) <= 0
    assert _axe(page, axe_source) == []
