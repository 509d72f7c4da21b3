"""The API reference renders under the real Content-Security-Policy from vendored Swagger UI."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reference_page_lists_the_operations(live_server, page: Page, shot):
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.get_by_text("Postwright API").first).to_be_visible()
    expect(page.get_by_text("Create a post").first).to_be_visible()
    shot("reference")
    assert [url for url in outside if not url.startswith("data:")] == []
