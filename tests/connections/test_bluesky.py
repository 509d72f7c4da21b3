"""The Bluesky provider against recorded XRPC answers in the shapes the reference documents."""

import base64
import io
import json
import socket
import struct
import zlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.urls import reverse
from responses import matchers

from connections import services
from connections.errors import ConnectError, ErrorClass, ProviderError
from connections.models import Grant, SocialAccount
from connections.providers.base import AccountMetrics, AccountState, ContentPart, MediaItem, PostMetrics, PublishRequest
from connections.providers.bluesky import tid
from connections.registry import get_provider
from tests.connections.contract import LOST, Lost, ProviderContract, Refused, ThreadPlatform
from tests.connections.publishing import find_main, publish_all

SERVICE = "https://bsky.social"
PDS = "https://morel.us-east.host.bsky.network"
APPVIEW = "https://public.api.bsky.app"
DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
HANDLE = "alice.bsky.social"
APP_PASSWORD = "k2pq-7xzt-m4ab-wd3e"
EXP = 1_767_276_000  # 2026-01-01T14:00:00Z
FORM = {"identifier": HANDLE, "app_password": APP_PASSWORD, "service_url": SERVICE}


def jwt(name: str, *, scope: str = "com.atproto.appPass", exp: int = EXP) -> str:
    """A token shaped like the PDS's (HS256, the claims it sets); ``name`` keeps tokens apart."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"scope": scope, "aud": "did:web:bsky.social", "sub": DID, "iat": exp - 7200, "exp": exp, "n": name}
    return f"{part({'typ': 'at+jwt', 'alg': 'HS256'})}.{part(claims)}.c2lnbmF0dXJl"


ACCESS, REFRESH = jwt("access-1"), jwt("refresh-1", scope="com.atproto.refresh")
ACCESS_2, REFRESH_2 = jwt("access-2", exp=EXP + 3600), jwt("refresh-2", scope="com.atproto.refresh")


def session(access: str = ACCESS, refresh: str = REFRESH, *, did_doc: bool = True) -> dict:
    body = {
        "did": DID,
        "handle": HANDLE,
        "email": "alice@example.com",
        "emailConfirmed": True,
        "active": True,
        "accessJwt": access,
        "refreshJwt": refresh,
    }
    if did_doc:
        body["didDoc"] = {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": DID,
            "alsoKnownAs": [f"at://{HANDLE}"],
            "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": PDS}],
        }
    return body


def error(name: str, message: str) -> dict:
    return {"error": name, "message": message}


def xrpc(base: str, nsid: str) -> str:
    return f"{base}/xrpc/{nsid}"


def rkey_uri(rkey: str) -> str:
    return f"at://{DID}/app.bsky.feed.post/{rkey}"


def created(rkey: str, cid: str = "bafyreicid") -> dict:
    return {
        "uri": rkey_uri(rkey),
        "cid": cid,
        "commit": {"cid": "bafyreicommit", "rev": "3lbx7qz2abc2k"},
        "validationStatus": "valid",
    }


def blob(link: str = "bafkreiblob", mime: str = "image/png", size: int = 69) -> dict:
    return {"blob": {"$type": "blob", "ref": {"$link": link}, "mimeType": mime, "size": size}}


def state(**secrets) -> AccountState:
    return AccountState(
        external_id=DID,
        username=HANDLE,
        secrets={"access_token": ACCESS, "refresh_token": REFRESH, "app_password": APP_PASSWORD, "did": DID,
                 "handle": HANDLE, **secrets},
        instance_url=PDS,
        extra={"service_url": SERVICE},
    )  # fmt: skip


def bodies(nsid: str) -> list[dict]:
    return [json.loads(call.request.body) for call in responses.calls if call.request.url.endswith(nsid)]


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixel = zlib.compress(b"\x00\xff\x00\x00")  # one row: filter byte, then one red RGB pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixel) + chunk(b"IEND", b"")


def image(alt: str = "latte art", *, data: bytes | None = None, **kwargs) -> MediaItem:
    data = data or tiny_png()
    return MediaItem(
        filename="latte.png",
        mime_type="image/png",
        size=len(data),
        open=lambda: io.BytesIO(data),
        alt_text=alt,
        **kwargs,
    )


def mock_create(*rkeys: str) -> None:
    for index, rkey in enumerate(rkeys):
        responses.add(responses.POST, xrpc(PDS, "com.atproto.repo.createRecord"), json=created(rkey, f"bafycid{index}"))


# --- The shared contract -----------------------------------------------------------------------


class TestBlueskyProvider(ProviderContract):
    provider_id = "bluesky"

    def connect(self):
        responses.add(responses.POST, xrpc(SERVICE, "com.atproto.server.createSession"), json=session())
        responses.add(
            responses.GET,
            xrpc(PDS, "app.bsky.actor.getProfile"),
            json={"did": DID, "handle": HANDLE, "displayName": "Alice", "avatar": "https://cdn.bsky.app/img/a.jpg",
                  "followersCount": 10, "followsCount": 3, "postsCount": 7},
        )  # fmt: skip
        return [get_provider("bluesky").connect_with_form(data=FORM)]

    def account(self) -> AccountState:
        return state()

    def mock_account_metrics(self):
        profile = json.loads((Path(__file__).parent / "payloads/bluesky/get_profile.json").read_text())
        profile["did"] = DID  # the public AppView's profile of this account
        responses.add(responses.GET, xrpc(APPVIEW, "app.bsky.actor.getProfile"), json=profile,
                      match=[responses.matchers.query_param_matcher({"actor": DID})])  # fmt: skip
        return AccountMetrics(followers=1204, following=311, posts_count=2875)

    def mock_check(self) -> None:
        responses.add(
            responses.GET,
            xrpc(PDS, "com.atproto.server.getSession"),
            json={"did": DID, "handle": HANDLE, "email": "alice@example.com", "emailConfirmed": True, "active": True},
        )

    def mock_refresh(self) -> None:
        responses.add(
            responses.POST,
            xrpc(SERVICE, "com.atproto.server.refreshSession"),
            json=session(ACCESS_2, REFRESH_2),
            match=[matchers.header_matcher({"Authorization": f"Bearer {REFRESH}"})],
        )

    def error_cases(self):
        get_session = xrpc(PDS, "com.atproto.server.getSession")

        def answer(status: int, name: str, message: str, headers: dict | None = None):
            return lambda: responses.add(
                responses.GET, get_session, status=status, json=error(name, message), headers=headers
            )

        def expired_and_refused():
            answer(400, "ExpiredToken", "Token has expired")()
            responses.add(
                responses.POST,
                xrpc(SERVICE, "com.atproto.server.refreshSession"),
                status=400,
                json=error("ExpiredToken", "Token has been revoked"),
            )
            responses.add(
                responses.POST,
                xrpc(SERVICE, "com.atproto.server.createSession"),
                status=401,
                json=error("AuthenticationRequired", "Invalid identifier or password"),
            )

        return [
            ("bad token", answer(400, "InvalidToken", "Token could not be verified"), ErrorClass.AUTH),
            ("expired, refresh and login refused", expired_and_refused, ErrorClass.AUTH),
            ("taken down", answer(401, "AccountTakedown", "Account has been taken down"), ErrorClass.AUTH),
            ("rate limited", answer(429, "RateLimitExceeded", "Rate Limit Exceeded"), ErrorClass.RATE),
            ("upstream", answer(502, "UpstreamFailure", "Upstream Failure"), ErrorClass.TRANSIENT),
            ("invalid request", answer(400, "InvalidRequest", "Invalid request"), ErrorClass.CONTENT),
        ]

    def install_thread_platform(self, platform: ThreadPlatform, monkeypatch) -> None:
        """createRecord and getRecord on the account's PDS, in the lexicon's shapes."""

        def create(request):
            body = json.loads(request.body)
            record, rkey = body["record"], body["rkey"]
            parent = record.get("reply", {}).get("parent", {}).get("uri")
            try:
                platform.create(text=record["text"], parent=parent, key=rkey, id_=rkey_uri(rkey))
            except Refused as exc:
                return 400, {}, json.dumps(error("InvalidRequest", f"Invalid app.bsky.feed.post record: {exc}"))
            except Lost:
                raise LOST from None
            return 200, {}, json.dumps(created(rkey, f"bafycid-{rkey}"))

        def read(request):
            rkey = parse_qs(urlsplit(request.url).query)["rkey"][0]
            post = platform.find(key=rkey)
            if post is None:
                return 400, {}, json.dumps(error("RecordNotFound", f"Could not locate record: {rkey_uri(rkey)}"))
            value = {"$type": "app.bsky.feed.post", "text": post["text"], "createdAt": "2026-12-01T10:00:00.000Z"}
            return 200, {}, json.dumps({"uri": post["id"], "cid": f"bafycid-{rkey}", "value": value})

        responses.add_callback(responses.POST, xrpc(PDS, "com.atproto.repo.createRecord"), callback=create)
        responses.add_callback(responses.GET, xrpc(PDS, "com.atproto.repo.getRecord"), callback=read)

    def mock_publish_text(self) -> str:
        rkey = tid.rkey_for("t-1")
        mock_create(rkey)
        return rkey_uri(rkey)

    def mock_delete(self):
        responses.add(
            responses.POST, xrpc(PDS, "com.atproto.repo.deleteRecord"), json={"commit": {"cid": "c", "rev": "r"}}
        )
        rkey = "3lbx7qz2abc2k"
        return rkey_uri(
            rkey
        ), lambda: bodies("deleteRecord") == [{"repo": DID, "collection": "app.bsky.feed.post", "rkey": rkey}]

    def mock_metrics(self):
        uri = rkey_uri("3lbx7qz2abc2k")
        post = {"uri": uri, "cid": "c", "author": {"did": DID}, "record": {}, "replyCount": 2, "repostCount": 5,
                "likeCount": 17, "quoteCount": 1, "indexedAt": "2026-01-01T12:00:00.000Z"}  # fmt: skip
        responses.add(responses.GET, xrpc(APPVIEW, "app.bsky.feed.getPosts"), json={"posts": [post]})
        return uri, PostMetrics(likes=17, reposts=5, replies=2, quotes=1, impressions=None)

    def mock_list_posts(self):
        mock_author_feed()
        return [rkey_uri("3lbxa2b3c4e2k"), rkey_uri("3lbxa2b3c4d2k")], [rkey_uri("3kzq7a2b3c42k")]


PAYLOADS = Path(__file__).parent / "payloads" / "bluesky"


def mock_author_feed() -> None:
    """Two pages of getAuthorFeed from the account's PDS, authenticated, the second the last."""
    wanted = {"actor": DID, "limit": "100", "filter": "posts_and_author_threads"}
    authed = matchers.header_matcher({"Authorization": f"Bearer {ACCESS}"})
    pages = (("author_feed_page1", wanted), ("author_feed_page2", {**wanted, "cursor": "2026-01-05T10:00:00.000Z"}))
    for name, params in pages:
        responses.add(responses.GET, xrpc(PDS, "app.bsky.feed.getAuthorFeed"),
                      json=json.loads((PAYLOADS / f"{name}.json").read_text()),
                      match=[matchers.query_param_matcher(params), authed])  # fmt: skip


