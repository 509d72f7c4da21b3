"""Proof that both peer servers start and behave as the tests expect. Not a pytest module.

Run from the repository root:  .venv/bin/python tests/peers/smoke_check.py
Exits 0 when every check passed, 1 at the first that failed (with what was seen).
"""

import base64
import hashlib
import json
import secrets
import struct
import sys
import time
import zlib
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

if __package__ in (None, ""):  # run as a file: make `tests.peers` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.peers.servers import OidcPeer, PdsPeer, start_oidc, start_pds

REDIRECT_URI = "http://127.0.0.1:8000/connections/callback/oauth2-test/"
TIMEOUT = 10


class CheckFailed(AssertionError):
    pass


def check(condition: object, message: str, seen: object = None) -> None:
    if not condition:
        raise CheckFailed(f"{message}; seen: {seen!r}" if seen is not None else message)


def step(message: str) -> None:
    print(f"  ok  {message}", flush=True)


def rss_mb(peer) -> float:
    """Resident memory of the Node process, from /proc (Linux)."""
    for line in Path(f"/proc/{peer.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)  # 2x2, 8-bit RGB
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2 + b"\x00" + b"\x00\x00\xff" * 2)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jwt_claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- Bluesky PDS ---------------------------------------------------------------------------------


def xrpc(pds: PdsPeer, nsid: str, *, token="", body=None, params=None, data=None, headers=None, post=False):
    headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    method = "POST" if post or body is not None or data is not None else "GET"
    return requests.request(
        method, f"{pds.url}/xrpc/{nsid}", json=body, params=params, data=data, headers=headers, timeout=TIMEOUT
    )


def ok(response: requests.Response, what: str) -> dict:
    check(response.ok, f"{what} answered {response.status_code}", response.text[:500])
    return response.json() if response.content else {}


