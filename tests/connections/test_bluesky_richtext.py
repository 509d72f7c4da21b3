"""Bluesky's pure parts: facets at byte offsets, grapheme counts, record keys, Open Graph parsing, the form."""

import uuid

import pytest

from connections.providers.bluesky import cards, richtext, tid
from connections.providers.bluesky.forms import BlueskyConnectForm

REFERENCE_TEXT = "Café ☕ with @bob.bsky.social → https://example.com/a #python"


# --- Facets ------------------------------------------------------------------------------------


def test_reference_example_facets_are_at_byte_offsets():
    facets = richtext.build_facets(REFERENCE_TEXT, {"bob.bsky.social": "did:plc:bobdid"}.get)
    assert facets == [
        {
            "index": {"byteStart": 15, "byteEnd": 31},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:bobdid"}],
        },
        {
            "index": {"byteStart": 36, "byteEnd": 57},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/a"}],
        },
        {
            "index": {"byteStart": 58, "byteEnd": 65},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "python"}],
        },
    ]
    encoded = REFERENCE_TEXT.encode()
    assert (encoded[15:31], encoded[36:57], encoded[58:65]) == (
        b"@bob.bsky.social",
        b"https://example.com/a",
        b"#python",
    )


def test_a_mention_that_does_not_resolve_stays_plain_text():
    facets = richtext.build_facets(REFERENCE_TEXT, lambda handle: None)
    assert [f["features"][0]["$type"] for f in facets] == [
        "app.bsky.richtext.facet#link",
        "app.bsky.richtext.facet#tag",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://example.com/a.", [("link", "https://example.com/a")]),
        ("(https://en.wikipedia.org/wiki/Foo_(bar))", [("link", "https://en.wikipedia.org/wiki/Foo_(bar)")]),
        ("HTTPS://EXAMPLE.COM/x, then", [("link", "HTTPS://EXAMPLE.COM/x")]),
        ("no scheme example.com and ftp://x.org", []),
        ("hi @Bob.Example.com!", [("mention", "bob.example.com")]),
        ("end @bob.bsky.social.", [("mention", "bob.bsky.social")]),
        ("mail me@example.com or @nodot", []),
        ("#tag, #1 #️⃣ #café!", [("tag", "tag"), ("tag", "café")]),
        ("https://example.com/#frag", [("link", "https://example.com/#frag")]),
        ("https://example.com/@bob.bsky.social", [("link", "https://example.com/@bob.bsky.social")]),
    ],
)
def test_detection(text, expected):
    assert [(span.kind, span.value) for span in richtext.find_spans(text)] == expected


def test_spans_cover_exactly_the_matched_bytes():
    text = "🎉 #launch día @ana.example.com"
    encoded = text.encode()
    spans = richtext.find_spans(text)
    assert [encoded[s.start : s.end].decode() for s in spans] == ["#launch", "@ana.example.com"]


# --- Graphemes ---------------------------------------------------------------------------------


GRAPHEME_CASES = [
    ("plain", 5),
    ("e\u0301", 1),  # e + combining acute
    ("👨\u200d👩\u200d👧\u200d👦", 1),  # a family joined by ZWJ
    ("👍🏽", 1),  # skin-tone modifier
    ("🇫🇷🇩🇪", 2),  # two flags from four regional indicators
    ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 1),  # Scotland: tag sequence
    ("\u1100\u1161\u11a8", 1),  # Hangul syllable from conjoining jamo
    ("a\r\nb", 3),
    ("❤️", 1),  # heart + variation selector
]


@pytest.mark.parametrize(("text", "expected"), GRAPHEME_CASES)
def test_grapheme_count(text, expected):
    assert richtext.count_graphemes(text) == expected


@pytest.mark.parametrize(("text", "expected"), GRAPHEME_CASES)
def test_fallback_counter_agrees_on_common_cases(text, expected):
    assert richtext._approx_graphemes(text) == expected


def test_length_limits_count_graphemes_not_code_points():
    family = "👨\u200d👩\u200d👧\u200d👦"  # 7 code points, 25 bytes, one grapheme
    assert richtext.length_problem("x" * 300) is None
    assert "301" in richtext.length_problem("x" * 301)
    assert richtext.length_problem(family * 100) is None  # 100 graphemes, 2,500 bytes
    assert "bytes" in richtext.length_problem(family * 121)  # 121 graphemes but 3,025 bytes


# --- Record keys -------------------------------------------------------------------------------


