"""Recorded Graph API answers for Facebook Pages and Instagram, in the shapes of
../shared/reference/platforms-meta.md (ids are strings, Page post ids ``{page}_{post}``), and a
small in-memory Graph that serves the contract's thread scenarios."""

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

from connections.providers.base import AccountState
from connections.providers.meta.graph import appsecret_proof
from tests.connections.contract import LOST, Lost, Refused, ThreadPlatform

V = "v25.0"
GRAPH = f"https://graph.facebook.com/{V}"
APP_SECRET = "secret-456"
USER_SHORT = "EAAshort"
USER_LONG = "EAAlonglived"
PAGE_ID = "1234567890"
PAGE_TOKEN = "EAABpage1"
PAGE_2_ID = "2345678901"
PAGE_2_TOKEN = "EAABpage2"
IG_ID = "17841405822304914"
META_USER_ID = "10000123456789"  # the app-scoped id debug_token names and Meta's callbacks carry
NOW_GRAPH = "2026-12-01T12:00:00+0000"


def graph_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime())


def error(code: int, subcode: int | None = None, message: str = "An error", user_msg: str = "", **extra: Any) -> dict:
    body: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "EJplcsCHuLu"}
    if subcode:
        body["error_subcode"] = subcode
    if user_msg:
        body["error_user_title"], body["error_user_msg"] = "A title", user_msg
    return {"error": {**body, **extra}}


def form(call) -> dict[str, str]:
    """A form POST's fields (or a GET's query), one value each."""
    body = call.request.body or ""
    source = body if isinstance(body, str) and body else (body.decode() if isinstance(body, bytes) else "")
    if not source:
        source = urlsplit(call.request.url).query
    return {key: values[0] for key, values in parse_qs(source).items()}


def page_account(**extra: Any) -> AccountState:
    return AccountState(
        external_id=PAGE_ID,
        username="cutekitten",
        secrets={
            "access_token": PAGE_TOKEN,
            "appsecret_proof": appsecret_proof(APP_SECRET, PAGE_TOKEN),
            "user_access_token": USER_LONG,
        },
        extra={"tasks": ["CREATE_CONTENT", "MANAGE"], "page_id": PAGE_ID, **extra},
    )


def ig_account(**extra: Any) -> AccountState:
    return AccountState(
        external_id=IG_ID,
        username="@kitten",
        secrets={"access_token": PAGE_TOKEN, "appsecret_proof": appsecret_proof(APP_SECRET, PAGE_TOKEN)},
        extra={"page_id": PAGE_ID, "page_name": "Cute Kitten Page", **extra},
    )


def mock_consent(*, permissions: dict[str, str] | None = None, pages: list[dict] | None = None) -> None:
    """Code exchange, long-lived exchange, debug_token, /me/permissions and a paged /me/accounts."""
    token_url = f"{GRAPH}/oauth/access_token"
    responses.add(
        responses.GET,
        token_url,
        json={"access_token": USER_LONG, "token_type": "bearer", "expires_in": 5183944},
        match=[responses.matchers.query_param_matcher({"grant_type": "fb_exchange_token"}, strict_match=False)],
    )
    responses.add(
        responses.GET, token_url, json={"access_token": USER_SHORT, "token_type": "bearer", "expires_in": 5183944}
    )
    responses.add(
        responses.GET,
        f"{GRAPH}/debug_token",
        json={
            "data": {
                "app_id": "client-123",
                "user_id": META_USER_ID,
                "is_valid": True,
                "expires_at": 1785000000,
                "data_access_expires_at": 1790000000,
                "scopes": ["pages_show_list", "pages_manage_posts"],
            }
        },
    )
    granted = permissions or {
        "pages_show_list": "granted",
        "pages_read_engagement": "granted",
        "pages_manage_posts": "granted",
        "pages_manage_engagement": "granted",
        "instagram_basic": "granted",
        "instagram_content_publish": "granted",
        "instagram_manage_comments": "granted",
        "read_insights": "declined",
    }
    responses.add(
        responses.GET,
        f"{GRAPH}/me/permissions",
        json={"data": [{"permission": k, "status": v} for k, v in granted.items()]},
    )
    first, *rest = pages if pages is not None else two_pages_one_instagram()
    after = f"{GRAPH}/me/accounts?after=MTM1&access_token={USER_LONG}"
    responses.add(
        responses.GET,
        f"{GRAPH}/me/accounts",
        json={
            "data": [first],
            "paging": {"cursors": {"before": "MTM0", "after": "MTM1"}, **({"next": after} if rest else {})},
        },
        match=[responses.matchers.query_param_matcher({"limit": "100"}, strict_match=False)],
    )
    if rest:
        responses.add(
            responses.GET,
            f"{GRAPH}/me/accounts",
            json={"data": rest, "paging": {"cursors": {}}},
            match=[responses.matchers.query_param_matcher({"after": "MTM1"}, strict_match=False)],
        )


def two_pages_one_instagram() -> list[dict]:
    return [
        {
            "access_token": PAGE_TOKEN,
            "category": "Brand",
            "category_list": [{"id": "1605186416478696", "name": "Brand"}],
            "name": "Cute Kitten Page",
            "id": PAGE_ID,
            "username": "cutekitten",
            "picture": {"data": {"url": "https://scontent.example/kitten.jpg"}},
            "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
            "instagram_business_account": {"id": IG_ID, "username": "kitten", "name": "Kitten"},
        },
        {
            "access_token": PAGE_2_TOKEN,
            "category": "Brand",
            "name": "Puppy Page",
            "id": PAGE_2_ID,
            "tasks": ["CREATE_CONTENT"],
        },
    ]