@pytest.fixture
def bluesky(db):
    return get_provider("bluesky")


# --- Connect -----------------------------------------------------------------------------------


def test_connect_stores_the_session_and_uses_the_pds_from_the_did_document(bluesky):
    responses.add(responses.POST, xrpc(SERVICE, "com.atproto.server.createSession"), json=session())
    responses.add(
        responses.GET,
        xrpc(PDS, "app.bsky.actor.getProfile"),
        json={"did": DID, "handle": HANDLE, "displayName": "Alice"},
    )
    connection = bluesky.connect_with_form(data=FORM)
    assert json.loads(responses.calls[0].request.body) == {"identifier": HANDLE, "password": APP_PASSWORD}
    assert connection.secrets == {
        "app_password": APP_PASSWORD,
        "access_token": ACCESS,
        "refresh_token": REFRESH,
        "did": DID,
        "handle": HANDLE,
    }
    assert (connection.instance_url, connection.extra) == (PDS, {"service_url": SERVICE})
    assert connection.expires_at.timestamp() == EXP
    profile = connection.profile
    assert (profile.external_id, profile.username, profile.display_name) == (DID, HANDLE, "Alice")
    assert profile.profile_url == f"https://bsky.app/profile/{HANDLE}"


def test_connect_without_an_appview_falls_back_to_the_handle(bluesky):
    self_hosted = "https://pds.example.com"
    responses.add(responses.POST, xrpc(self_hosted, "com.atproto.server.createSession"), json=session(did_doc=False))
    responses.add(
        responses.GET,
        xrpc(self_hosted, "app.bsky.actor.getProfile"),
        status=400,
        json=error("InvalidRequest", "No service configured for app.bsky.actor.getProfile"),
    )
    connection = bluesky.connect_with_form(data={**FORM, "service_url": "pds.example.com"})
    assert connection.instance_url == self_hosted
    assert (connection.profile.display_name, connection.profile.avatar_url) == (HANDLE, "")


