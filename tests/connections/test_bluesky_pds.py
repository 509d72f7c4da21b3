"""The Bluesky provider against a real Personal Data Server (@atproto/pds) on loopback.

What the PDS really does, and these tests rely on:
- a second ``createRecord`` at a taken record key answers a bare ``500 InternalServerError``;
- ``revokeAppPassword`` deletes the password and revokes the refresh tokens issued with it, but
  access JWTs are stateless and keep working until they expire (up to 2 h); the next refresh
  answers ``400 ExpiredToken "Token has been revoked"`` and a new login ``401``;
- with no AppView behind it, ``app.bsky.actor.getProfile`` answers 400, so profiles fall back to
  the handle; without ``PDS_ENABLE_DID_DOC_WITH_SESSION`` sessions carry no DID document.
"""

import http.server
import json
import struct
import threading
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

import pytest
import requests

from connections import services
from connections.errors import ErrorClass, ProviderError
from connections.models import SocialAccount
from connections.providers.base import AccountState, ContentPart, MediaItem, PublishRequest
from connections.providers.bluesky import tid
from connections.registry import get_provider
from tests.connections.publishing import find_main, publish_all
from tests.peers.fixtures import pds_server  # noqa: F401

pytestmark = pytest.mark.peer

POST = "app.bsky.feed.post"


# --- Talking to the PDS directly (the test's own hands, not the provider's) -------------------


