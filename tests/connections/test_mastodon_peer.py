"""The Mastodon provider against an independent Mastodon API server (mastodon-mock 0.6.1) on loopback.

Written and tested by others against Mastodon.py, it holds real state: apps, tokens, accounts,
statuses, media, idempotency keys. Every test drives our code (connect services, the provider)
and then reads back, with plain ``requests``, what the server holds.

Where it differs from docs.joinmastodon.org the documentation wins, and the recorded-response
tests in test_mastodon.py keep covering what it cannot show (tests/peers/README.md lists them):
media is always ready at once (never 202 / 206), no rate-limit headers, PKCE and the client
secret are not checked, codes can be replayed, and Idempotency-Keys never expire.
"""

import html
import re
import struct
import uuid
import zlib
from io import BytesIO
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.db import connection
from django.urls import reverse

from connections import services
from connections.errors import ErrorClass, ProviderError
from connections.models import ConnectSession, InstanceApp, SocialAccount
from connections.providers.base import (
    AccountState,
    ContentPart,
    MediaItem,
    Provider,
    PublishedItem,
    PublishRequest,
)
from connections.registry import get_provider
from tests.connections.publishing import Published, find_main, publish_all
from tests.peers.fixtures import mastodon_server  # noqa: F401
from tests.peers.servers import MastodonPeer

pytestmark = pytest.mark.peer
TIMEOUT = 10


# --- Our publishing code: every call into it is here, so an interface change is made once -------


def publish(provider: Provider, account_state: AccountState, request: PublishRequest) -> Published:
    return publish_all(provider, account=account_state, request=request)


def find_published(provider: Provider, account_state: AccountState, request: PublishRequest) -> PublishedItem | None:
    return find_main(provider, account=account_state, request=request)


def delete(provider: Provider, account_state: AccountState, platform_post_id: str) -> None:
    provider.delete(account=account_state, platform_post_id=platform_post_id)


# --- The test's own hands on the server (not the provider's) -------------------------------------


def api(server: MastodonPeer, method: str, path: str, token: str, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.request(method, f"{server.url}{path}", headers=headers, timeout=TIMEOUT, **kwargs)


def read(server: MastodonPeer, path: str, token: str, **kwargs) -> dict | list:
    response = api(server, "GET", path, token, **kwargs)
    assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:300]}"
    return response.json()


def statuses_of(server: MastodonPeer, user: dict) -> list[dict]:
    """Every status of the account, replies included, oldest first."""
    found = read(server, f"/api/v1/accounts/{user['id']}/statuses", user["access_token"], params={"limit": 40})
    return sorted(found, key=lambda status: int(status["id"]))