def test_connect_with_a_wrong_app_password_is_auth(bluesky):
    responses.add(
        responses.POST,
        xrpc(SERVICE, "com.atproto.server.createSession"),
        status=401,
        json=error("AuthenticationRequired", "Invalid identifier or password"),
    )
    with pytest.raises(ProviderError) as caught:
        bluesky.connect_with_form(data=FORM)
    assert (caught.value.error_class, caught.value.message) == (ErrorClass.AUTH, "Invalid identifier or password")


def test_connect_refuses_the_main_password_and_ends_that_session(bluesky):
    full_access = session(jwt("main", scope="com.atproto.access"))
    responses.add(responses.POST, xrpc(SERVICE, "com.atproto.server.createSession"), json=full_access)
    ended = responses.add(
        responses.POST,
        xrpc(SERVICE, "com.atproto.server.deleteSession"),
        match=[matchers.header_matcher({"Authorization": f"Bearer {REFRESH}"})],
    )
    with pytest.raises(ProviderError) as caught:
        bluesky.connect_with_form(data=FORM)
    assert caught.value.error_class == ErrorClass.AUTH
    assert "App Password" in caught.value.message
    assert ended.call_count == 1


def test_connecting_through_the_service_saves_an_account(team):
    responses.add(responses.POST, xrpc(SERVICE, "com.atproto.server.createSession"), json=session())
    responses.add(responses.GET, xrpc(PDS, "app.bsky.actor.getProfile"), status=502, body="Bad gateway")
    account = services.connect_with_form(actor=team.membership("admin"), provider=get_provider("bluesky"), data=FORM)
    account.refresh_from_db()
    assert (account.external_id, account.username, account.instance_url) == (DID, HANDLE, PDS)
    assert account.grant.secrets["app_password"] == APP_PASSWORD  # the consent's, not a copy per account
    assert account.secrets == {}
    assert account.token_expires_at.timestamp() == EXP


def test_a_refused_app_password_reads_clearly_on_the_connect_page(team):
    responses.add(
        responses.POST,
        xrpc(SERVICE, "com.atproto.server.createSession"),
        status=401,
        json=error("AuthenticationRequired", "Invalid identifier or password"),
    )
    with pytest.raises(ConnectError, match="did not accept those credentials: Invalid identifier or password"):
        services.connect_with_form(actor=team.membership("admin"), provider=get_provider("bluesky"), data=FORM)


def test_connect_logs_no_secret(bluesky, caplog):
    caplog.set_level("DEBUG")
    responses.add(responses.POST, xrpc(SERVICE, "com.atproto.server.createSession"), json=session())
    responses.add(responses.GET, xrpc(PDS, "app.bsky.actor.getProfile"), status=400, json=error("InvalidRequest", "x"))
    bluesky.connect_with_form(data=FORM)
    assert caplog.records
    for secret in (APP_PASSWORD, ACCESS, REFRESH):
        assert secret not in caplog.text


# --- SSRF --------------------------------------------------------------------------------------


@pytest.fixture
def private_dns(settings, monkeypatch):
    """Production's guard on, and a resolver that puts internal names (and IPs) on a private network."""
    settings.ALLOW_PRIVATE_NETWORK_URLS = False

    def fake_getaddrinfo(host, port, *args, **kwargs):
        public = host in ("example.com", "bsky.social") or host.endswith(".bsky.network")
        address = "93.184.216.34" if public else "10.0.0.5"
        if host[0].isdigit():
            address = host
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


