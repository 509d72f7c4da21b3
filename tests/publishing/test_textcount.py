import pytest

from connections.providers.base import TextRules
from publishing.textcount import character_length, grapheme_length, text_length, x_weighted_length


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("see https://example.com/a/very/long/path?with=query", 4 + 23),
        ("日本語", 6),  # CJK weighs 2
        ("👍", 2),
        ("👨‍👩‍👧‍👦", 2),  # one emoji sequence
        ("“quotes” – dash", 15),  # U+2010–201F weigh 1
        ("e\u0301", 1),  # NFC folds e + combining accent into é
    ],
)
def test_x_weighted_length(text, expected):
    assert x_weighted_length(text) == expected


def test_graphemes_count_user_perceived_characters():
    assert grapheme_length("Café ☕ 👨‍👩‍👧‍👦") == 8
    assert grapheme_length("🇫🇷") == 1


def test_characters_with_url_weight():
    assert character_length("go https://example.com/xyz now", url_length=23) == 3 + 23 + 4
    assert character_length("go https://example.com/xyz now", url_length=None) == 30


def test_text_length_dispatches_on_rules():
    assert text_length("👨‍👩‍👧‍👦", TextRules(max_length=300, counting="graphemes")) == 1
    assert text_length("👨‍👩‍👧‍👦", TextRules(max_length=500)) == 7