def consent(server: MastodonPeer, authorize_url: str, username: str) -> dict[str, str]:
    """What the user's browser does: open the server's consent page, pick the account, submit.
    Returns the query of the redirect back to our callback."""
    page = requests.get(authorize_url, timeout=TIMEOUT)
    assert page.status_code == 200, page.text[:300]
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    form = {
        name: html.unescape(value)
        for name, value in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text)
    }
    assert f'name="username" value="{username}"' in page.text  # the account is offered
    answer = requests.post(
        urljoin(authorize_url, action), data={**form, "username": username}, allow_redirects=False, timeout=TIMEOUT
    )
    assert answer.status_code == 302, answer.text[:300]
    location = answer.headers["Location"]
    assert location.startswith(services.redirect_uri_for("mastodon") + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def raw(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - a fixed table name
        return repr(cursor.fetchall())


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x00\x80\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def image(content: bytes, alt: str = "") -> MediaItem:
    return MediaItem(
        "dot.png", "image/png", len(content), open=lambda: BytesIO(content), alt_text=alt, width=3, height=2
    )


def new_key() -> str:
    return uuid.uuid4().hex


# --- Fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def server(mastodon_server, settings) -> MastodonPeer:  # noqa: F811 - the fixture imported above
    """The session's server, emptied: each test starts from the server's own seed."""
    settings.ALLOW_PRIVATE_NETWORK_URLS = True  # the server is on loopback, which production refuses
    mastodon_server.reset()
    return mastodon_server


@pytest.fixture
def mastodon() -> Provider:
    return get_provider("mastodon")


@pytest.fixture
def alice(server) -> dict:
    return server.create_user("alice", "Alice Peer")


def connect(team, server: MastodonPeer, mastodon: Provider, username: str) -> SocialAccount:
    """The whole OAuth connect: our start, the server's consent page, our callback."""
    url = services.connect_start(actor=team.membership("admin"), provider=mastodon, instance_url=server.url)
    params = consent(server, url, username)
    session = services.connect_callback(user=team.users["admin"], provider=mastodon, params=params)
    assert session.status == ConnectSession.Status.COMPLETED, session.error
    return SocialAccount.objects.get(
        workspace=team.workspace, platform="mastodon", username__startswith=f"@{username}@"
    )


@pytest.fixture
def connected(team, server, mastodon, alice) -> SocialAccount:
    return connect(team, server, mastodon, "alice")


# --- Connecting ----------------------------------------------------------------------------------


def test_connect_registers_the_app_and_stores_an_encrypted_working_token(team, server, mastodon, alice):
    url = services.connect_start(actor=team.membership("admin"), provider=mastodon, instance_url=server.url)
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{server.url}/oauth/authorize?")
    registered = InstanceApp.objects.get(platform="mastodon", instance_url=server.url)
    assert query["client_id"] == registered.client_id
    assert query["scope"] == "read write:statuses write:media"
    session = ConnectSession.objects.get()

    params = consent(server, url, "alice")
    assert params["state"] == session.state
    session = services.connect_callback(user=team.users["admin"], provider=mastodon, params=params)
    assert (session.status, session.secrets) == (ConnectSession.Status.COMPLETED, {})

    account = SocialAccount.objects.get()
    host = urlsplit(server.url).netloc
    domain = read(server, "/api/v2/instance", "")["domain"]  # the server's own name for itself
    assert (account.workspace, account.instance_url) == (team.workspace, server.url)
    assert (account.external_id, account.username) == (f"{host}:{alice['id']}", f"@alice@{domain}")
    assert account.display_name == "Alice Peer"
    assert (account.extra["account_id"], account.extra["max_characters"]) == (alice["id"], 500)
    assert account.token_expires_at is None
    # The composer's rules are the server's own limits, as it reported them at connect time.
    limits = read(server, "/api/v2/instance", "")["configuration"]
    rules = mastodon.text_rules(account=account.state())
    assert (rules.max_length, rules.max_media) == (
        limits["statuses"]["max_characters"],
        limits["statuses"]["max_media_attachments"],
    )
    assert rules.max_image_bytes == limits["media_attachments"]["image_size_limit"]
    assert list(rules.accepted_mime_types) == limits["media_attachments"]["supported_mime_types"]

    token = account.state().secrets["access_token"]
    assert token != alice["access_token"]  # a token of its own, minted by the code exchange
    assert read(server, "/api/v1/accounts/verify_credentials", token)["username"] == "alice"
    app = read(server, "/api/v1/apps/verify_credentials", token)  # the token belongs to our app
    assert (app["name"], app["scopes"]) == ("Postwright", ["read", "write:statuses", "write:media"])
    assert token not in raw("connections_socialaccount")
    assert registered.client_secret not in raw("connections_instanceapp")


def test_connect_and_reconnect_through_the_pages(team, server, mastodon, alice):
    """What a user does: type the server's address, consent there, land back on the accounts page.
    Reconnecting the same account later updates its row with the new token."""
    client = team.client("admin")
    start = client.post(reverse("connect", args=["mastodon"]), {"instance": server.url})
    assert start.status_code == 302, start.content.decode()[:300]
    params = consent(server, start.url, "alice")
    landed = client.get(reverse("connect_callback", args=["mastodon"]), params, follow=True)
    assert landed.redirect_chain[-1][0] == reverse("connections")
    account = SocialAccount.objects.get()
    assert account.username.encode() in landed.content
    first_token = account.state().secrets["access_token"]

    again = client.post(reverse("connect", args=["mastodon"]) + f"?account={account.pk}")
    assert again.status_code == 302
    client.get(reverse("connect_callback", args=["mastodon"]), consent(server, again.url, "alice"))
    account = SocialAccount.objects.get()  # still one row
    assert account.state().secrets["access_token"] != first_token
    assert (
        read(server, "/api/v1/accounts/verify_credentials", account.state().secrets["access_token"])["id"]
        == alice["id"]
    )


def test_the_registration_is_made_once_and_reused(team, server, mastodon, alice):
    first = connect(team, server, mastodon, "alice")
    # From now on the server refuses registrations: a second connect must not need one.
    refuse = {"match": {"methods": ["POST"], "path": "/api/v1/apps"}, "effect": {"type": "status", "status": 500}}
    assert requests.post(f"{server.url}/api/v1/_mock/faults", json=refuse, timeout=TIMEOUT).ok
    assert requests.post(f"{server.url}/api/v1/apps", data={"client_name": "x"}, timeout=TIMEOUT).status_code == 500
    server.create_user("bob")
    second = connect(team, server, mastodon, "bob")
    assert InstanceApp.objects.filter(platform="mastodon").count() == 1
    assert first.pk != second.pk
    for account in (first, second):
        app = read(server, "/api/v1/apps/verify_credentials", account.state().secrets["access_token"])
        assert app["name"] == "Postwright"


def test_account_check_reads_the_profile_from_the_server(team, connected, server):
    token = connected.state().secrets["access_token"]
    renamed = api(server, "PATCH", "/api/v1/accounts/update_credentials", token, data={"display_name": "Alice Renamed"})
    assert renamed.status_code == 200
    account = services.account_check(actor=team.membership("editor"), account=connected)
    assert (account.display_name, account.username) == ("Alice Renamed", connected.username)
    assert account.status == SocialAccount.Status.ACTIVE
    assert account.last_checked_at is not None


def test_a_token_the_server_does_not_know_is_auth_and_asks_for_a_reconnect(team, connected, mastodon, server, alice):
    connected.secrets = {**connected.secrets, "access_token": "not-a-token-of-this-server"}
    connected.save()
    with pytest.raises(ProviderError) as caught:
        services.account_check(actor=team.membership("editor"), account=connected)
    assert (caught.value.error_class, caught.value.status) == (ErrorClass.AUTH, 401)
    assert caught.value.message == "This method requires an authenticated user"  # the server's words
    connected.refresh_from_db()
    assert connected.status == SocialAccount.Status.NEEDS_RECONNECT

    with pytest.raises(ProviderError) as caught:
        publish(
            mastodon, connected.state(), PublishRequest(main=ContentPart("never posted"), idempotency_key=new_key())
        )
    assert caught.value.error_class == ErrorClass.AUTH
    assert not caught.value.outcome_unknown
    assert statuses_of(server, alice) == []


def test_disconnect_revokes_the_token_at_the_server(team, connected, server):
    token = connected.state().secrets["access_token"]
    services.account_disconnect(actor=team.membership("admin"), account=connected)
    connected.refresh_from_db()
    assert (connected.status, connected.secrets) == (SocialAccount.Status.DISCONNECTED, {})
    assert api(server, "GET", "/api/v1/accounts/verify_credentials", token).status_code == 401


# --- Publishing ----------------------------------------------------------------------------------


def test_a_text_post_with_its_options_and_link(connected, mastodon, server, alice):
    request = PublishRequest(
        main=ContentPart("Hello from Postwright"),
        link="https://example.com/launch",
        options={"visibility": "unlisted", "spoiler_text": "launch news", "language": "en"},
        idempotency_key=new_key(),
    )
    result = publish(mastodon, connected.state(), request)
    [status] = statuses_of(server, alice)
    assert (status["id"], status["url"]) == (result.main.platform_post_id, result.main.url)
    assert "Hello from Postwright" in status["content"]
    assert "https://example.com/launch" in status["content"]  # the link goes in the text
    assert (status["visibility"], status["spoiler_text"], status["language"]) == ("unlisted", "launch news", "en")
    assert status["in_reply_to_id"] is None
    assert result.replies == ()


def test_an_image_with_alt_text(connected, mastodon, server, alice):
    png = tiny_png()
    request = PublishRequest(
        main=ContentPart("A blue dot", media=(image(png, alt="a small blue dot"),)), idempotency_key=new_key()
    )
    result = publish(mastodon, connected.state(), request)
    status = read(server, f"/api/v1/statuses/{result.main.platform_post_id}", alice["access_token"])
    [attachment] = status["media_attachments"]
    assert (attachment["type"], attachment["description"]) == ("image", "a small blue dot")
    assert attachment["url"].startswith(f"{server.url}/media/")
    stored = requests.get(attachment["url"], timeout=TIMEOUT)
    assert stored.content == png  # the bytes we uploaded are the bytes it serves


def test_a_thread_of_three_chains_each_reply_to_the_one_before(connected, mastodon, server, alice):
    request = PublishRequest(
        main=ContentPart("1/3 the start"),
        replies=(ContentPart("2/3 the middle"), ContentPart("3/3 the end")),
        idempotency_key=new_key(),
    )
    result = publish(mastodon, connected.state(), request)
    ids = [result.main.platform_post_id, *(reply.platform_post_id for reply in result.replies)]
    assert len(set(ids)) == 3
    held = [read(server, f"/api/v1/statuses/{status_id}", alice["access_token"]) for status_id in ids]
    assert [status["in_reply_to_id"] for status in held] == [None, ids[0], ids[1]]
    assert ["1/3" in held[0]["content"], "2/3" in held[1]["content"], "3/3" in held[2]["content"]] == [True] * 3
    context = read(server, f"/api/v1/statuses/{ids[0]}/context", alice["access_token"])
    assert [status["id"] for status in context["descendants"]] == ids[1:]


def test_publishing_the_same_target_twice_makes_each_status_once(connected, mastodon, server, alice):
    """The server honours Idempotency-Key per account: a retried target gets the statuses it
    already made, and each part of the thread carries a key of its own."""
    request = PublishRequest(
        main=ContentPart("Only once", media=(image(tiny_png(), alt="dot"),)),
        replies=(ContentPart("and its reply, once"),),
        first_comment=ContentPart("and a comment, once"),
        idempotency_key=new_key(),
    )
    first = publish(mastodon, connected.state(), request)
    again = publish(mastodon, connected.state(), request)
    assert again == first
    held = statuses_of(server, alice)
    assert [status["id"] for status in held] == [
        first.main.platform_post_id,
        first.replies[0].platform_post_id,
        first.first_comment.platform_post_id,
    ]
    assert held[2]["in_reply_to_id"] == first.main.platform_post_id  # the comment answers the main post

    other = publish(
        mastodon, connected.state(), PublishRequest(main=ContentPart("Only once"), idempotency_key=new_key())
    )
    assert other.main.platform_post_id not in {status["id"] for status in held}  # a new key is a new status


def test_reconcile_finds_the_status_that_landed_and_delete_removes_it(connected, mastodon, server, alice):
    state = connected.state()
    request = PublishRequest(
        main=ContentPart("Did this land? #postwright"), link="https://example.com/a", idempotency_key=new_key()
    )
    assert find_published(mastodon, state, request) is None  # nothing there yet
    publish(mastodon, state, PublishRequest(main=ContentPart("something else"), idempotency_key=new_key()))
    result = publish(mastodon, state, request)
    assert find_published(mastodon, state, request) == result.main

    delete(mastodon, state, result.main.platform_post_id)
    assert (
        api(server, "GET", f"/api/v1/statuses/{result.main.platform_post_id}", alice["access_token"]).status_code == 404
    )
    assert find_published(mastodon, state, request) is None
    delete(mastodon, state, result.main.platform_post_id)  # already gone: the goal is met
    assert [status["content"] for status in statuses_of(server, alice)] == ["<p>something else</p>"]


def test_metrics_are_the_counts_the_server_holds(connected, mastodon, server):
    state = connected.state()
    result = publish(mastodon, state, PublishRequest(main=ContentPart("count me"), idempotency_key=new_key()))
    gone = publish(mastodon, state, PublishRequest(main=ContentPart("deleted"), idempotency_key=new_key()))
    delete(mastodon, state, gone.main.platform_post_id)
    post_id = result.main.platform_post_id
    for name in ("bob", "carol"):
        fan = server.create_user(name)
        assert api(server, "POST", f"/api/v1/statuses/{post_id}/favourite", fan["access_token"]).ok
    dave = server.create_user("dave")
    assert api(server, "POST", f"/api/v1/statuses/{post_id}/reblog", dave["access_token"]).ok
    reply = {"status": "nice", "in_reply_to_id": post_id}
    assert api(server, "POST", "/api/v1/statuses", dave["access_token"], json=reply).ok

    metrics = mastodon.fetch_metrics(account=state, platform_post_ids=[post_id, gone.main.platform_post_id])
    assert set(metrics) == {post_id}  # a deleted status is left out
    counts = metrics[post_id]
    assert (counts.likes, counts.reposts, counts.replies, counts.impressions) == (2, 1, 1, None)


# --- The server's refusals -----------------------------------------------------------------------


def test_text_over_the_servers_limit_is_content_and_posts_nothing(connected, mastodon, server, alice):
    with pytest.raises(ProviderError) as caught:
        publish(mastodon, connected.state(), PublishRequest(main=ContentPart("x" * 501), idempotency_key=new_key()))
    assert (caught.value.error_class, caught.value.status) == (ErrorClass.CONTENT, 422)
    assert "too long" in caught.value.message
    assert not caught.value.outcome_unknown
    assert statuses_of(server, alice) == []


def test_deleting_another_accounts_status_is_refused(connected, mastodon, server):
    bob = server.create_user("bob")
    theirs = api(server, "POST", "/api/v1/statuses", bob["access_token"], json={"status": "bob's"}).json()["id"]
    with pytest.raises(ProviderError) as caught:
        delete(mastodon, connected.state(), theirs)
    assert (caught.value.error_class, caught.value.status) == (ErrorClass.CONTENT, 403)
    assert api(server, "GET", f"/api/v1/statuses/{theirs}", bob["access_token"]).status_code == 200


@pytest.mark.parametrize(
    ("effect", "expected", "retry_after"),
    [
        # The server's rate-limit fault sends Retry-After beside its reset header: Retry-After wins.
        ({"type": "ratelimit"}, ErrorClass.RATE, 300),
        ({"type": "status", "status": 503}, ErrorClass.TRANSIENT, None),
    ],
)
def test_a_refused_status_create_is_retryable_and_posts_nothing(
    connected, mastodon, server, alice, effect, expected, retry_after
):
    fault = {"match": {"methods": ["POST"], "path": "/api/v1/statuses"}, "effect": effect, "count": 1}
    assert requests.post(f"{server.url}/api/v1/_mock/faults", json=fault, timeout=TIMEOUT).ok
    request = PublishRequest(main=ContentPart("after the fault"), idempotency_key=new_key())
    with pytest.raises(ProviderError) as caught:
        publish(mastodon, connected.state(), request)
    assert (caught.value.error_class, caught.value.retry_after) == (expected, retry_after)
    assert not caught.value.outcome_unknown
    assert statuses_of(server, alice) == []
    publish(mastodon, connected.state(), request)  # the retry goes through
    assert len(statuses_of(server, alice)) == 1
