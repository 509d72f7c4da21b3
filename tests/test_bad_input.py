"""Malformed input gets a clear answer, never a 500, and changes nothing."""

import io
import ipaddress
import struct
import zlib

import pytest
from django.urls import reverse

from connections.http import is_public_address
from publishing.models import Post
from tests.publishing.test_composer import tiny_png


@pytest.mark.parametrize(
    "query",
    [
        {"account": "²"},
        {"account": "99999999999999999999999"},
        {"from": "0001-01-01"},
        {"to": "9999-12-31"},
        {"from": "2026-13-45"},
        {"page": "-3"},
        {"status": "<script>"},
    ],
)
def test_post_list_survives_odd_queries(team, query):
    response = team.client("viewer").get(reverse("posts"), query)
    assert response.status_code == 200


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "garbage", ""])
def test_calendar_survives_odd_dates(team, day):
    for view in ("month", "week"):
        assert team.client("viewer").get(reverse("calendar"), {"date": day, "view": view}).status_code == 200


@pytest.mark.parametrize(
    "data",
    [
        {"accounts": ["²"], "text": "x", "when": "now"},
        {"accounts": ["99999999999999999999999"], "text": "x", "when": "now"},
        {"text": "x", "when": "now", "main_media": ["²", "99999999999999999999999"]},
        {"text": "x", "when": "schedule", "date": "0001-01-01", "time": "00:00"},
        {"text": "x", "when": "schedule", "date": "9999-12-31", "time": "23:59"},
        {"text": "x", "when": "now", "link": "https://example.com/" + "a" * 2100},
        {"text": "x", "when": "teleport"},
    ],
)
def test_composer_answers_bad_input_with_errors(team, demo_accounts, data):
    data = {"accounts": [demo_accounts[0].id], **data}
    response = team.client("editor").post(reverse("compose"), data)
    assert response.status_code == 400
    assert not Post.objects.exists()


def test_reschedule_far_dates(team, demo_accounts):
    team.client("editor").post(
        reverse("compose"),
        {"accounts": [demo_accounts[0].id], "text": "x", "when": "schedule", "date": "2031-01-01", "time": "10:00"},
    )
    url = reverse("post_reschedule", args=[Post.objects.get().pk])
    for day in ("9999-12-31", "0001-01-01"):
        assert team.client("editor").post(url, {"date": day}).status_code in (400, 409)


def test_a_png_with_a_broken_chunk_is_refused(team):
    good = tiny_png()
    broken = good[:-12] + struct.pack(">I", 0) + b"IEND" + b"\x00\x00\x00\x00"
    broken = broken[:33] + b"\x00\x00\x00\x05IDAT" + zlib.compress(b"x")[:5] + b"bad!" + broken[-12:]
    file = io.BytesIO(broken)
    file.name = "broken.png"
    response = team.client("editor").post(reverse("media_upload"), {"file": file})
    assert response.status_code == 400
    assert "is not an image we can read" in response.json()["error"]


@pytest.mark.parametrize("server", ["https://[abc", "host:99999", "host:abc", "a" * 70 + ".example", "ftp://x.y"])
def test_malformed_server_addresses_are_form_errors(team, server):
    response = team.client("admin").post(reverse("connect", args=["mastodon"]), {"instance": server})
    assert response.status_code == 400
    response = team.client("admin").post(
        reverse("connect", args=["bluesky"]),
        {"identifier": "ada.example.com", "app_password": "abcd-efgh-ijkl-mnop", "service_url": server},
    )
    assert response.status_code == 400


def test_addresses_hidden_inside_ipv6_are_not_public():
    for text in ("64:ff9b::a9fe:a9fe", "2002:0a00:0001::1", "::127.0.0.1", "::ffff:10.0.0.1", "fd00::1"):
        assert not is_public_address(ipaddress.ip_address(text)), text
    for text in ("93.184.216.34", "2606:4700::1111"):
        assert is_public_address(ipaddress.ip_address(text)), text