def xrpc(base: str, nsid: str, *, token: str = "", body: dict | None = None, params: dict | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is None and params is not None:
        response = requests.get(f"{base}/xrpc/{nsid}", params=params, headers=headers, timeout=10)
    else:
        response = requests.post(f"{base}/xrpc/{nsid}", json=body, headers=headers, timeout=10)
    assert response.ok, f"{nsid}: {response.status_code} {response.text}"
    return response.json() if response.content else {}


def xrpc_error(base: str, nsid: str, **kwargs) -> tuple[int, str]:
    response = requests.get(f"{base}/xrpc/{nsid}", timeout=10, **kwargs)
    return response.status_code, response.json().get("error", "")


@dataclass
class PdsAccount:
    base: str
    did: str
    handle: str
    password: str  # the account's own password
    access: str  # a full-access session of the account itself, to manage app passwords
    app_password: str


@pytest.fixture
def pds_url(pds_server) -> str:  # noqa: F811 - the fixture imported above
    return pds_server.url.rstrip("/")


@pytest.fixture
def pds_account(pds_url) -> PdsAccount:
    handle = f"pw{uuid.uuid4().hex[:10]}.test"
    password = uuid.uuid4().hex
    created = xrpc(
        pds_url,
        "com.atproto.server.createAccount",
        body={"handle": handle, "email": f"{handle}@example.com", "password": password},
    )
    app = xrpc(pds_url, "com.atproto.server.createAppPassword", token=created["accessJwt"], body={"name": "postwright"})
    return PdsAccount(pds_url, created["did"], handle, password, created["accessJwt"], app["password"])


@pytest.fixture
def bluesky():
    return get_provider("bluesky")


@pytest.fixture
def connected(team, bluesky, pds_account) -> SocialAccount:
    data = {"identifier": pds_account.handle, "app_password": pds_account.app_password, "service_url": pds_account.base}
    return services.connect_with_form(actor=team.membership("admin"), provider=bluesky, data=data)


# --- A page with Open Graph tags, served on loopback for the link card ------------------------


def tiny_png(width: int = 2, height: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


CARD_PNG = tiny_png(3, 2)
ARTICLE = b"""<!doctype html><html><head><meta charset="utf-8"><title>fallback</title>
<meta property="og:title" content="Launch notes"><meta property="og:description" content="What is new">
<meta property="og:image" content="/card.png"></head><body>Hello</body></html>"""


class _PageHandler(http.server.BaseHTTPRequestHandler):
    pages = {"/article": ("text/html; charset=utf-8", ARTICLE), "/card.png": ("image/png", CARD_PNG)}

    def do_GET(self) -> None:
        content_type, body = self.pages.get(self.path, ("text/plain", b"not found"))
        self.send_response(200 if self.path in self.pages else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def website() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --- Connect and sessions ----------------------------------------------------------------------


def test_connect_with_an_app_password(connected, pds_account):
    account = connected
    assert (account.external_id, account.username) == (pds_account.did, pds_account.handle)
    assert account.display_name == pds_account.handle  # no AppView: the handle stands in
    assert account.instance_url in (pds_account.base, pds_account.base.replace("127.0.0.1", "localhost"))
    assert set(account.grant.secrets) == {"app_password", "access_token", "refresh_token", "did", "handle"}
    assert account.token_expires_at is not None
    profile = get_provider("bluesky").check(app=None, account=account.state())
    assert profile.external_id == pds_account.did


def test_the_main_password_is_refused(bluesky, pds_account):
    data = {"identifier": pds_account.handle, "app_password": pds_account.password, "service_url": pds_account.base}
    with pytest.raises(ProviderError) as caught:
        bluesky.connect_with_form(data=data)
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.AUTH, "NotAppPassword")


def test_a_wrong_app_password_is_auth(bluesky, pds_account):
    data = {"identifier": pds_account.handle, "app_password": "aaaa-bbbb-cccc-dddd", "service_url": pds_account.base}
    with pytest.raises(ProviderError) as caught:
        bluesky.connect_with_form(data=data)
    assert (caught.value.error_class, caught.value.status) == (ErrorClass.AUTH, 401)
    assert caught.value.message == "Invalid identifier or password"


def test_refresh_rotates_the_session(connected, bluesky):
    before = dict(connected.grant.secrets)
    account = services.account_refresh(account_id=connected.pk)
    assert account.grant.secrets["refresh_token"] != before["refresh_token"]
    assert account.grant.secrets["app_password"] == before["app_password"]
    assert bluesky.check(app=None, account=account.state()).username == connected.username


def test_a_revoked_app_password_needs_a_reconnect(connected, bluesky, pds_account):
    xrpc(
        pds_account.base, "com.atproto.server.revokeAppPassword", token=pds_account.access, body={"name": "postwright"}
    )
    # Access JWTs are not looked up on each call: the one we hold keeps working until it expires.
    assert bluesky.check(app=None, account=connected.state()).username == pds_account.handle
    # The refresh token was revoked with the password, and logging in again is refused: AUTH.
    with pytest.raises(ProviderError) as caught:
        services.account_refresh(account_id=connected.pk)
    assert caught.value.error_class == ErrorClass.AUTH
    connected.refresh_from_db()
    assert connected.status == SocialAccount.Status.NEEDS_RECONNECT


def test_the_pds_counts_graphemes_as_we_do(connected, pds_account):
    decomposed = "e\u0301"  # two code points, one grapheme, three bytes
    state = connected.state()
    request = PublishRequest(main=ContentPart(decomposed * 300), idempotency_key=uuid.uuid4().hex)
    result = publish_all(get_provider("bluesky"), account=state, request=request)
    assert result.main.platform_post_id
    refused = requests.post(
        f"{pds_account.base}/xrpc/com.atproto.repo.createRecord",
        headers={"Authorization": f"Bearer {state.secrets['access_token']}"},
        json={"repo": pds_account.did, "collection": POST,
              "record": {"$type": POST, "text": decomposed * 301, "createdAt": "2026-01-01T12:00:00.000Z"}},
        timeout=10,
    )  # fmt: skip
    assert (refused.status_code, refused.json()["error"]) == (400, "InvalidRequest")
    with pytest.raises(ProviderError, match="301"):
        publish_all(get_provider("bluesky"), account=state, request=PublishRequest(main=ContentPart(decomposed * 301)))


# --- Publishing --------------------------------------------------------------------------------


def _record(account: PdsAccount, uri: str) -> dict:
    rkey = uri.rsplit("/", 1)[-1]
    return xrpc(
        account.base, "com.atproto.repo.getRecord", params={"repo": account.did, "collection": POST, "rkey": rkey}
    )


def _byte_range(text: str, part: str) -> dict:
    start = text.encode().index(part.encode())
    return {"byteStart": start, "byteEnd": start + len(part.encode())}


def test_a_thread_with_a_link_card_and_an_image(connected, bluesky, pds_account, website):
    link = f"{website}/article"
    text = f"Café ☕ with @{pds_account.handle} → {link} #postwright"
    png = tiny_png(4, 3)
    photo = MediaItem(
        "dot.png", "image/png", len(png), open=lambda: BytesIO(png), alt_text="a red dot", width=4, height=3
    )
    request = PublishRequest(
        main=ContentPart(text),
        replies=(ContentPart("2/2 the picture", media=(photo,)),),
        link=link,
        idempotency_key=uuid.uuid4().hex,
    )
    state = connected.state()
    result = publish_all(bluesky, account=state, request=request)
    main_uri, reply_uri = result.main.platform_post_id, result.replies[0].platform_post_id
    assert main_uri.rsplit("/", 1)[-1] == tid.rkey_for(request.idempotency_key, 0)

    main = _record(pds_account, main_uri)
    value = main["value"]
    assert (value["text"], main["cid"]) == (text, result.main.extra["cid"])
    assert [(f["index"], f["features"][0]["$type"]) for f in value["facets"]] == [
        (_byte_range(text, f"@{pds_account.handle}"), "app.bsky.richtext.facet#mention"),
        (_byte_range(text, link), "app.bsky.richtext.facet#link"),
        (_byte_range(text, "#postwright"), "app.bsky.richtext.facet#tag"),
    ]
    assert value["facets"][0]["features"][0]["did"] == pds_account.did
    external = value["embed"]["external"]
    assert (external["uri"], external["title"], external["description"]) == (link, "Launch notes", "What is new")
    thumb = external["thumb"]
    assert (thumb["mimeType"], thumb["size"]) == ("image/png", len(CARD_PNG))
    stored = requests.get(
        f"{pds_account.base}/xrpc/com.atproto.sync.getBlob",
        params={"did": pds_account.did, "cid": thumb["ref"]["$link"]},
        timeout=10,
    )
    assert stored.content == CARD_PNG

    reply = _record(pds_account, reply_uri)["value"]
    root = {"uri": main_uri, "cid": main["cid"]}
    assert reply["reply"] == {"root": root, "parent": root}
    [picture] = reply["embed"]["images"]
    assert (picture["alt"], picture["aspectRatio"]) == ("a red dot", {"width": 4, "height": 3})
    assert picture["image"]["size"] == len(png)

    # The same target again: the PDS refuses the taken record keys and we return what is there.
    again = publish_all(bluesky, account=state, request=request)
    assert again == result
    listed = xrpc(
        pds_account.base, "com.atproto.repo.listRecords", params={"repo": pds_account.did, "collection": POST}
    )
    assert sorted(r["uri"] for r in listed["records"]) == sorted([main_uri, reply_uri])
    assert find_main(bluesky, account=state, request=request) == result.main

    for uri in (reply_uri, main_uri):
        bluesky.delete(account=state, platform_post_id=uri)
    for uri in (main_uri, reply_uri):
        rkey = uri.rsplit("/", 1)[-1]
        params = {"repo": pds_account.did, "collection": POST, "rkey": rkey}
        assert xrpc_error(pds_account.base, "com.atproto.repo.getRecord", params=params) == (400, "RecordNotFound")
    assert find_main(bluesky, account=state, request=request) is None


def test_an_unreachable_card_page_still_posts(connected, bluesky, pds_account, website):
    link = f"{website}/missing"
    state: AccountState = connected.state()
    result = publish_all(bluesky, account=state, request=PublishRequest(main=ContentPart("see"), link=link))
    external = _record(pds_account, result.main.platform_post_id)["value"]["embed"]["external"]
    assert (external["uri"], external["title"]) == (link, link)
    assert json.dumps(external).count("thumb") == 0
