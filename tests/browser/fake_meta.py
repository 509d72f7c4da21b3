"""A small fake of Facebook's consent dialog and Graph API on loopback, for browser journeys.

It answers in the shapes of ../shared/reference/platforms-meta.md (sections 2 and 3): the
dialog redirects back with a code and the state, the code and long-lived exchanges, debug_token,
/me/permissions, /me/accounts with two Pages (one the user may not publish on) and the
Instagram account linked to the first; Page photos (fetched from the app's signed URL, as Meta
does), multi-photo feed posts, comments; Instagram containers, their status, the publishing
quota and media_publish. Anything else answers Graph error 100, and is listed in ``unexpected``.
"""

from __future__ import annotations

import html
import json
import re
import threading
import urllib.request
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.browser.loopback import RoutingHandler

VERSION = "v25.0"
APP_ID, APP_SECRET = "fake-app-1", "fake-secret-1"
CODE, SHORT, LONG = "code-abc", "EAAshort", "EAAlong"
USER_ID = "10000123456789"
PAGE_ID, PAGE_TOKEN = "1234567890", "EAABpage1"
PAGE_2_ID, PAGE_2_TOKEN = "2345678901", "EAABpage2"
IG_ID = "17841405822304914"
APP_USAGE = json.dumps({"call_count": 12, "total_time": 8, "total_cputime": 6})


@dataclass
class FakeMeta:
    url: str = ""
    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    fetched: list[tuple[str, int, str]] = field(default_factory=list)  # media url, status, type
    containers: dict[str, dict[str, str]] = field(default_factory=dict)
    published: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: int = 100

    def next_id(self) -> str:
        self.counter += 1
        return str(17_900_000_000_000_000 + self.counter)

    def posted(self, path: str) -> list[dict[str, str]]:
        return [fields for method, called, fields in self.calls if method == "POST" and called == path]


def _pages() -> list[dict[str, Any]]:
    return [
        {
            "access_token": PAGE_TOKEN,
            "category": "Cafe",
            "category_list": [{"id": "128673187201735", "name": "Cafe"}],
            "name": "Kitten Café",
            "id": PAGE_ID,
            "username": "kittencafe",
            "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
            "instagram_business_account": {"id": IG_ID, "username": "kittencafe", "name": "Kitten Café"},
        },
        {
            "access_token": PAGE_2_TOKEN,
            "category": "Community",
            "name": "Puppy Club",
            "id": PAGE_2_ID,
            "tasks": ["ANALYZE", "MODERATE"],
        },
    ]