def container_status(container: str, *codes: str) -> None:
    """The container's status_code over successive polls (the last one repeats)."""
    for code in codes:
        words = {
            "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
            "ERROR": "Error: Media upload has failed with error code 2207026",
            "IN_PROGRESS": "In Progress",
            "EXPIRED": "Expired",
            "PUBLISHED": "Published",
        }[code]
        responses.add(
            responses.GET,
            f"{GRAPH}/{container}",
            json={"id": container, "status_code": code, "status": words},
            match=[_fields("status_code,status")],
        )


def _fields(value: str):
    return responses.matchers.query_param_matcher({"fields": value}, strict_match=False)


# --- The thread scenarios' Graph -------------------------------------------------------------------


class ThreadGraph:
    """Pages' feed and comments (and Instagram's media and comments) over a ThreadPlatform."""

    def __init__(self, platform: ThreadPlatform, *, owner: str, author_name: str, base: str = GRAPH) -> None:
        self.platform, self.owner, self.author_name, self.base = platform, owner, author_name, base

    def create(self, text: str, parent: str | None, id_: str | None = None):
        try:
            post = self.platform.create(text=text, parent=parent, id_=id_)
        except Refused as exc:
            return 400, {}, json.dumps(error(100, message=f"Invalid parameter: {exc}", user_msg=str(exc)))
        except Lost:
            raise LOST from None
        return 200, {}, json.dumps({"id": post["id"], "permalink_url": f"https://www.facebook.com/{post['id']}"})

    def comment(self, request):
        parent = re.search(r"/([\w]+)/(?:comments|replies)$", urlsplit(request.url).path)[1]
        return self.create(parse_qs(request.body)["message"][0], parent)

    def listed(self, parent: str | None, *, ig: bool):
        def as_item(post: dict) -> dict:
            text_key, time_key = ("text", "timestamp") if ig else ("message", "created_time")
            who = {"username": self.author_name} if ig else {"from": {"id": self.owner, "name": "Page"}}
            extra = {"caption": post["text"]} if ig else {}
            return {
                "id": post["id"],
                text_key: post["text"],
                time_key: graph_now(),
                **who,
                **extra,
                "permalink_url": f"https://www.facebook.com/{post['id']}",
                "permalink": f"https://www.instagram.com/p/{post['id']}/",
            }

        posts = [p for p in reversed(self.platform.posts) if p["parent"] == parent]
        return 200, {}, json.dumps({"data": [as_item(p) for p in posts], "paging": {"cursors": {}}})

    def comments_of(self, request, *, ig: bool):
        parent = re.search(r"/([\w]+)/(?:comments|replies)$", urlsplit(request.url).path)[1]
        return self.listed(parent, ig=ig)

    def install_comments(self, *, ig: bool) -> None:
        edge = re.compile(rf"{re.escape(self.base)}/[\w]+/(comments|replies)(\?|$)")
        responses.add_callback(responses.POST, edge, callback=self.comment)
        responses.add_callback(responses.GET, edge, callback=lambda r: self.comments_of(r, ig=ig))


# --- Account insights ------------------------------------------------------------------------------


def series(owner: str, name: str, *values: Any) -> dict[str, Any]:
    """A daily insight (``values`` with end times), as Page and Instagram insights answer."""
    days = ["2026-11-30T08:00:00+0000", "2026-12-01T08:00:00+0000", "2026-12-02T08:00:00+0000"]
    return {
        "name": name,
        "period": "day",
        "values": [{"value": value, "end_time": day} for value, day in zip(values, days[-len(values) :], strict=True)],
        "title": name.replace("_", " ").title(),
        "description": "Daily",
        "id": f"{owner}/insights/{name}/day",
    }


def total(owner: str, name: str, value: Any) -> dict[str, Any]:
    """A metric Meta totals over the window (``metric_type=total_value``)."""
    return {
        "name": name,
        "period": "day",
        "title": name.replace("_", " ").title(),
        "description": "Total",
        "total_value": {"value": value},
        "id": f"{owner}/insights/{name}/day",
    }


def metric_matcher(metrics: str, **extra: str):
    return responses.matchers.query_param_matcher({"metric": metrics, **extra}, strict_match=False)


def product_type(base: str, media_id: str, kind: str = "FEED") -> None:
    """What kind of media a post is (FEED, REELS, STORY), read before its insights."""
    responses.add(
        responses.GET,
        f"{base}/{media_id}",
        json={"media_product_type": kind, "id": media_id},
        match=[responses.matchers.query_param_matcher({"fields": "media_product_type"}, strict_match=False)],
    )


PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def mock_listing(url: str, first: str, second: str, *, after: str, fields: str, headers: dict | None = None) -> None:
    """Two recorded pages of an account's posts, as Graph pages them: the first names the next
    by its ``after`` cursor (and ``paging.next``), the second has cursors but no ``next``."""
    asked = {"fields": fields, "limit": "50"}
    responses.add(responses.GET, url, json=payload(first), headers=headers,
                  match=[responses.matchers.query_param_matcher(asked, strict_match=False),
                         _no_after()])  # fmt: skip
    resumed = responses.matchers.query_param_matcher({**asked, "after": after}, strict_match=False)
    responses.add(responses.GET, url, json=payload(second), match=[resumed])


def _no_after():
    def match(request) -> tuple[bool, str]:
        return "after" not in parse_qs(urlsplit(request.url).query), "the first page names no cursor"

    return match
