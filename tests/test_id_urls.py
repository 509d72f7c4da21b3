"""Every URL that takes an id answers 404 for one the database cannot hold, never a 500."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter

from config.converters import BIGINT_MAX

OURS = ("accounts.", "connections.", "publishing.", "analytics.", "events.")


def _our_patterns(patterns=None, prefix: str = ""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from _our_patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.lookup_str.startswith(OURS):
            yield prefix + str(entry.pattern), entry


def _id_routes() -> list[str]:
    return [route for route, _ in _our_patterns() if "<id:" in route]


def test_no_url_of_ours_takes_an_unbounded_int():
    unbounded = [
        route
        for route, entry in _our_patterns()
        if any(isinstance(c, IntConverter) for c in entry.pattern.converters.values())
    ]
    assert unbounded == []
    assert len(_id_routes()) >= 15  # the walk really found them


@pytest.mark.parametrize("number", [str(BIGINT_MAX + 1), str(BIGINT_MAX), "9" * 30, "0"])
def test_ids_out_of_range_or_unknown_are_404(team, number):
    client = team.client("owner")
    for route in _id_routes():
        url = "/" + re.sub(r"<id:\w+>", number, route)
        get = client.get(url)
        assert get.status_code in (404, 405), (url, get.status_code)
        assert client.post(url).status_code == 404, url


def test_the_reported_switch_url_is_a_404(team):
    assert team.client("owner").get("/workspaces/9223372036854775808/switch/").status_code == 404


def test_a_reconnect_with_a_huge_account_id_is_a_404(team):
    url = reverse("connect", args=["demo"])
    assert team.client("owner").get(url, {"account": str(BIGINT_MAX + 1)}).status_code == 404