class _Handler(RoutingHandler):
    server: _Server

    def _route(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        if parts.path == "/favicon.ico":  # the browser's own request while on the dialog
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        fields = dict(parse_qsl(parts.query))
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            fields.update(parse_qsl(self.rfile.read(length).decode()))
        path = parts.path.removeprefix(f"/{VERSION}/")
        fake.calls.append((method, path, fields))
        if path == "dialog/oauth":
            return self._dialog(fields)
        if (
            path != "oauth/access_token"
            and path != "debug_token"
            and fields.get("access_token")
            not in (
                LONG,
                PAGE_TOKEN,
            )
        ):
            return self._error(190, "Invalid OAuth access token.", status=400)
        handler = _ROUTES.get((method, _shape(path)))
        if handler is None:
            fake.unexpected.append(f"{method} {path}")
            return self._error(100, f"Unsupported {method} request.")
        answer = handler(fake, path, fields)
        if isinstance(answer, tuple):
            return self._error(*answer)
        self._json(answer)

    def _dialog(self, fields: dict[str, str]) -> None:
        back = fields.get("redirect_uri", "")
        allowed = urlencode({"code": CODE, "state": fields.get("state", "")})
        denied = urlencode(
            {
                "error": "access_denied",
                "error_reason": "user_denied",
                "error_description": "Permissions error",
                "state": fields.get("state", ""),
            }
        )
        scopes = html.escape(fields.get("scope", "").replace(",", ", "))
        body = (
            "<!doctype html><title>Log in with Facebook</title><h1>Postwright is asking to manage your Pages</h1>"
            f"<p>It asks for: {scopes}</p>"
            f'<p><a href="{html.escape(back)}?{allowed}">Continue as Ada</a> '
            f'<a href="{html.escape(back)}?{denied}">Cancel</a></p>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-app-usage", APP_USAGE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: int, message: str, subcode: int | None = None, status: int = 400) -> None:
        error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
        if subcode:
            error["error_subcode"] = subcode
        self._json({"error": error}, status=status)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeMeta) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


# --- The Graph's answers ------------------------------------------------------------------------


def _shape(path: str) -> str:
    """A path with its ids replaced, so one route serves every object of a kind."""
    return re.sub(r"\b\d{6,}(_\d+)?\b", "{id}", path)


def _token(fake: FakeMeta, path: str, fields: dict[str, str]) -> Any:
    if fields.get("client_id") != APP_ID or fields.get("client_secret") != APP_SECRET:
        return (101, "Error validating application.")
    if fields.get("grant_type") == "fb_exchange_token":
        if fields.get("fb_exchange_token") != SHORT:
            return (190, "Invalid OAuth access token.")
        return {"access_token": LONG, "token_type": "bearer", "expires_in": 5183944}
    if fields.get("code") != CODE:
        return (100, "This authorization code has been used.", 36009)
    return {"access_token": SHORT, "token_type": "bearer", "expires_in": 5183944}


def _debug_token(fake: FakeMeta, path: str, fields: dict[str, str]) -> Any:
    return {
        "data": {
            "app_id": APP_ID,
            "type": "USER",
            "user_id": USER_ID,
            "is_valid": True,
            "expires_at": 1893456000,
            "data_access_expires_at": 1893456000,
            "scopes": ["pages_show_list", "pages_manage_posts", "instagram_content_publish"],
        }
    }


def _permissions(fake: FakeMeta, path: str, fields: dict[str, str]) -> Any:
    granted = (
        "pages_show_list",
        "pages_read_engagement",
        "pages_manage_posts",
        "pages_manage_engagement",
        "instagram_basic",
        "instagram_content_publish",
        "instagram_manage_comments",
        "business_management",
    )
    return {"data": [{"permission": name, "status": "granted"} for name in granted]}


def _accounts(fake: FakeMeta, path: str, fields: dict[str, str]) -> Any:
    return {"data": _pages(), "paging": {"cursors": {"before": "MTM0", "after": "MTM1"}}}


def _fetch(fake: FakeMeta, url: str) -> str:
    """Meta downloads each image from the URL it is given; so does the fake."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback in tests)
            response.read()
            fake.fetched.append((url, response.status, response.headers.get_content_type()))
            return response.headers.get_content_type()
    except OSError as exc:
        fake.fetched.append((url, 0, str(exc)))
        return ""


def _page_photo(fake: FakeMeta, path: str, fields: dict[str, str]) -> Any:
    if not _fetch(fake, fields.get("url", "")).startswith("image/"):
        return (100, "Invalid parameter: the image could not be downloaded.", 1366046)
    photo_id = fake.next_id()
    if fields.get("published") == "false":
        return {"id": photo_id}
    post_id = f"{path.split('/')[0]}_{fake.next_id()}"
    fake.published[post_id] = {"message": fields.get("message", ""), "photos": [photo_id]}
    return {"id": photo_id, "post_id": post_id}


def _page_feed(fake: FakeMeta, path: str, fields: dict[str, str]) -> Any:
    page = path.split("/")[0]
    attached = [json.loads(value)["media_fbid"] for key, value in sorted(fields.items()) if key.startswith("attached")]
    post_id = f"{page}_{fake.next_id()}"
    fake.published[post_id] = {"message": fields.get("message", ""), "photos": attached}
    return {"id": post_id, "permalink_url": f"https://www.facebook.com/{page}/posts/{post_id.split('_')[1]}"}


def _comment(fake: FakeMeta, path: str, fields: dict[str, str]) -> Any:
    parent = path.split("/")[0]
    comment_id = f"{parent.split('_')[-1]}_{fake.next_id()}"
    fake.published[comment_id] = {"message": fields.get("message", ""), "on": parent}
    return {"id": comment_id, "permalink_url": f"https://www.facebook.com/{parent}?comment_id={comment_id}"}


def _ig_media(fake: FakeMeta, path: str, fields: dict[str, str]) -> Any:
    container = fake.next_id()
    if fields.get("media_type") == "CAROUSEL":
        children = fields.get("children", "").split(",")
        ready = all(fake.containers.get(child, {}).get("status") == "FINISHED" for child in children)
        if not 2 <= len(children) <= 10 or not ready:
            return (100, "The carousel's children are not ready.", 2207028)
    elif _fetch(fake, fields.get("image_url", "")) != "image/jpeg":
        return (36001, "Only JPEG images are supported.", 2207005)
    fake.containers[container] = {**fields, "status": "FINISHED"}
    return {"id": container}


def _ig_limit(fake: FakeMeta, path: str, fields: dict[str, str]) -> Any:
    return {"data": [{"quota_usage": 3, "config": {"quota_total": 50, "quota_duration": 86400}}]}


def _ig_publish(fake: FakeMeta, path: str, fields: dict[str, str]) -> Any:
    container = fake.containers.get(fields.get("creation_id", ""))
    if container is None or container["status"] != "FINISHED":
        return (9007, "The media is not ready for publishing.", 2207027)
    container["status"] = "PUBLISHED"
    media_id = fake.next_id()
    fake.published[media_id] = {"caption": container.get("caption", ""), "children": container.get("children", "")}
    return {"id": media_id}


def _object(fake: FakeMeta, path: str, fields: dict[str, str]) -> Any:
    """A container's status, or a published media's permalink."""
    if path in fake.containers:
        status = fake.containers[path]["status"]
        return {"id": path, "status_code": status, "status": f"{status.title()}: Media is ready to be published."}
    if path in fake.published:
        return {"id": path, "permalink": f"https://www.instagram.com/p/Fk{path[-6:]}/"}
    return (100, "Unsupported get request. Object does not exist.", 33)


_ROUTES = {
    ("GET", "oauth/access_token"): _token,
    ("GET", "debug_token"): _debug_token,
    ("GET", "me/permissions"): _permissions,
    ("GET", "me/accounts"): _accounts,
    ("POST", "{id}/photos"): _page_photo,
    ("POST", "{id}/feed"): _page_feed,
    ("POST", "{id}/comments"): _comment,
    ("POST", "{id}/media"): _ig_media,
    ("GET", "{id}/content_publishing_limit"): _ig_limit,
    ("POST", "{id}/media_publish"): _ig_publish,
    ("GET", "{id}"): _object,
}


def start() -> tuple[FakeMeta, _Server]:
    fake = FakeMeta()
    server = _Server(fake)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server