def test_a_service_url_on_a_private_network_is_refused(bluesky, private_dns):
    form = bluesky.connect_form_class()({**FORM, "service_url": "pds.internal.example"})
    assert not form.is_valid()
    assert "private or local address" in form.errors["service_url"][0]
    with pytest.raises(ProviderError) as caught:
        bluesky.connect_with_form(data={**FORM, "service_url": "https://pds.internal.example"})
    assert caught.value.error_class == ErrorClass.CONTENT
    assert not responses.calls  # refused before any request


def test_a_did_document_pointing_inwards_is_refused(bluesky, private_dns):
    inward = session()
    inward["didDoc"]["service"][0]["serviceEndpoint"] = "https://pds.internal.example"
    responses.add(responses.POST, xrpc(SERVICE, "com.atproto.server.createSession"), json=inward)
    with pytest.raises(ProviderError, match="private or local address"):
        bluesky.connect_with_form(data=FORM)


# --- Sessions ----------------------------------------------------------------------------------


def test_expired_token_is_refreshed_retried_and_persisted(bluesky):
    get_session = xrpc(PDS, "com.atproto.server.getSession")
    responses.add(responses.GET, get_session, status=400, json=error("ExpiredToken", "Token has expired"))
    responses.add(
        responses.GET,
        get_session,
        json={"did": DID, "handle": HANDLE},
        match=[matchers.header_matcher({"Authorization": f"Bearer {ACCESS_2}"})],
    )
    TestBlueskyProvider().mock_refresh()
    account = state()
    profile = bluesky.check(app=None, account=account)
    assert profile.username == HANDLE
    assert account.secrets_changed
    assert (account.secrets["access_token"], account.secrets["refresh_token"]) == (ACCESS_2, REFRESH_2)
    assert account.secrets["app_password"] == APP_PASSWORD
    refresh_call = responses.calls[1].request
    assert (refresh_call.body, refresh_call.headers["Authorization"]) == (None, f"Bearer {REFRESH}")


def test_rotated_tokens_reach_the_database(team):
    grant = Grant.objects.create(workspace=team.workspace, platform="bluesky", secrets=state().secrets)
    account = SocialAccount.objects.create(
        workspace=team.workspace, platform="bluesky", external_id=DID, username=HANDLE, instance_url=PDS,
        grant=grant, extra={"service_url": SERVICE},
    )  # fmt: skip
    get_session = xrpc(PDS, "com.atproto.server.getSession")
    responses.add(responses.GET, get_session, status=400, json=error("ExpiredToken", "Token has expired"))
    responses.add(responses.GET, get_session, json={"did": DID, "handle": HANDLE})
    TestBlueskyProvider().mock_refresh()
    services.account_check(actor=team.membership("editor"), account=account)
    grant.refresh_from_db()
    assert (grant.secrets["access_token"], grant.secrets["refresh_token"]) == (ACCESS_2, REFRESH_2)
    account.refresh_from_db()
    assert account.secrets == {}  # the renewed session is the grant's
    assert account.token_expires_at.timestamp() == EXP + 3600  # the renewed session's expiry, saved


def test_a_refused_refresh_logs_in_again_with_the_app_password(bluesky):
    responses.add(
        responses.POST,
        xrpc(SERVICE, "com.atproto.server.refreshSession"),
        status=400,
        json=error("ExpiredToken", "Token has been revoked"),
    )
    responses.add(responses.POST, xrpc(SERVICE, "com.atproto.server.createSession"), json=session(ACCESS_2, REFRESH_2))
    account = state()
    tokens = bluesky.refresh(app=None, account=account)
    assert bodies("createSession") == [{"identifier": DID, "password": APP_PASSWORD}]
    assert (tokens.access_token, tokens.refresh_token) == (ACCESS_2, REFRESH_2)
    assert tokens.expires_at.timestamp() == EXP + 3600
    # The services layer merges this into the stored secrets: the keys must be the ones we read.
    assert {**account.secrets, **tokens.as_secrets()}["access_token"] == ACCESS_2


def test_an_invalid_refresh_token_also_falls_back_to_login(bluesky):
    responses.add(
        responses.POST,
        xrpc(SERVICE, "com.atproto.server.refreshSession"),
        status=400,
        json=error("InvalidToken", "Token could not be verified"),
    )
    responses.add(responses.POST, xrpc(SERVICE, "com.atproto.server.createSession"), json=session(ACCESS_2, REFRESH_2))
    assert bluesky.refresh(app=None, account=state()).access_token == ACCESS_2


def test_a_revoked_app_password_is_auth(bluesky):
    responses.add(
        responses.POST,
        xrpc(SERVICE, "com.atproto.server.refreshSession"),
        status=400,
        json=error("ExpiredToken", "Token has been revoked"),
    )
    responses.add(
        responses.POST,
        xrpc(SERVICE, "com.atproto.server.createSession"),
        status=401,
        json=error("AuthenticationRequired", "Invalid identifier or password"),
    )
    with pytest.raises(ProviderError) as caught:
        bluesky.refresh(app=None, account=state())
    assert (caught.value.error_class, caught.value.status) == (ErrorClass.AUTH, 401)


def test_a_refresh_that_cannot_reach_the_server_is_transient_not_a_login(bluesky):
    responses.add(
        responses.POST, xrpc(SERVICE, "com.atproto.server.refreshSession"), body=requests.ConnectionError("down")
    )
    with pytest.raises(ProviderError) as caught:
        bluesky.refresh(app=None, account=state())
    assert caught.value.error_class == ErrorClass.TRANSIENT
    assert not bodies("createSession")