def test_tid_encoding_round_trips_and_matches_the_spec():
    assert tid.encode(0, 0) == "2222222222222"
    timestamp, clock = tid.decode("3jzfcijpj2z2a")  # the example in the atproto TID spec
    assert tid.encode(timestamp, clock) == "3jzfcijpj2z2a"
    with pytest.raises(ValueError, match="not a TID"):
        tid.decode("kzzzzzzzzzzzz")  # top bit set


def test_rkey_is_a_valid_tid_and_deterministic():
    key = uuid.uuid4().hex
    first, again = tid.rkey_for(key), tid.rkey_for(key)
    assert first == again
    assert tid.is_valid(first)
    assert len(first) == 13
    assert tid.rkey_for(uuid.uuid4().hex) != first
    timestamp, _ = tid.decode(first)
    assert tid._WINDOW_START_US <= timestamp < tid._WINDOW_START_US + tid._WINDOW_US  # in the past


def test_parts_of_one_post_get_consecutive_sortable_keys():
    keys = [tid.rkey_for("target-42", part) for part in range(4)]
    assert keys == sorted(keys)
    assert len(set(keys)) == 4
    stamps = [tid.decode(k) for k in keys]
    assert [s[0] - stamps[0][0] for s in stamps] == [0, 1, 2, 3]
    assert len({s[1] for s in stamps}) == 1  # one clock id


def test_a_uuid7_key_lends_its_creation_time():
    ms = 1_767_268_800_123  # 2026-01-01T12:00:00.123Z
    key = uuid.UUID(int=(ms << 80) | (0x7 << 76) | (0b10 << 62) | 12345).hex
    timestamp, _ = tid.decode(tid.rkey_for(key))
    assert ms * 1000 <= timestamp < (ms + 1) * 1000


# --- Link cards --------------------------------------------------------------------------------


def test_open_graph_parsing():
    html = """<html><head><title>Fallback</title>
    <meta property="og:title" content="  The &amp; Title ">
    <meta name="description" content="Plain description">
    <meta property="og:image" content="/img/card.png"></head><body><meta property="og:title" content="late"></body>"""
    page = cards.parse_page("https://example.com/post/1", html)
    assert page == cards.PageInfo(
        url="https://example.com/post/1",
        title="The & Title",
        description="Plain description",
        image_url="https://example.com/img/card.png",
    )


def test_title_falls_back_to_the_title_tag():
    assert cards.parse_page("https://e.com", "<title>Only a title</title>").title == "Only a title"


# --- Connect form ------------------------------------------------------------------------------


def _form(**data) -> BlueskyConnectForm:
    return BlueskyConnectForm({"identifier": "alice.bsky.social", "app_password": "abcd-efgh-ijkl-mnop", **data})


def test_form_defaults_to_bluesky_and_normalises():
    form = _form(identifier=" @alice.bsky.social ", app_password=" ABCD-EFGH-IJKL-MNOP ")
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "identifier": "alice.bsky.social",
        "app_password": "abcd-efgh-ijkl-mnop",
        "service_url": "https://bsky.social",
    }


def test_form_normalises_a_bare_server_name():
    form = _form(service_url="PDS.Example.com/xrpc/whatever")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["service_url"] == "https://pds.example.com"


@pytest.mark.parametrize(
    "password", ["hunter2-my-real-password", "abcd-efgh-ijkl", "abcd-efgh-ijkl-mno1", "abcdefghijklmnop"]
)
def test_form_refuses_what_is_not_an_app_password(password):
    form = _form(app_password=password)
    assert not form.is_valid()
    assert "App passwords" in form.errors["app_password"][0]


def test_form_never_renders_the_password_back():
    form = _form(app_password="abcd-efgh-ijkl-mnop")
    assert "abcd-efgh" not in str(form["app_password"])


def test_form_asks_for_a_full_handle():
    form = _form(identifier="alice")
    assert not form.is_valid()
    assert "alice.bsky.social" in form.errors["identifier"][0]


def test_form_accepts_an_email():
    assert _form(identifier="alice@example.com").is_valid()


def test_markup_the_parser_gives_up_on_yields_no_page(monkeypatch):
    monkeypatch.setattr(cards, "_fetch", lambda *args, **kwargs: (b"<![foo bar", "text/html", "https://e.com"))
    assert cards.fetch_page(None, "https://e.com") is None


def test_a_uuid1_key_lends_its_creation_time(time_machine):
    time_machine.move_to("2026-03-01T08:00:00Z", tick=False)
    key = str(uuid.uuid1())
    timestamp, _ = tid.decode(tid.rkey_for(key))
    assert abs(timestamp - 1_772_352_000_000_000) < 1_000_000
