"""A local stand-in for a social platform, for the dispatch benchmark.

POST /posts creates a post; GET /posts?key= finds the one created with that Idempotency-Key
header (our reconciliation looks posts up this way). It records every create with its arrival
time so the benchmark measures lateness, duplicates and losses from the platform's side.
Latency and failures are injected per request.
"""

import json
import os
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests

from connections import http
from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountState,
    AppCredentials,
    Connection,
    ConnectMethod,
    PartRequest,
    Profile,
    Provider,
    PublishedItem,
    PublishRequest,
    TextRules,
    part_key,
)


def part_keys(target_key: str, parts: int) -> list[str]:
    """The keys the engine sends for a target's parts (see connections.providers.base.part_key)."""
    return [part_key(target_key, index) for index in range(parts)]


class Ledger:
    """What the platform saw: every create per key, with its arrival time.

    Like most platforms it does NOT deduplicate: a create sent twice makes two posts, so the
    benchmark's duplicate count measures our engine, not the fake server's kindness.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: dict[str, dict] = {}
        self.arrivals: dict[str, float] = {}
        self.creates: dict[str, int] = {}

    def create(self, key: str) -> dict:
        with self.lock:
            self.creates[key] = self.creates.get(key, 0) + 1
            post = {"id": f"p{sum(self.creates.values())}", "key": key}
            self.posts.setdefault(key, post)
            self.arrivals.setdefault(key, time.time())
            return post

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.creates.values())


def make_handler(ledger: Ledger, *, latency_s: float, fault_rate: float):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet: the benchmark prints its own figures
            pass

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            time.sleep(latency_s)
            if fault_rate and random.random() < fault_rate:  # noqa: S311
                self._reply(503, {"error": "injected failure"})
                return
            key = self.headers.get("Idempotency-Key", "")
            self._reply(200, ledger.create(key))

        def do_GET(self) -> None:
            key = parse_qs(urlsplit(self.path).query).get("key", [""])[0]
            post = ledger.posts.get(key)
            self._reply(200 if post else 404, post or {"error": "not found"})

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address) -> None:
        pass  # a worker killed mid-request (--kill-workers) breaks its connection: expected here


def serve(*, latency_ms: float, fault_rate: float) -> tuple[ThreadingHTTPServer, Ledger]:
    ledger = Ledger()
    server = QuietServer(("127.0.0.1", 0), make_handler(ledger, latency_s=latency_ms / 1000, fault_rate=fault_rate))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, ledger


class BenchProvider(Provider):
    """Publishes to the fake platform at BENCH_PLATFORM_URL, through our HTTP chokepoint."""

    id = "benchnet"
    name = "Bench network"
    connect_method = ConnectMethod.INSTANT
    needs_app_credentials = False
    supports_idempotency_key = True
    supports_lookup = True
    _local = threading.local()

    @property
    def base(self) -> str:
        return os.environ["BENCH_PLATFORM_URL"]

    def session(self) -> requests.Session:
        # One keep-alive session per thread, as a real provider client would hold.
        if not hasattr(self._local, "session"):
            self._local.session = http.platform_session()
        return self._local.session

    def connect_with_form(self, *, data) -> Connection:
        return Connection(profile=Profile(external_id="bench", username="@bench"), secrets={"access_token": "x"})

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        return Profile(external_id="bench", username="@bench")

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        return TextRules(max_length=500)

    def publish_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem:
        body = {"text": part.content.text, "reply_to": part.parent.platform_post_id if part.parent else None}
        try:
            response = self.session().post(
                f"{self.base}/posts", json=body, headers={"Idempotency-Key": part.key}, timeout=(2, 10)
            )
        except requests.RequestException as exc:
            raise http.transport_error(exc, create_call=True) from None
        if response.status_code >= 500:
            raise ProviderError(ErrorClass.TRANSIENT, response.json().get("error", "5xx"), status=response.status_code)
        answer = response.json()
        return PublishedItem(platform_post_id=answer["id"], url=f"{self.base}/posts/{answer['id']}")

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        response = self.session().get(f"{self.base}/posts", params={"key": part.key}, timeout=(2, 10))
        if response.status_code == 404:
            return None
        answer = response.json()
        return PublishedItem(platform_post_id=answer["id"], url=f"{self.base}/posts/{answer['id']}")
