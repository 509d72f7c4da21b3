"""A small fake of LinkedIn's consent page and API on loopback, for browser journeys.

It answers in the shapes of ../shared/reference/platforms-other.md section 2 (the same ones
tests/connections/linkedin_api.py records): the consent page redirects back with a code and the
state; /oauth/v2/accessToken; /v2/userinfo; /rest/organizationAcls and the organizations'
batch lookup (names and vanity names); documents' initializeUpload, the upload URL (PUT), a
document's status (WAITING_UPLOAD before the bytes, PROCESSING on the first look after them,
then AVAILABLE: only then may a post use it);
/rest/posts answering 201 with the id only in x-restli-id, and the author's posts (for a
lost answer's look-up). Every /rest call must carry LinkedIn-Version and Rest.li 2.0.0, every
API call the token handed out. Anything else answers 404 and is listed in ``unexpected``.
"""

from __future__ import annotations

import html
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from tests.browser.loopback import RoutingHandler

CLIENT_ID, CLIENT_SECRET = "fake-li-client", "fake-li-secret"
CODE, ACCESS = "li-code-1", "AQV-fake-access"
SUB = "782bbtaQ"
MEMBER = f"urn:li:person:{SUB}"
ORG, ORG_2 = "urn:li:organization:5515715", "urn:li:organization:123"
ORG_NAMES = {ORG: ("Acme Coffee", "acme-coffee"), ORG_2: ("Acme Labs", "acme-labs")}
SCOPE = "email,openid,profile,w_member_social,r_organization_social,w_organization_social,rw_organization_admin"


@dataclass
class FakeLinkedIn:
    url: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)  # method, path with query
    unexpected: list[str] = field(default_factory=list)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # urn -> owner, upload path, bytes
    uploads: list[tuple[str, bytes]] = field(default_factory=list)  # document urn, bytes received
    posts: list[dict[str, Any]] = field(default_factory=list)  # bodies of /rest/posts, with "id" added
    counter: int = 0

    def next_id(self) -> int:
        self.counter += 1
        return self.counter


