"""A local stand-in for Meta's Graph API (Facebook Pages, Instagram through Facebook Login, and Threads),
for the Meta benchmark (bench/meta.py). The real providers are pointed here by META_GRAPH_URL,
and META_THREADS_API_URL, so what is measured is their idempotency under kills, not a bench provider's.

With ``fault_rate`` a share of creates is refused with Meta's transient error 2 before anything
is made (a retry must follow), and with ``lose_rate`` a share is made but never answered (the
connection closes: the sender must look it up, not send again).

Every object it creates is recorded under its text (each post's text carries its unique key), so
the benchmark counts duplicates on the platform's side: two feed posts or comments with one
text, two containers published for one caption, or media_publish accepted twice for one
container (the fake, like Meta, refuses a published container, but the attempt is counted).
Shapes follow ../shared/reference/platforms-meta.md sections 2 and 3 (as tests/browser/fake_meta.py):

- Facebook: POST {page}/feed, POST {post}/comments, GET {page}/published_posts and
  {post}/comments for the providers' lost-answer look-ups.
- Threads: GET {me}/threads_publishing_limit, POST {me}/threads (a container; a reply names
  reply_to_id), POST {me}/threads_publish, GET {me}/threads and {post}/replies for look-ups.
- Instagram: GET {ig}/content_publishing_limit, POST {ig}/media (a container, FINISHED after
  PROCESSING_S; the image URL is accepted, not fetched: the app's media server is not running in
  the benchmark), GET {container} (status), POST {ig}/media_publish, GET {ig}/media (recent
  media with captions), GET {media} (permalink).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bench.fakeplatform import QuietServer

IDS = re.compile(r"\b\d{6,}(_\d+)?\b")


@dataclass
class MetaLedger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0
    created: Counter[str] = field(default_factory=Counter)  # text -> objects made with it
    arrivals: dict[str, float] = field(default_factory=dict)  # text -> when first made
    publish_again: int = 0  # media_publish or threads_publish sent again for a published container
    refused: int = 0  # creates answered with a transient error, nothing made (--fault-rate)
    answers_lost: int = 0  # creates made whose answer never left (--lose-rate)
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> post, comment or media

    def next_id(self) -> str:
        self.counter += 1
        return str(17_900_000_000_000_000 + self.counter)

    def record(self, text: str, kind: str, prefix: str = "", **extra: Any) -> str:
        """One object made on the platform, counted under its text; its id."""
        with self.lock:
            object_id = prefix + self.next_id()
            self.created[text] += 1
            self.arrivals.setdefault(text, time.time())
            moment = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
            self.objects[object_id] = {"kind": kind, "text": text, "created_time": moment, **extra}
            return object_id

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.created.values()) + self.publish_again

    def listed(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        with self.lock:
            found = [
                {"id": object_id, **fields}
                for object_id, fields in self.objects.items()
                if fields["kind"] == kind and all(fields.get(k) == v for k, v in match.items())
            ]
        return found[::-1]  # newest first, as Graph lists them


CREATES = frozenset({"{id}/feed", "{id}/comments", "{id}/media_publish", "{id}/threads_publish"})


def make_handler(
    ledger: MetaLedger, *, latency_s: float, processing_s: float, fault_rate: float = 0, lose_rate: float = 0
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, data: Any, status: int = 200) -> None:
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, code: int, message: str, subcode: int | None = None) -> None:
            error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "B"}
            if subcode:
                error["error_subcode"] = subcode
            self._json({"error": error}, status=400)

        def _answer(self, data: Any) -> None:
            """A create's answer, or (at --lose-rate) none: the object is made, the connection
            closed, and the sender cannot tell whether it landed."""
            if random.random() < lose_rate:  # noqa: S311
                with ledger.lock:
                    ledger.answers_lost += 1
                self.close_connection = True
                return
            self._json(data)

        def _fields(self) -> tuple[str, dict[str, str]]:
            parts = urlsplit(self.path)
            fields = dict(parse_qsl(parts.query))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                fields.update(parse_qsl(self.rfile.read(length).decode()))
            path = parts.path.lstrip("/").split("/", 1)[1] if parts.path.count("/") > 1 else parts.path.lstrip("/")
            return path, fields

        def do_GET(self) -> None:
            path, _query = self._fields()
            time.sleep(latency_s)
            shape, first = IDS.sub("{id}", path), path.split("/")[0]
            if shape == "{id}/content_publishing_limit":
                self._json({"data": [{"quota_usage": 0, "config": {"quota_total": 10**6, "quota_duration": 86400}}]})
            elif shape == "{id}/published_posts":
                posts = [{"id": p["id"], "message": p["text"], "created_time": p["created_time"],
                          "permalink_url": f"https://www.facebook.com/{p['id']}"}
                         for p in ledger.listed("post", page=first)]  # fmt: skip
                self._json({"data": posts})
            elif shape == "{id}/comments":
                comments = [{"id": c["id"], "message": c["text"], "text": c["text"], "created_time": c["created_time"],
                             "timestamp": c["created_time"], "from": {"id": c["author"]}, "username": c["author"]}
                            for c in ledger.listed("comment", parent=first)]  # fmt: skip
                self._json({"data": comments})
            elif shape in ("{id}/media", "{id}/threads"):
                media = [{"id": m["id"], "caption": m["text"], "text": m["text"], "timestamp": m["created_time"],
                          "username": "bench", "permalink": f"https://www.instagram.com/p/B{m['id'][-6:]}/"}
                         for m in ledger.listed("media", owner=first, reply_to="")]  # fmt: skip
                self._json({"data": media})
            elif shape == "{id}/replies":
                replies = [{"id": m["id"], "text": m["text"], "timestamp": m["created_time"], "username": "bench"}
                           for m in ledger.listed("media", reply_to=first)]  # fmt: skip
                self._json({"data": replies})
            elif shape == "{id}/threads_publishing_limit":
                self._json({"data": [{"quota_usage": 0, "config": {"quota_total": 250, "quota_duration": 86400},
                                      "reply_quota_usage": 0,
                                      "reply_config": {"quota_total": 1000, "quota_duration": 86400}}]})  # fmt: skip
            elif shape == "{id}" and path in ledger.containers:
                container = ledger.containers[path]
                status = _ripened(container)
                words = status if container["threads"] else status.title()  # Threads' status is the code
                self._json({"id": path, "status_code": status, "status": words})
            elif shape == "{id}" and path in ledger.objects:
                self._json({"id": path, "permalink": f"https://www.instagram.com/p/B{path[-6:]}/"})
            else:
                self._error(100, "Unsupported get request. Object does not exist.", 33)

        def do_POST(self) -> None:
            path, fields = self._fields()
            time.sleep(latency_s)
            shape, first = IDS.sub("{id}", path), path.split("/")[0]
            if shape in CREATES and random.random() < fault_rate:  # noqa: S311
                with ledger.lock:
                    ledger.refused += 1
                self._json({"error": {"message": "Service temporarily unavailable", "type": "OAuthException",
                                      "code": 2, "is_transient": True, "fbtrace_id": "B"}}, status=503)  # fmt: skip
                return
            if shape == "{id}/feed":
                post_id = ledger.record(fields.get("message", ""), "post", prefix=f"{first}_", page=first)
                self._answer({"id": post_id, "permalink_url": f"https://www.facebook.com/{post_id}"})
            elif shape == "{id}/comments":
                author = first.split("_")[0] if "_" in first else ledger.objects.get(first, {}).get("owner", "")
                comment_id = ledger.record(fields.get("message", ""), "comment", parent=first, author=author)
                self._answer({"id": comment_id, "permalink_url": f"https://www.facebook.com/{first}?c={comment_id}"})
            elif shape == "{id}/media" or shape == "{id}/threads":
                if shape == "{id}/media" and not fields.get("image_url"):
                    self._error(100, "The parameter image_url is required.", 2207052)
                    return
                with ledger.lock:
                    container = ledger.next_id()
                    ready_at = time.time() + processing_s
                    text = fields.get("caption", "") if shape == "{id}/media" else fields.get("text", "")
                    ledger.containers[container] = {"caption": text, "owner": first, "status": "IN_PROGRESS",
                                                    "ready_at": ready_at, "reply_to": fields.get("reply_to_id", ""),
                                                    "threads": shape == "{id}/threads"}  # fmt: skip
                self._json({"id": container})
            elif shape in ("{id}/media_publish", "{id}/threads_publish"):
                self._publish(first, fields.get("creation_id", ""))
            else:
                self._error(100, f"Unsupported post request: {path}")

        def _publish(self, ig: str, creation_id: str) -> None:
            with ledger.lock:
                container = ledger.containers.get(creation_id)
                if container is None or _ripened(container) == "IN_PROGRESS":
                    refusal = (9007, "The media is not ready for publishing.", 2207027)
                elif container["status"] == "PUBLISHED":
                    ledger.publish_again += 1
                    refusal = (9007, "The media has already been published.", 2207027)
                else:
                    container["status"] = "PUBLISHED"
                    refusal = None
            if refusal:
                self._error(*refusal)
                return
            media_id = ledger.record(container["caption"], "media", owner=ig, container=creation_id,
                                     reply_to=container["reply_to"])  # fmt: skip
            self._answer({"id": media_id})

    return Handler


def _ripened(container: dict[str, Any]) -> str:
    """A container's status: processing ends PROCESSING_S after it was made."""
    if container["status"] == "IN_PROGRESS" and time.time() >= container["ready_at"]:
        container["status"] = "FINISHED"
    return str(container["status"])


def serve(
    *, latency_ms: float, processing_s: float, fault_rate: float = 0, lose_rate: float = 0
) -> tuple[QuietServer, MetaLedger]:
    ledger = MetaLedger()
    handler = make_handler(ledger, latency_s=latency_ms / 1000, processing_s=processing_s, fault_rate=fault_rate,
                           lose_rate=lose_rate)  # fmt: skip
    server = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, ledger
