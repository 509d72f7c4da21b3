"""X's thread help in a browser: a text over 280 weighted characters offers "Split into a
thread", which fills the main box and the thread's reply boxes with numbered parts that each fit,
at a phone's width and a desktop's, without sideways scroll or axe faults."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership
from tests.browser.test_pages import _axe, _overflow, axe_source  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SENTENCES = [f"Sentence number {n} says something useful about the launch." for n in range(1, 13)]
LINK = "https://example.com/articles/" + "a" * 120  # 149 characters that weigh 23


def _x_account(owner) -> None:
    from connections.providers.base import Connection, Profile
    from connections.services import account_save

    membership = Membership.objects.get(user=owner)
    connection = Connection(profile=Profile(external_id="2244994945", username="@XDevelopers", display_name="X Dev"),
                            secrets={"access_token": "a", "granted_scope": "tweet.write media.write"})  # fmt: skip
    account_save(workspace=membership.workspace, platform="x", connection=connection, user=owner)


@pytest.mark.parametrize("width", [390, 1280])
def test_a_long_x_text_splits_into_a_numbered_thread(live_server, page: Page, signed_in, axe_source, width, shot):  # noqa: F811
    _x_account(signed_in)
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    page.goto(f"{live_server.url}/posts/new/")
    page.get_by_label("X · X Dev").check()
    text = " ".join([*SENTENCES[:6], LINK, *SENTENCES[6:]])  # 9 x 57 + 3 x 58 + 149 + 12 spaces = 848
    page.get_by_label("Post", exact=True).fill(text)
    preview = page.get_by_role("region", name="Preview on X as @XDevelopers")
    expect(preview.locator("[data-counter]")).to_have_text("722/280")  # 848 characters, the link weighing 23
    split = preview.get_by_role("button", name="Split into a thread")
    expect(split).to_be_visible()
    preview.get_by_label("Number the parts (1/3)").check()
    expect(preview.get_by_label("Number the parts (1/3)")).to_be_checked()  # kept when the panel is redrawn
    assert _axe(page, axe_source) == []
    preview.get_by_role("button", name="Split into a thread").click()

    replies = page.locator("#replies textarea")
    expect(replies).to_have_count(2)
    expect(preview.locator(".pv-reply")).to_have_count(2)
    expect(preview.get_by_text("Ready to post")).to_be_visible()
    expect(preview.get_by_role("button", name="Split into a thread")).to_have_count(0)
    counters = preview.locator("[data-counter]")
    expect(counters).to_have_count(3)
    for counter in counters.all_inner_texts():
        length, limit = map(int, counter.split("/"))
        assert limit == 280, counter
        assert 140 <= length <= 280, counter
    values = [page.get_by_label("Post", exact=True).input_value(), *(box.input_value() for box in replies.all())]
    assert [value.rsplit(" ", 1)[1] for value in values] == ["1/3", "2/3", "3/3"]
    # Every word is kept, in order, and the link is whole in one part.
    assert " ".join(value.rsplit(" ", 1)[0] for value in values).split() == text.split()
    assert sum(value.count(LINK) for value in values) == 1
    assert all(re.match(r"^Sentence number \d+ ", value) or value.startswith(LINK) for value in values)
    expect(page.get_by_role("textbox", name="Thread reply 2", exact=True)).to_have_value(values[2])
    shot("split")
    assert _overflow(page) <= 0
    assert _axe(page, axe_source) == []

    page.get_by_label("Save draft").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    from publishing.models import Post

    assert list(Post.objects.get().contents.order_by("position").values_list("text", flat=True)) == values