def test_rate_limit_carries_the_reset_time(bluesky, time_machine):
    time_machine.move_to("2026-01-01T12:00:00Z", tick=False)
    reset = 1_767_268_800 + 90
    responses.add(
        responses.GET,
        xrpc(PDS, "com.atproto.server.getSession"),
        status=429,
        json=error("RateLimitExceeded", "Rate Limit Exceeded"),
        headers={"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset),
                 "ratelimit-policy": "3000;w=300"},
    )  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        bluesky.check(app=None, account=state())
    assert caught.value.error_class == ErrorClass.RATE
    assert caught.value.retry_after == pytest.approx(90, abs=1)
    assert caught.value.message == "Rate Limit Exceeded"


def test_retry_after_wins_when_sent(bluesky):
    responses.add(
        responses.GET,
        xrpc(PDS, "com.atproto.server.getSession"),
        status=429,
        json=error("RateLimitExceeded", "Rate Limit Exceeded"),
        headers={"Retry-After": "42"},
    )
    with pytest.raises(ProviderError) as caught:
        bluesky.check(app=None, account=state())
    assert caught.value.retry_after == 42


def test_a_changed_answer_shape_is_reported_as_malformed(bluesky):
    responses.add(responses.GET, xrpc(PDS, "com.atproto.server.getSession"), json={"did": DID})
    with pytest.raises(ProviderError) as caught:
        bluesky.check(app=None, account=state())
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.TRANSIENT, "malformed")


def test_check_follows_a_handle_change(bluesky):
    responses.add(responses.GET, xrpc(PDS, "com.atproto.server.getSession"), json={"did": DID, "handle": "alice.dev"})
    account = state()
    assert bluesky.check(app=None, account=account).username == "alice.dev"
    assert account.secrets["handle"] == "alice.dev"


# --- Publishing --------------------------------------------------------------------------------


def test_a_post_with_facets_and_created_at(bluesky, time_machine):
    time_machine.move_to("2026-01-01T12:00:00.123456Z", tick=False)
    responses.add(responses.GET, xrpc(PDS, "com.atproto.identity.resolveHandle"), json={"did": "did:plc:bobdid"})
    responses.add(responses.GET, "https://example.com/a", status=404)
    mock_create(tid.rkey_for("k"))
    text = "Café ☕ with @bob.bsky.social → https://example.com/a #python"
    request = PublishRequest(main=ContentPart(text), idempotency_key="k", options={"langs": ["en"]})
    result = publish_all(bluesky, account=state(), request=request)
    [body] = bodies("createRecord")
    record = body["record"]
    assert (body["repo"], body["collection"], body["rkey"]) == (DID, "app.bsky.feed.post", tid.rkey_for("k"))
    assert (record["$type"], record["text"], record["createdAt"]) == (
        "app.bsky.feed.post",
        text,
        "2026-01-01T12:00:00.123Z",
    )
    assert [f["index"] for f in record["facets"]] == [
        {"byteStart": 15, "byteEnd": 31},
        {"byteStart": 36, "byteEnd": 57},
        {"byteStart": 58, "byteEnd": 65},
    ]
    assert record["facets"][0]["features"][0]["did"] == "did:plc:bobdid"
    assert record["langs"] == ["en"]
    assert result.main.platform_post_id == rkey_uri(tid.rkey_for("k"))
    assert result.main.url == f"https://bsky.app/profile/{HANDLE}/post/{tid.rkey_for('k')}"
    assert result.main.extra == {"cid": "bafycid0"}


def test_an_unresolvable_mention_never_fails_the_post(bluesky):
    responses.add(
        responses.GET,
        xrpc(PDS, "com.atproto.identity.resolveHandle"),
        status=400,
        json=error("InvalidRequest", "Unable to resolve handle"),
    )
    mock_create(tid.rkey_for("m"))
    publish_all(
        bluesky, account=state(), request=PublishRequest(main=ContentPart("hi @ghost.example.com"), idempotency_key="m")
    )
    assert "facets" not in bodies("createRecord")[0]["record"]


def test_a_three_part_thread_and_a_first_comment_reference_root_and_parent(bluesky):
    keys = [tid.rkey_for("thread", part) for part in range(4)]
    mock_create(*keys)
    request = PublishRequest(
        main=ContentPart("1/3"),
        replies=(ContentPart("2/3"), ContentPart("3/3")),
        first_comment=ContentPart("comment"),
        idempotency_key="thread",
    )
    result = publish_all(bluesky, account=state(), request=request)
    records = bodies("createRecord")
    root = {"uri": rkey_uri(keys[0]), "cid": "bafycid0"}
    second = {"uri": rkey_uri(keys[1]), "cid": "bafycid1"}
    assert [body["rkey"] for body in records] == keys
    assert "reply" not in records[0]["record"]
    assert records[1]["record"]["reply"] == {"root": root, "parent": root}
    assert records[2]["record"]["reply"] == {"root": root, "parent": second}
    assert records[3]["record"]["reply"] == {"root": root, "parent": root}
    assert [item.platform_post_id for item in result.replies] == [rkey_uri(keys[1]), rkey_uri(keys[2])]
    assert result.first_comment.platform_post_id == rkey_uri(keys[3])