class _Handler(RoutingHandler):
    server: _Server

    def _route(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if parts.path == "/favicon.ico":  # the browser's own request while on the consent page
            return self._send(404, b"", "text/plain")
        fake.calls.append((method, self.path))
        query = dict(parse_qsl(parts.query))
        if parts.path == "/oauth/v2/authorization" and method == "GET":
            return self._consent(query)
        if parts.path == "/oauth/v2/accessToken" and method == "POST":
            return self._token(dict(parse_qsl(body.decode())))
        if self.headers.get("Authorization") != f"Bearer {ACCESS}":
            return self._error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", service=65600)
        if parts.path.startswith("/rest/") and (
            self.headers.get("LinkedIn-Version") is None or self.headers.get("X-Restli-Protocol-Version") != "2.0.0"
        ):
            return self._error(400, "VERSION_MISSING", "A version must be present. Please specify a version.")
        for route_method, pattern, handler in _ROUTES:
            match = re.fullmatch(pattern, parts.path)
            if route_method == method and match:
                return handler(self, fake, query, body, *match.groups())
        fake.unexpected.append(f"{method} {self.path}")
        return self._error(404, "NOT_FOUND", f"No virtual resource found for {parts.path}")

    # --- Answers --------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _error(self, status: int, code: str, message: str, *, service: int | None = None) -> None:
        error: dict[str, Any] = {"status": status, "code": code, "message": message}
        if service is not None:
            error["serviceErrorCode"] = service
        self._json(error, status=status)

    def _consent(self, query: dict[str, str]) -> None:
        back = html.escape(query.get("redirect_uri", ""))
        state = html.escape(query.get("state", ""))
        denied = urlencode({"error": "user_cancelled_authorize", "error_description": "The user cancelled the "
                            "authorization", "state": query.get("state", "")})  # fmt: skip
        scopes = html.escape(query.get("scope", "").replace(" ", ", "))
        body = (
            "<!doctype html><html lang='en'><title>LinkedIn</title>"
            "<h1>Postwright would like to post on your behalf</h1>"
            f"<p>Jane Doe, it asks for: {scopes}</p>"
            f"<form method='get' action='{back}'><input type='hidden' name='code' value='{CODE}'>"
            f"<input type='hidden' name='state' value='{state}'><button type='submit'>Allow</button></form>"
            f"<p><a href='{back}?{html.escape(denied)}'>Cancel</a></p></html>"
        ).encode()
        self._send(200, body, "text/html; charset=utf-8")

    def _token(self, form: dict[str, str]) -> None:
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return self._json({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        if form.get("grant_type") != "authorization_code" or form.get("code") != CODE:
            message = "Unable to retrieve access token: authorization code not found"
            return self._json({"error": "invalid_request", "error_description": message}, 400)
        self._json({"access_token": ACCESS, "expires_in": 5184000, "scope": SCOPE, "token_type": "Bearer",
                    "id_token": "eyJ.x.y"})  # fmt: skip


def _userinfo(handler: _Handler, fake: FakeLinkedIn, query: dict[str, str], body: bytes) -> None:
    handler._json({"sub": SUB, "name": "Jane Doe", "given_name": "Jane", "family_name": "Doe",
                   "picture": "https://media.licdn.com/jane.jpg", "email": "j@x.com", "email_verified": True,
                   "locale": {"country": "US", "language": "en"}})  # fmt: skip


def _acls(handler: _Handler, fake: FakeLinkedIn, query: dict[str, str], body: bytes) -> None:
    if query.get("q") != "roleAssignee":
        return handler._error(400, "ILLEGAL_ARGUMENT", "Invalid query parameter q")
    elements = [{"organization": org, "role": "ADMINISTRATOR", "state": "APPROVED", "roleAssignee": MEMBER}
                for org in (ORG, ORG_2)]  # fmt: skip
    handler._json({"elements": elements, "paging": {"start": 0, "count": 10}})


def _organizations(handler: _Handler, fake: FakeLinkedIn, query: dict[str, str], body: bytes) -> None:
    """GET /rest/organizations?ids=List(5515715,123): the batch lookup of names."""
    wanted = re.findall(r"\d+", query.get("ids", ""))
    results: dict[str, dict[str, Any]] = {}
    for number in wanted:
        if f"urn:li:organization:{number}" not in ORG_NAMES:
            continue
        name, vanity = ORG_NAMES[f"urn:li:organization:{number}"]
        results[number] = {"id": int(number), "localizedName": name, "vanityName": vanity,
                           "name": {"localized": {"en_US": name},
                                    "preferredLocale": {"country": "US", "language": "en"}},
                           "primaryOrganizationType": "NONE"}  # fmt: skip
    handler._json({"results": results, "statuses": {n: 200 for n in results}, "errors": {}})


def _initialize_document(handler: _Handler, fake: FakeLinkedIn, query: dict[str, str], body: bytes) -> None:
    if query.get("action") != "initializeUpload":
        return handler._error(400, "ILLEGAL_ARGUMENT", "Unknown action")
    owner = json.loads(body or b"{}").get("initializeUploadRequest", {}).get("owner", "")
    if owner not in (MEMBER, ORG, ORG_2):
        return handler._error(403, "ACCESS_DENIED", f"Not enough permissions to upload as {owner}")
    number = fake.next_id()
    urn = f"urn:li:document:D5F10AQH{number:04d}xQ"
    path = f"/dms-uploads/sp/document-{number}"
    fake.documents[urn] = {"owner": owner, "path": path, "data": None, "looks": 0}
    value = {"uploadUrlExpiresAt": 1893456000000, "uploadUrl": f"{fake.url}{path}", "document": urn}
    handler._json({"value": value})


def _upload(handler: _Handler, fake: FakeLinkedIn, query: dict[str, str], body: bytes, number: str) -> None:
    path = f"/dms-uploads/sp/document-{number}"
    urn = next((urn for urn, doc in fake.documents.items() if doc["path"] == path), None)
    if urn is None:
        return handler._error(404, "NOT_FOUND", "Unknown upload URL")
    fake.documents[urn]["data"] = body
    fake.uploads.append((urn, body))
    handler._send(201, b"", "text/plain")


def _document(handler: _Handler, fake: FakeLinkedIn, query: dict[str, str], body: bytes, urn: str) -> None:
    urn = unquote(urn)
    doc = fake.documents.get(urn)
    if doc is None:
        return handler._error(404, "NOT_FOUND", f"Document {urn} not found")
    if doc["data"]:
        doc["looks"] += 1  # LinkedIn processes a document for a while after its bytes arrive
    status = {0: "WAITING_UPLOAD", 1: "PROCESSING"}.get(doc["looks"], "AVAILABLE")
    handler._json({"id": urn, "owner": doc["owner"], "status": status,
                   "downloadUrl": f"https://media.licdn.com/dms/document/{urn[-8:]}"})  # fmt: skip


def _create_post(handler: _Handler, fake: FakeLinkedIn, query: dict[str, str], body: bytes) -> None:
    post = json.loads(body or b"{}")
    author = post.get("author")
    media = post.get("content", {}).get("media", {})
    doc = fake.documents.get(media.get("id", "")) if media else None
    if author not in (MEMBER, ORG, ORG_2):
        return handler._error(403, "ACCESS_DENIED", "Not enough permissions to post as this author")
    if media and (doc is None or doc["owner"] != author or doc["looks"] < 2):
        return handler._error(400, "INVALID_CONTENT", "The document is not available for this author")
    urn = f"urn:li:share:71234567890123{fake.next_id():05d}"
    fake.posts.append({**post, "id": urn})
    handler._send(201, b"", "application/json", {"x-restli-id": urn})


def _author_posts(handler: _Handler, fake: FakeLinkedIn, query: dict[str, str], body: bytes) -> None:
    if query.get("q") != "author":
        return handler._error(400, "ILLEGAL_ARGUMENT", "Invalid query parameter q")
    mine = [post for post in fake.posts if post.get("author") == query.get("author")]
    handler._json({"elements": mine, "paging": {"start": 0, "count": len(mine)}})


_ROUTES = (
    ("GET", r"/v2/userinfo", _userinfo),
    ("GET", r"/rest/organizationAcls", _acls),
    ("GET", r"/rest/organizations", _organizations),
    ("POST", r"/rest/documents", _initialize_document),
    ("PUT", r"/dms-uploads/sp/document-(\d+)", _upload),
    ("GET", r"/rest/documents/([^/]+)", _document),
    ("POST", r"/rest/posts", _create_post),
    ("GET", r"/rest/posts", _author_posts),
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeLinkedIn) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


def start() -> tuple[FakeLinkedIn, _Server]:
    fake = FakeLinkedIn()
    server = _Server(fake)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server
