"""The TikTok creator's avatar in the composer, served from this site: only the URL TikTok's
creator_info returned, named by an opaque key, fetched over https through the private-address
guard, at most a megabyte, decoded and re-encoded without its metadata, cached, and scoped to
the workspace."""

import io
import ipaddress
import json
import re
import socket

import pytest
import responses
from django.core.cache import cache
from django.urls import reverse
from PIL import Image

from connections.avatars import avatar_key
from tests.connections.tiktok_api import ACCESS, OPEN, OPEN_ID, creator_info, ok

AVATAR = "https://p16-sign.tiktokcdn.com/tos-avt/jane~c5_100x100.jpeg?x-expires=1765000000&x-signature=abc"
INFO_URL = f"{OPEN}/post/publish/creator_info/query/"
PUBLIC = "93.184.216.34"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _creator(avatar: str = AVATAR) -> None:
    responses.add(responses.POST, INFO_URL, body=json.dumps(ok(creator_info(creator_avatar_url=avatar))))


def _tiktok(workspace):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save

    connection = Connection(profile=Profile(external_id=OPEN_ID, username="@jane"), secrets={"access_token": ACCESS})
    return account_save(workspace=workspace, platform="tiktok", connection=connection, user=None)


def _photo(fmt: str = "JPEG", size: tuple[int, int] = (400, 400)) -> bytes:
    """A real picture carrying a GPS position and a camera model in its EXIF."""
    image = Image.new("RGB", size, (200, 40, 90))
    exif = Image.Exif()
    exif[0x0110] = "Pixel 9 Pro"  # Model
    exif[0x8825] = {2: (48.0, 51.0, 24.0)}  # GPSInfo: latitude
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


def _src(client) -> str:
    page = client.get(reverse("compose")).content.decode()
    found = re.search(r'<img src="(/connections/\d+/avatar/[0-9a-f]+/)" alt="" width="32" height="32"', page)
    assert found, "the composer draws the creator's avatar"
    assert "tiktokcdn" not in page, "the browser is never given the platform's URL"
    return found.group(1)


def test_the_composer_shows_the_avatar_through_this_site_cleaned_and_cached(team):
    _creator()
    responses.add(responses.GET, AVATAR, body=_photo(), content_type="image/jpeg")
    account, editor = _tiktok(team.workspace), team.client("editor")
    src = _src(editor)
    assert src == reverse("account_avatar", args=[account.pk, avatar_key(account.pk, AVATAR)])

    response = editor.get(src)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    served = Image.open(io.BytesIO(response.content))
    assert served.format == "JPEG"
    assert max(served.size) <= 128, "shrunk to what the composer draws"
    assert not served.getexif(), "the model and GPS position are gone"
    assert b"Pixel 9 Pro" not in response.content

    assert editor.get(src).content == response.content
    fetched = [call for call in responses.calls if call.request.url.startswith("https://p16-sign.tiktokcdn.com/")]
    assert len(fetched) == 1, "kept: the platform's CDN is asked once"


def test_a_transparent_avatar_stays_a_png(team):
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    _creator()
    responses.add(responses.GET, AVATAR, body=out.getvalue(), content_type="image/png")
    account = _tiktok(team.workspace)
    response = team.client("editor").get(reverse("account_avatar", args=[account.pk, avatar_key(account.pk, AVATAR)]))
    assert response["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).mode == "RGBA"


def test_another_workspaces_account_or_key_is_a_404(team):
    _creator()
    responses.add(responses.GET, AVATAR, body=_photo(), content_type="image/jpeg")
    mine, theirs = _tiktok(team.workspace), _tiktok(team.other_workspace)
    src = _src(team.client("editor"))
    assert team.client("outsider").get(src).status_code == 404, "another workspace's account"
    # The outsider's own account with our key: the key names our account's avatar, not theirs.
    borrowed = reverse("account_avatar", args=[theirs.pk, avatar_key(mine.pk, AVATAR)])
    assert team.client("outsider").get(borrowed).status_code == 404
    assert not [call for call in responses.calls if "tiktokcdn" in call.request.url]


def test_a_key_for_a_url_the_provider_did_not_return_fetches_nothing(team):
    _creator()
    account = _tiktok(team.workspace)
    for url in ("https://evil.example/x.jpg", "http://169.254.169.254/latest/meta-data/"):
        forged = reverse("account_avatar", args=[account.pk, avatar_key(account.pk, url)])
        assert team.client("editor").get(forged).status_code == 404
    assert team.client("editor").get(reverse("account_avatar", args=[account.pk, "0" * 32])).status_code == 404
    assert [call.request.url for call in responses.calls] == [INFO_URL]


@pytest.fixture
def dns(settings, monkeypatch):
    """Production's guard on, with the CDN's name answered as a test says."""
    settings.ALLOW_PRIVATE_NETWORK_URLS = False
    answers: dict[str, list[str]] = {"open.tiktokapis.com": [PUBLIC]}
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            try:
                ipaddress.ip_address(host)  # a literal address: resolved without any lookup
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME, f"{host} is not known to this test") from None
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    return answers