def test_images_are_uploaded_with_alt_text_and_aspect_ratio(bluesky):
    data = tiny_png()
    upload = responses.add(responses.POST, xrpc(PDS, "com.atproto.repo.uploadBlob"), json=blob(size=len(data)))
    mock_create(tid.rkey_for("img"))
    media = (image("latte art", width=1200, height=800), image(""))
    request = PublishRequest(main=ContentPart("coffee", media=media), idempotency_key="img")
    publish_all(bluesky, account=state(), request=request)
    assert upload.call_count == 2
    sent = upload.calls[0].request
    assert (sent.body, sent.headers["Content-Type"]) == (data, "image/png")
    assert sent.headers["Authorization"] == f"Bearer {ACCESS}"
    embed = bodies("createRecord")[0]["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert embed["images"][0] == {
        "alt": "latte art",
        "image": blob(size=len(data))["blob"],
        "aspectRatio": {"width": 1200, "height": 800},
    }
    assert embed["images"][1] == {"alt": "", "image": blob(size=len(data))["blob"]}


def test_an_image_post_carries_the_link_in_its_text(bluesky):
    responses.add(responses.POST, xrpc(PDS, "com.atproto.repo.uploadBlob"), json=blob())
    mock_create(tid.rkey_for("il"))
    request = PublishRequest(
        main=ContentPart("look", media=(image(),)), link="https://example.com/a", idempotency_key="il"
    )
    publish_all(bluesky, account=state(), request=request)
    record = bodies("createRecord")[0]["record"]
    assert record["text"] == "look\n\nhttps://example.com/a"
    assert record["facets"][0]["features"][0]["uri"] == "https://example.com/a"


@pytest.mark.parametrize(
    ("media", "message"),
    [
        ((image(),) * 5, "at most 4 images"),
        ((image(data=b"x" * 1_000_001),), "1 MB"),
        ((MediaItem("v.mp4", "video/mp4", 10, open=lambda: io.BytesIO(b"")),), "video"),
        ((MediaItem("a.tiff", "image/tiff", 10, open=lambda: io.BytesIO(b"")),), "image/tiff"),
    ],
)
def test_unsuitable_media_is_refused_before_anything_is_sent(bluesky, media, message):
    with pytest.raises(ProviderError, match=message) as caught:
        publish_all(
            bluesky, account=state(), request=PublishRequest(main=ContentPart("x", media=media), idempotency_key="u")
        )
    assert caught.value.error_class == ErrorClass.CONTENT
    assert not responses.calls


def test_too_long_text_is_content(bluesky):
    with pytest.raises(ProviderError, match="301") as caught:
        publish_all(bluesky, account=state(), request=PublishRequest(main=ContentPart("é" * 301), idempotency_key="l"))
    assert caught.value.error_class == ErrorClass.CONTENT


def test_a_record_the_pds_refuses_is_content(bluesky):
    responses.add(
        responses.POST,
        xrpc(PDS, "com.atproto.repo.createRecord"),
        status=400,
        json=error("InvalidRequest", "Invalid app.bsky.feed.post record: grapheme too big (maximum 300, got 301)"),
    )
    responses.add(
        responses.GET,
        xrpc(PDS, "com.atproto.repo.getRecord"),
        status=400,
        json=error("RecordNotFound", "Could not locate record"),
    )
    with pytest.raises(ProviderError) as caught:
        publish_all(bluesky, account=state(), request=PublishRequest(main=ContentPart("x"), idempotency_key="c"))
    assert caught.value.error_class == ErrorClass.CONTENT
    assert "grapheme too big" in caught.value.message


