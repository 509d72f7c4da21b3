"""Icons are inline SVG from the vendored Lucide set, never emoji (blank boxes without an emoji font)."""

import re
from pathlib import Path

import pytest
from django.template import Context, Template

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


def test_icon_renders_inline_decorative_svg():
    html = Template('{% icon "bell" 18 %}').render(Context())
    assert html.startswith('<svg class="icon"')
    assert 'aria-hidden="true"' in html
    assert 'width="18"' in html
    assert "<path" in html
    assert "@license" not in html
    assert html.endswith("</svg>")


@pytest.mark.parametrize("name", ["no-such-icon", "../secrets"])
def test_unknown_or_unsafe_icon_name_fails_loudly(name):
    with pytest.raises((FileNotFoundError, ValueError)):
        Template("{% icon name %}").render(Context({"name": name}))


def test_no_template_draws_an_emoji():
    found = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)!r}"
        for path in TEMPLATES.rglob("*.html")
        for match in EMOJI.finditer(path.read_text())
    ]
    assert found == []