@pytest.mark.parametrize(
    ("answer", "status"), [(["10.0.0.7"], 502), (["127.0.0.1"], 502), (["169.254.169.254"], 502),
                           ([PUBLIC, "10.0.0.7"], 502), ([PUBLIC], 200)]
)  # fmt: skip
def test_an_avatar_host_pointing_inward_is_refused_before_anything_is_sent(team, dns, answer, status):
    dns["p16-sign.tiktokcdn.com"] = answer
    _creator()
    responses.add(responses.GET, AVATAR, body=_photo(), content_type="image/jpeg")
    account = _tiktok(team.workspace)
    src = reverse("account_avatar", args=[account.pk, avatar_key(account.pk, AVATAR)])
    assert team.client("editor").get(src).status_code == status
    sent = [call for call in responses.calls if "tiktokcdn" in call.request.url]
    assert len(sent) == (1 if status == 200 else 0)


def test_a_plain_http_avatar_is_not_fetched(team):
    plain = "http://p16-sign.tiktokcdn.com/jane.jpeg"
    _creator(plain)
    responses.add(responses.GET, plain, body=_photo(), content_type="image/jpeg")
    account = _tiktok(team.workspace)
    src = reverse("account_avatar", args=[account.pk, avatar_key(account.pk, plain)])
    assert team.client("editor").get(src).status_code == 502
    assert not [call for call in responses.calls if "tiktokcdn" in call.request.url]


def test_a_redirect_is_not_followed(team):
    _creator()
    elsewhere = "https://p16-sign.tiktokcdn.com/elsewhere.jpeg"
    responses.add(responses.GET, AVATAR, status=302, headers={"Location": elsewhere})
    responses.add(responses.GET, elsewhere, body=_photo(), content_type="image/jpeg")
    account = _tiktok(team.workspace)
    src = reverse("account_avatar", args=[account.pk, avatar_key(account.pk, AVATAR)])
    assert team.client("editor").get(src).status_code == 502
    assert [call.request.url for call in responses.calls if call.request.url == elsewhere] == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>Not found</body></html>", "text/html"),
        (b"<html><body>Not found</body></html>", "image/jpeg"),  # a header that lies
        (b"%PDF-1.7\n", "image/png"),
        (_photo("TIFF"), "image/tiff"),  # an image, not one the composer serves
    ],
)
def test_an_answer_that_is_not_an_image_is_not_served(team, body, content_type):
    _creator()
    responses.add(responses.GET, AVATAR, body=body, content_type=content_type)
    account = _tiktok(team.workspace)
    src = reverse("account_avatar", args=[account.pk, avatar_key(account.pk, AVATAR)])
    editor = team.client("editor")
    assert editor.get(src).status_code == 502
    assert editor.get(src).status_code == 502
    fetched = [call for call in responses.calls if "tiktokcdn" in call.request.url]
    assert len(fetched) == 1, "a refused avatar is not asked for again at once"


def test_an_avatar_over_a_megabyte_is_refused_whatever_its_header_says(team):
    big = _photo() + b"\0" * (1024 * 1024)
    _creator()
    responses.add(responses.GET, AVATAR, body=big, content_type="image/jpeg", auto_calculate_content_length=False)
    account = _tiktok(team.workspace)
    src = reverse("account_avatar", args=[account.pk, avatar_key(account.pk, AVATAR)])
    assert team.client("editor").get(src).status_code == 502


def test_a_viewer_cannot_use_the_composers_avatar(team):
    _creator()
    account = _tiktok(team.workspace)
    src = reverse("account_avatar", args=[account.pk, avatar_key(account.pk, AVATAR)])
    assert team.client("viewer").get(src).status_code in (403, 404)