# --- Link cards --------------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Ignored</title>
<meta property="og:title" content="An article"><meta property="og:description" content="What it says">
<meta property="og:image" content="/card.png"></head><body>…</body></html>"""


def test_a_link_card_from_open_graph_with_a_thumbnail(bluesky):
    png = tiny_png()
    responses.add(responses.GET, "https://example.com/a", body=PAGE, content_type="text/html; charset=utf-8")
    responses.add(responses.GET, "https://example.com/card.png", body=png, content_type="image/png")
    upload = responses.add(responses.POST, xrpc(PDS, "com.atproto.repo.uploadBlob"), json=blob("bafkreithumb"))
    mock_create(tid.rkey_for("card"))
    request = PublishRequest(main=ContentPart("Read this"), link="https://example.com/a", idempotency_key="card")
    publish_all(bluesky, account=state(), request=request)
    assert upload.calls[0].request.body == png
    assert bodies("createRecord")[0]["record"]["embed"] == {
        "$type": "app.bsky.embed.external",
        "external": {
            "uri": "https://example.com/a",
            "title": "An article",
            "description": "What it says",
            "thumb": blob("bafkreithumb")["blob"],
        },
    }


def test_the_first_url_in_the_text_gets_a_card_when_there_is_no_image(bluesky):
    responses.add(responses.GET, "https://example.com/a", body=PAGE, content_type="text/html")
    responses.add(responses.GET, "https://example.com/card.png", body=b"not an image", content_type="text/plain")
    mock_create(tid.rkey_for("first"))
    request = PublishRequest(main=ContentPart("see https://example.com/a"), idempotency_key="first")
    publish_all(bluesky, account=state(), request=request)
    external = bodies("createRecord")[0]["record"]["embed"]["external"]
    assert (external["title"], "thumb" in external) == ("An article", False)


@pytest.mark.parametrize(
    "page",
    [
        {"status": 500, "body": "oops"},
        {"body": requests.ConnectTimeout("slow")},
        {"body": b"\x89PNG...", "content_type": "image/png"},
    ],
)
def test_a_page_that_cannot_be_read_still_posts(bluesky, page):
    responses.add(responses.GET, "https://example.com/a", **page)
    mock_create(tid.rkey_for("fail"))
    request = PublishRequest(main=ContentPart("Read this"), link="https://example.com/a", idempotency_key="fail")
    result = publish_all(bluesky, account=state(), request=request)
    assert result.main.platform_post_id
    external = bodies("createRecord")[0]["record"]["embed"]["external"]
    assert external == {"uri": "https://example.com/a", "title": "https://example.com/a", "description": ""}


def test_a_card_never_follows_a_redirect_into_the_private_network(bluesky, private_dns):
    responses.add(responses.GET, "https://example.com/a", status=302, headers={"Location": "https://169.254.169.254/"})
    mock_create(tid.rkey_for("ssrf"))
    request = PublishRequest(main=ContentPart("Read this"), link="https://example.com/a", idempotency_key="ssrf")
    publish_all(bluesky, account=state(), request=request)
    assert [call.request.url for call in responses.calls if "169.254" in call.request.url] == []
    assert bodies("createRecord")[0]["record"]["embed"]["external"]["title"] == "https://example.com/a"


def test_a_huge_page_is_read_only_up_to_the_cap(bluesky):
    head = PAGE.split("</head>")[0] + "</head><body>"
    responses.add(responses.GET, "https://example.com/a", body=head + "x" * 2_000_000, content_type="text/html")
    responses.add(responses.GET, "https://example.com/card.png", body=b"x" * 1_000_001, content_type="image/png")
    mock_create(tid.rkey_for("big"))
    request = PublishRequest(main=ContentPart("Read this"), link="https://example.com/a", idempotency_key="big")
    publish_all(bluesky, account=state(), request=request)
    external = bodies("createRecord")[0]["record"]["embed"]["external"]
    assert (external["title"], "thumb" in external) == ("An article", False)  # the thumb was too large


# --- Idempotency -------------------------------------------------------------------------------


def test_a_repeated_create_returns_the_post_that_landed(bluesky):
    rkey = tid.rkey_for("dup")
    # What @atproto/pds really answers for a taken rkey (seen on the local PDS): a bare 500.
    responses.add(
        responses.POST,
        xrpc(PDS, "com.atproto.repo.createRecord"),
        status=500,
        json=error("InternalServerError", "Internal Server Error"),
    )
    responses.add(
        responses.GET,
        xrpc(PDS, "com.atproto.repo.getRecord"),
        json={"uri": rkey_uri(rkey), "cid": "bafyexisting", "value": {"text": "Once"}},
        match=[matchers.query_param_matcher({"repo": DID, "collection": "app.bsky.feed.post", "rkey": rkey})],
    )
    result = publish_all(
        bluesky, account=state(), request=PublishRequest(main=ContentPart("Once"), idempotency_key="dup")
    )
    assert (result.main.platform_post_id, result.main.extra["cid"]) == (rkey_uri(rkey), "bafyexisting")


def test_a_real_server_error_stays_transient(bluesky):
    responses.add(
        responses.POST,
        xrpc(PDS, "com.atproto.repo.createRecord"),
        status=500,
        json=error("InternalServerError", "Internal Server Error"),
    )
    responses.add(
        responses.GET,
        xrpc(PDS, "com.atproto.repo.getRecord"),
        status=400,
        json=error("RecordNotFound", "Could not locate record"),
    )
    with pytest.raises(ProviderError) as caught:
        publish_all(bluesky, account=state(), request=PublishRequest(main=ContentPart("x"), idempotency_key="e"))
    assert (caught.value.error_class, caught.value.status) == (ErrorClass.TRANSIENT, 500)


def test_a_create_that_timed_out_is_an_unknown_outcome(bluesky):
    responses.add(responses.POST, xrpc(PDS, "com.atproto.repo.createRecord"), body=requests.ReadTimeout("slow"))
    responses.add(
        responses.GET,
        xrpc(PDS, "com.atproto.repo.getRecord"),
        status=400,
        json=error("RecordNotFound", "Could not locate record"),
    )
    with pytest.raises(ProviderError) as caught:
        publish_all(bluesky, account=state(), request=PublishRequest(main=ContentPart("x"), idempotency_key="t"))
    assert caught.value.outcome_unknown


def test_find_published_looks_up_the_derived_record_key(bluesky):
    request = PublishRequest(main=ContentPart("x"), idempotency_key="find")
    get_record = xrpc(PDS, "com.atproto.repo.getRecord")
    responses.add(responses.GET, get_record, status=400, json=error("RecordNotFound", "Could not locate record"))
    assert find_main(bluesky, account=state(), request=request) is None
    rkey = tid.rkey_for("find")
    responses.add(responses.GET, get_record, json={"uri": rkey_uri(rkey), "cid": "bafyfound", "value": {}})
    found = find_main(bluesky, account=state(), request=request)
    assert (found.platform_post_id, found.extra) == (rkey_uri(rkey), {"cid": "bafyfound"})


def test_expired_token_during_a_create_is_refreshed_and_the_create_retried(bluesky):
    rkey = tid.rkey_for("exp")
    responses.add(
        responses.POST,
        xrpc(PDS, "com.atproto.repo.createRecord"),
        status=400,
        json=error("ExpiredToken", "Token has expired"),
    )
    mock_create(rkey)
    TestBlueskyProvider().mock_refresh()
    account = state()
    result = publish_all(bluesky, account=account, request=PublishRequest(main=ContentPart("x"), idempotency_key="exp"))
    assert result.main.platform_post_id == rkey_uri(rkey)
    assert [c.request.headers["Authorization"] for c in responses.calls if "createRecord" in c.request.url] == [
        f"Bearer {ACCESS}",
        f"Bearer {ACCESS_2}",
    ]
    assert account.secrets["access_token"] == ACCESS_2


# --- Delete and metrics ------------------------------------------------------------------------


def test_delete_removes_the_record(bluesky):
    responses.add(responses.POST, xrpc(PDS, "com.atproto.repo.deleteRecord"), json={"commit": {"cid": "c", "rev": "r"}})
    bluesky.delete(account=state(), platform_post_id=rkey_uri("3lbx7qz2abc2k"))
    assert bodies("deleteRecord") == [{"repo": DID, "collection": "app.bsky.feed.post", "rkey": "3lbx7qz2abc2k"}]


def test_delete_refuses_another_accounts_post(bluesky):
    with pytest.raises(ProviderError, match="another Bluesky account"):
        bluesky.delete(account=state(), platform_post_id="at://did:plc:someoneelse/app.bsky.feed.post/3lbx7qz2abc2k")


def test_metrics_come_from_the_public_appview_in_batches_of_25(bluesky):
    uris = [rkey_uri(tid.rkey_for("m", part)) for part in range(30)]

    def posts(request):
        asked = [value for key, value in _query(request.url) if key == "uris"]
        answer = [
            {"uri": uri, "cid": "c", "author": {"did": DID}, "record": {}, "replyCount": 2, "repostCount": 5,
             "likeCount": 17, "quoteCount": 1, "indexedAt": "2026-01-01T12:00:00.000Z"}
            for uri in asked
        ]  # fmt: skip
        return 200, {}, json.dumps({"posts": answer})

    responses.add_callback(responses.GET, xrpc(APPVIEW, "app.bsky.feed.getPosts"), callback=posts)
    metrics = bluesky.fetch_metrics(account=state(), platform_post_ids=uris)
    assert len(responses.calls) == 2
    assert set(metrics) == set(uris)
    first = metrics[uris[0]]
    assert (first.likes, first.reposts, first.replies, first.quotes, first.impressions) == (17, 5, 2, 1, None)


def _query(url: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl, urlsplit

    return parse_qsl(urlsplit(url).query)


def test_text_rules_count_graphemes(bluesky):
    rules = bluesky.text_rules()
    assert (rules.max_length, rules.counting) == (300, "graphemes")
    assert (rules.max_media, rules.max_image_bytes) == (4, 1_000_000)
    assert rules.accepted_mime_types == ("image/jpeg", "image/png", "image/gif", "image/webp")


# --- Through the connect page ------------------------------------------------------------------


def test_the_connect_page_shows_the_app_password_form(team):
    response = team.client("admin").get(reverse("connect", args=["bluesky"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="app_password"' in html
    assert "App passwords" in html


def test_connecting_through_the_page(team):
    responses.add(responses.POST, xrpc(SERVICE, "com.atproto.server.createSession"), json=session())
    responses.add(responses.GET, xrpc(PDS, "app.bsky.actor.getProfile"), json={"did": DID, "handle": HANDLE})
    data = {"identifier": f"@{HANDLE}", "app_password": APP_PASSWORD.upper(), "service_url": ""}
    response = team.client("admin").post(reverse("connect", args=["bluesky"]), data)
    assert response.status_code == 302
    account = SocialAccount.objects.get(platform="bluesky")
    assert (account.username, account.instance_url, account.workspace) == (HANDLE, PDS, team.workspace)
    assert bodies("createSession") == [{"identifier": HANDLE, "password": APP_PASSWORD}]


def test_a_refused_password_is_shown_on_the_page_and_not_echoed(team):
    responses.add(
        responses.POST,
        xrpc(SERVICE, "com.atproto.server.createSession"),
        status=401,
        json=error("AuthenticationRequired", "Invalid identifier or password"),
    )
    response = team.client("admin").post(reverse("connect", args=["bluesky"]), {**FORM, "service_url": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Invalid identifier or password" in html
    assert APP_PASSWORD not in html
    assert not SocialAccount.objects.exists()


def test_without_an_idempotency_key_the_pds_chooses_the_record_key(bluesky):
    mock_create("3lbx7qz2abc2k")
    request = PublishRequest(main=ContentPart("no key"), options={"langs": "fr"})
    publish_all(bluesky, account=state(), request=request)
    [body] = bodies("createRecord")
    assert "rkey" not in body
    assert body["record"]["langs"] == ["fr"]
    assert find_main(bluesky, account=state(), request=request) is None


def test_tokens_never_show_in_reprs():
    from connections.providers.base import AccountState, TokenSet

    state = AccountState(external_id="did:plc:x", username="a", secrets={"access_token": "SECRET-A"})
    tokens = TokenSet(access_token="SECRET-B", refresh_token="SECRET-C")
    assert "SECRET" not in repr(state) + repr(tokens)


@responses.activate
def test_imported_posts_keep_their_thread_media_and_cid(bluesky):
    mock_author_feed()
    reply, root = bluesky.list_posts(account=state()).items
    assert root.url == f"https://bsky.app/profile/{HANDLE}/post/3lbxa2b3c4d2k"
    assert root.text == "Release notes, a thread 🧵"
    assert [(m.alt_text, m.kind) for m in root.media] == [("The new dashboard", "image")]
    assert root.media[0].url.startswith("https://cdn.bsky.app/img/feed_fullsize/")
    assert root.extra == {"cid": "bafyreiroot"}
    assert root.published_at.isoformat() == "2026-01-05T10:00:00+00:00"
    assert (reply.reply_to, reply.thread_root) == (root.platform_post_id, root.platform_post_id)


@responses.activate
def test_a_feed_without_its_list_is_malformed(bluesky):
    responses.add(responses.GET, xrpc(PDS, "app.bsky.feed.getAuthorFeed"), json={"cursor": "x"})
    with pytest.raises(ProviderError) as caught:
        bluesky.list_posts(account=state())
    assert caught.value.error_class == ErrorClass.TRANSIENT
