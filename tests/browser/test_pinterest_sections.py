"""A Pinterest pin's board section follows the chosen board: only that board's sections are
offered, and a section of the board left behind is let go, at a phone's width and a desktop's."""

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from accounts.models import Membership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOARDS = (("", "Choose a board..."), ("111", "Recipes"), ("222", "Travel"))
SECTIONS = (("", "No section"), ("111:a1", "Recipes / Soups"), ("111:a2", "Recipes / Bread"),
            ("222:b1", "Travel / Japan"))  # fmt: skip


def _pinterest_account(owner) -> None:
    from connections.providers.base import Connection, Profile
    from connections.services import account_save

    membership = Membership.objects.get(user=owner)
    connection = Connection(profile=Profile(external_id="pin-1", username="alice"), secrets={"access_token": "t"})
    account_save(workspace=membership.workspace, platform="pinterest", connection=connection, user=owner)
    # The lists as the provider keeps them after asking Pinterest, so the page needs no network.
    cache.set("pinterest-boards:pin-1", BOARDS, timeout=600)
    cache.set("pinterest-board_sections:pin-1", SECTIONS, timeout=600)


def _offered(select) -> list[str]:
    return select.locator("option:not([hidden])").all_inner_texts()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_sections_offered_are_the_chosen_boards(live_server, page: Page, signed_in, width):
    _pinterest_account(signed_in)
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    page.goto(f"{live_server.url}/posts/new/")
    page.get_by_text("Customize for Pinterest").click()
    board = page.get_by_label("Board", exact=True)
    section = page.get_by_label("Board section", exact=True)
    assert _offered(section) == ["No section"]  # no board yet: no section belongs

    board.select_option("111")
    assert _offered(section) == ["No section", "Recipes / Soups", "Recipes / Bread"]
    section.select_option("111:a2")

    board.select_option("222")
    expect(section).to_have_value("")  # Bread is not a section of Travel
    assert _offered(section) == ["No section", "Travel / Japan"]