def smoke_pds(pds: PdsPeer) -> None:
    print(f"PDS at {pds.url} (PLC at {pds.plc_url})")
    handle, password = "alice.test", secrets.token_hex(12)
    account = ok(
        xrpc(pds, "com.atproto.server.createAccount",
             body={"email": "alice@example.test", "handle": handle, "password": password}),
        "createAccount",
    )  # fmt: skip
    did = account["did"]
    check(did.startswith("did:plc:") and account["handle"] == handle, "createAccount returned a did:plc", account)
    step(f"createAccount {handle} -> {did}")

    app_password = ok(
        xrpc(pds, "com.atproto.server.createAppPassword", token=account["accessJwt"], body={"name": "smoke"}),
        "createAppPassword",
    )["password"]
    check(len(app_password) == 19 and app_password.count("-") == 3, "app password looks like xxxx-xxxx-xxxx-xxxx")
    step("createAppPassword")

    wrong = xrpc(pds, "com.atproto.server.createSession", body={"identifier": handle, "password": "wrong"})
    check(wrong.status_code == 401, "a wrong password answers 401", wrong.status_code)
    session = ok(
        xrpc(pds, "com.atproto.server.createSession", body={"identifier": handle, "password": app_password}),
        "createSession with the app password",
    )
    check(session["did"] == did, "the app-password session is the account's", session)
    step("createSession with the app password (a wrong password answers 401)")

    # refreshSession takes no body at all: even `{}` answers 400 InvalidRequest.
    refreshed = ok(xrpc(pds, "com.atproto.server.refreshSession", token=session["refreshJwt"], post=True), "refresh")
    check(refreshed["refreshJwt"] != session["refreshJwt"], "refreshSession issued a new refresh token")
    access = refreshed["accessJwt"]
    # Unlike oidc-provider, the PDS keeps a rotated-away refresh JWT usable for a 2 h grace period,
    # and a reuse yields the same next refresh token id (jti): retrying a refresh is safe.
    reused = ok(xrpc(pds, "com.atproto.server.refreshSession", token=session["refreshJwt"], post=True), "reuse")
    check(jwt_claims(reused["refreshJwt"])["jti"] == jwt_claims(refreshed["refreshJwt"])["jti"], "same next jti")
    bad = xrpc(pds, "com.atproto.server.getSession", token="not-a-jwt")
    check(bad.status_code == 400 and bad.json().get("error") == "InvalidToken", "bad token: 400 InvalidToken", bad.text)
    step("refreshSession rotates the refresh JWT, the old one works for a grace period; bad token: 400 InvalidToken")

    png = tiny_png()
    blob = ok(
        xrpc(pds, "com.atproto.repo.uploadBlob", token=access, data=png, headers={"Content-Type": "image/png"}),
        "uploadBlob",
    )["blob"]
    check(blob["mimeType"] == "image/png" and blob["size"] == len(png), "uploadBlob kept type and size", blob)
    step(f"uploadBlob {len(png)} bytes -> {blob['ref']['$link']}")

    text = "Hello from Postwright's smoke check 👋"
    record = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "embed": {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": "two red, two blue pixels"}]},
    }
    created = ok(
        xrpc(pds, "com.atproto.repo.createRecord", token=access,
             body={"repo": did, "collection": "app.bsky.feed.post", "record": record}),
        "createRecord",
    )  # fmt: skip
    check(created.get("validationStatus") == "valid", "the post passed the lexicon validation", created)
    rkey = created["uri"].rsplit("/", 1)[1]
    step(f"createRecord app.bsky.feed.post -> {created['uri']} (validationStatus valid)")

    params = {"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey}
    got = ok(xrpc(pds, "com.atproto.repo.getRecord", params=params), "getRecord")
    check(got["value"]["text"] == text and got["cid"] == created["cid"], "getRecord returns the post", got)
    fetched = xrpc(pds, "com.atproto.sync.getBlob", params={"did": did, "cid": blob["ref"]["$link"]})
    check(fetched.ok and fetched.content == png, "sync.getBlob returns the uploaded bytes", fetched.status_code)
    step("getRecord and sync.getBlob read back what was written")

    ok(xrpc(pds, "com.atproto.repo.deleteRecord", token=access, body={"repo": did, **params}), "deleteRecord")
    gone = xrpc(pds, "com.atproto.repo.getRecord", params=params)
    check(gone.status_code == 400 and gone.json().get("error") == "RecordNotFound", "deleted post is gone", gone.text)
    step("deleteRecord (getRecord then answers 400 RecordNotFound)")


# --- OAuth 2.0 / OpenID Connect -----------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(oidc: OidcPeer, **params) -> tuple[dict[str, str], str, int]:
    """Follow the redirect chain as a browser would, until it comes back to the redirect URI.

    Returns the callback's query parameters, the PKCE verifier, and how many hops it took.
    """
    verifier, challenge = pkce_pair()
    query = {
        "client_id": oidc.client_id, "redirect_uri": REDIRECT_URI, "response_type": "code",
        "state": secrets.token_urlsafe(12), "code_challenge": challenge, "code_challenge_method": "S256", **params,
    }  # fmt: skip
    browser = requests.Session()  # keeps the provider's session cookies between hops
    url = f"{oidc.authorization_endpoint}?{urlencode(query)}"
    for hop in range(1, 11):
        response = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
        check(response.status_code in (302, 303), f"hop {hop} to {url} redirects", response.text[:300])
        url = urljoin(url, response.headers["Location"])
        if url.startswith(REDIRECT_URI):
            result = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
            check(result.get("state") == query["state"], "the state comes back unchanged", result)
            return result, verifier, hop
    raise CheckFailed("no redirect back to the redirect URI within 10 hops")


def token(oidc: OidcPeer, **form) -> requests.Response:
    form = {"client_id": oidc.client_id, "client_secret": oidc.client_secret, **form}
    return requests.post(oidc.token_endpoint, data=form, timeout=TIMEOUT)


def exchange(oidc: OidcPeer, code: str, verifier: str) -> requests.Response:
    return token(oidc, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI, code_verifier=verifier)


def refresh(oidc: OidcPeer, refresh_token: str) -> requests.Response:
    return token(oidc, grant_type="refresh_token", refresh_token=refresh_token)


def expect_invalid_grant(response: requests.Response, what: str) -> None:
    check(
        response.status_code == 400 and response.json().get("error") == "invalid_grant",
        f"{what} fails with invalid_grant", f"{response.status_code} {response.text[:300]}",
    )  # fmt: skip


def userinfo(oidc: OidcPeer, access_token: str) -> requests.Response:
    return requests.get(oidc.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT)


FULL_SCOPE = "openid offline_access profile email post:write post:read"


def login(oidc: OidcPeer, scope: str = FULL_SCOPE, **params) -> dict:
    result, verifier, _hops = authorize(oidc, scope=scope, prompt="consent", **params)
    check("code" in result, "the authorization returned a code", result)
    return ok(exchange(oidc, result["code"], verifier), "code exchange")


def smoke_oidc(oidc: OidcPeer) -> None:
    print(f"oidc-provider at {oidc.url}")
    endpoints = {
        "authorization": oidc.authorization_endpoint, "token": oidc.token_endpoint,
        "revocation": oidc.revocation_endpoint, "userinfo": oidc.userinfo_endpoint,
    }  # fmt: skip
    check(all(url.startswith(oidc.url + "/") for url in endpoints.values()), "endpoints under the issuer", endpoints)
    step("discovery: " + ", ".join(f"{name} {urlsplit(url).path}" for name, url in endpoints.items()))

    # The full flow: authorize with PKCE, exchange, userinfo, refresh with rotation, revoke.
    result, verifier, hops = authorize(oidc, scope=FULL_SCOPE, prompt="consent", nonce=secrets.token_urlsafe(8))
    check("code" in result and result.get("iss") == oidc.issuer, "a code, and the issuer (RFC 9207)", result)
    step(f"authorization code after {hops} redirects, state and iss returned")
    wrong = token(oidc, grant_type="authorization_code", code=result["code"], redirect_uri=REDIRECT_URI,
                  code_verifier=verifier, client_secret="wrong")  # fmt: skip
    check(wrong.status_code == 401 and wrong.json()["error"] == "invalid_client", "wrong secret: 401", wrong.text)
    tokens = ok(exchange(oidc, result["code"], verifier), "code exchange")
    granted = set(tokens["scope"].split())
    check(granted == set(FULL_SCOPE.split()), "every requested scope, custom ones included, is granted", tokens)
    check(tokens["token_type"] == "Bearer" and tokens.get("refresh_token") and tokens.get("id_token"), "tokens", tokens)
    step(f"code exchanged with client_secret_post (scope {tokens['scope']!r}; a wrong secret answers 401)")

    claims = ok(userinfo(oidc, tokens["access_token"]), "userinfo")
    expected = {"sub": "test-user", "name": "Test User", "email": "test-user@example.test"}
    check(expected.items() <= claims.items() and claims.get("picture"), "userinfo claims", claims)
    step(f"userinfo: {claims}")

    first_refresh = tokens["refresh_token"]
    rotated = ok(refresh(oidc, first_refresh), "refresh")
    check(rotated["refresh_token"] != first_refresh, "the refresh token rotated", rotated)
    check(rotated["access_token"] != tokens["access_token"], "a new access token", rotated)
    ok(userinfo(oidc, rotated["access_token"]), "userinfo with the refreshed access token")
    step("refresh_token grant: new access token, rotated refresh token")

    revoked = requests.post(
        oidc.revocation_endpoint, timeout=TIMEOUT,
        data={"token": rotated["refresh_token"], "token_type_hint": "refresh_token",
              "client_id": oidc.client_id, "client_secret": oidc.client_secret},
    )  # fmt: skip
    check(revoked.status_code == 200, "revocation answers 200", f"{revoked.status_code} {revoked.text}")
    expect_invalid_grant(refresh(oidc, rotated["refresh_token"]), "the revoked refresh token")
    expect_invalid_grant(refresh(oidc, first_refresh), "the old, rotated-away refresh token")
    after = userinfo(oidc, rotated["access_token"])
    check(after.status_code == 401, "revoking the refresh token revoked the access token too", after.status_code)
    step("revocation: the refresh token, the old one and the grant's access token are all dead")

    # Reusing a rotated-away refresh token is treated as theft: the whole grant is revoked.
    tokens = login(oidc)
    rotated = ok(refresh(oidc, tokens["refresh_token"]), "refresh")
    expect_invalid_grant(refresh(oidc, tokens["refresh_token"]), "reusing the old refresh token")
    expect_invalid_grant(refresh(oidc, rotated["refresh_token"]), "the new refresh token after that reuse")
    step("old refresh token reused -> invalid_grant, and the new one is revoked with the grant")

    # A replayed authorization code fails, and revokes what the first exchange issued.
    result, verifier, _ = authorize(oidc, scope=FULL_SCOPE, prompt="consent")
    tokens = ok(exchange(oidc, result["code"], verifier), "code exchange")
    expect_invalid_grant(exchange(oidc, result["code"], verifier), "a replayed code")
    check(userinfo(oidc, tokens["access_token"]).status_code == 401, "the replay revoked the first access token")
    step("replayed code -> invalid_grant, and the tokens from the first exchange are revoked")

    # The user says no (login_hint=deny): the client receives error=access_denied with its state.
    result, _, _ = authorize(oidc, scope=FULL_SCOPE, login_hint="deny")
    check(result.get("error") == "access_denied" and "code" not in result, "login_hint=deny -> access_denied", result)
    step(f"login_hint=deny -> error=access_denied ({result.get('error_description')!r})")

    # Behaviours worth knowing (documented in README.md).
    result, verifier, _ = authorize(oidc, scope=FULL_SCOPE)  # no prompt=consent
    no_prompt = ok(exchange(oidc, result["code"], verifier), "code exchange")
    check("refresh_token" not in no_prompt and "offline_access" not in no_prompt["scope"],
          "without prompt=consent, offline_access is dropped", no_prompt)  # fmt: skip
    step("offline_access without prompt=consent: silently dropped, no refresh token")

    oauth_only = login(oidc, scope="offline_access post:write unknown:scope")
    check(set(oauth_only["scope"].split()) == {"offline_access", "post:write"} and "id_token" not in oauth_only,
          "a plain OAuth request (no openid)", oauth_only)  # fmt: skip
    check(oauth_only.get("refresh_token"), "plain OAuth with offline_access + prompt=consent gets a refresh token")
    step("without openid: no id_token, refresh token still issued, unknown scopes dropped")

    hinted = login(oidc, scope="openid profile", login_hint="bob")
    check(ok(userinfo(oidc, hinted["access_token"]), "userinfo")["sub"] == "bob", "login_hint picks the account")
    step("login_hint=bob logs in as account 'bob'")

    no_pkce = {"client_id": oidc.client_id, "redirect_uri": REDIRECT_URI, "response_type": "code", "scope": "openid"}
    response = requests.get(oidc.authorization_endpoint, params=no_pkce, allow_redirects=False, timeout=TIMEOUT)
    location = parse_qs(urlsplit(response.headers.get("Location", "")).query)
    check(location.get("error") == ["invalid_request"], "no code_challenge -> invalid_request", location)
    step(f"no PKCE -> redirect with error=invalid_request ({location.get('error_description', [''])[0]!r})")


def main() -> int:
    started = time.monotonic()
    try:
        with start_pds() as pds, start_oidc(redirect_uris=[REDIRECT_URI]) as oidc:
            print(f"both peers up in {time.monotonic() - started:.1f} s "
                  f"(RSS: PDS+PLC {rss_mb(pds):.0f} MB, oidc-provider {rss_mb(oidc):.0f} MB)")  # fmt: skip
            smoke_pds(pds)
            smoke_oidc(oidc)
            print(f"after the checks: RSS PDS+PLC {rss_mb(pds):.0f} MB, oidc-provider {rss_mb(oidc):.0f} MB")
            stopping = time.monotonic()
            codes = pds.stop(), oidc.stop()
            check(codes == (0, 0), "both exit 0 on SIGTERM", codes)
            print(f"both stopped cleanly in {time.monotonic() - stopping:.1f} s")
    except CheckFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"smoke check passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
