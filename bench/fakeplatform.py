"""A local stand-in for a social platform, for the dispatch benchmark.

POST /posts creates a post; GET /posts?key= finds the one created with that Idempotency-Key
header (our reconciliation looks posts up this way). It records every create with its arrival
time so the benchmark measures lateness, duplicates and losses from the platform's side.
Latency and failures are injected per request.

Video goes through a chunked, resumable upload, in the shape most platforms use:
POST /uploads {"size"} -> {"id"}; PUT /uploads/<id> with ``Content-Range: bytes first-last/total``
-> {"offset"} (a chunk starting past the offset is refused with 409 and the offset; one starting
before it is taken, and the overlap counted as bytes received twice); GET /uploads/<id> -> the
offset and status; POST /uploads/<id>/finish -> "processing" for PROCESSING_S seconds, then
"ready"; POST /posts {"media": [id]} refuses media that is not ready (409).
"""

import collections
import hashlib
import json
import os
import random
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from connections import http
from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountState,
    AppCredentials,
    Connection,
    ConnectMethod,
    MediaItem,
    PartRequest,
    Pending,
    PostMetrics,
    Profile,
    Provider,
    PublishedItem,
    PublishRequest,
    TextRules,
    part_key,
)

UPLOAD_CHUNK_BYTES = int(os.environ.get("BENCH_CHUNK_BYTES", 8 * 1024 * 1024))
RATE_LIMIT = int(os.environ.get("BENCH_RATE_LIMIT", 300))
RATE_WINDOW_S = float(os.environ.get("BENCH_RATE_WINDOW_S", 900))


def part_keys(target_key: str, parts: int) -> list[str]:
    """The keys the engine sends for a target's parts (see connections.providers.base.part_key)."""
    return [part_key(target_key, index) for index in range(parts)]


CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
READ_BLOCK = 1024 * 1024


@dataclass
class Upload:
    size: int
    offset: int = 0  # bytes held, in order, without a gap
    ready_at: float | None = None  # set by finish: processing until then

    def status(self) -> str:
        if self.ready_at is None:
            return "uploading"
        return "ready" if time.time() >= self.ready_at else "processing"

    def as_json(self, upload_id: str) -> dict:
        ready_in = max(0.0, self.ready_at - time.time()) if self.ready_at else None
        status = self.status()
        return {"id": upload_id, "size": self.size, "offset": self.offset, "status": status, "ready_in": ready_in}


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
        self.uploads: dict[str, Upload] = {}
        self.video_posts: set[str] = set()  # keys of posts created with a video
        self.bytes_received = 0  # every body byte of every chunk, cut-off chunks included
        self.bytes_again = 0  # bytes of chunks the platform already held
        self.metric_calls: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self.metric_calls_total = 0
        self.rate_limited = 0  # 429s answered on /metrics
        self.metric_ids_read = 0

    def metrics_call(self, account: str, *, limit: int, window_s: float) -> float | None:
        """Count a /metrics call; seconds until the caller may call again if it is over the limit."""
        now = time.time()
        with self.lock:
            calls = self.metric_calls[account]
            while calls and calls[0] <= now - window_s:
                calls.popleft()
            if len(calls) >= limit:
                self.rate_limited += 1
                return calls[0] + window_s - now
            calls.append(now)
            self.metric_calls_total += 1
            return None

    def create(self, key: str, media: list[str] = ()) -> dict:
        with self.lock:
            self.creates[key] = self.creates.get(key, 0) + 1
            if media:
                self.video_posts.add(key)
            post = {"id": f"p{sum(self.creates.values())}", "key": key, "media": list(media)}
            self.posts.setdefault(key, post)
            self.arrivals.setdefault(key, time.time())
            return post

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.creates.values())


def post_counts(post_id: str) -> dict:
    """Some counts, fixed per post."""
    seed = int(hashlib.sha256(post_id.encode()).hexdigest()[:8], 16)
    return {"id": post_id, "like_count": seed % 97, "repost_count": seed % 13, "reply_count": seed % 7,
            "view_count": seed % 5000}  # fmt: skip


def make_handler(ledger: Ledger, *, latency_s: float, fault_rate: float, processing_s: float):
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

        def _json_body(self) -> dict:
            length = int(self.headers.get("Content-Length", 0))
            data = self.rfile.read(length)
            return json.loads(data) if data else {}

        def _upload(self) -> tuple[str, Upload | None]:
            upload_id = urlsplit(self.path).path.split("/")[2]
            return upload_id, ledger.uploads.get(upload_id)

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            body = self._json_body()
            time.sleep(latency_s)
            if path == "/uploads":
                with ledger.lock:
                    upload_id = f"u{len(ledger.uploads) + 1}"
                    ledger.uploads[upload_id] = Upload(size=int(body["size"]))
                self._reply(200, ledger.uploads[upload_id].as_json(upload_id))
                return
            if path.startswith("/uploads/") and path.endswith("/finish"):
                upload_id, upload = self._upload()
                if upload is None or upload.offset != upload.size:
                    self._reply(409, {"error": "upload incomplete", "offset": upload.offset if upload else 0})
                    return
                if upload.ready_at is None:
                    upload.ready_at = time.time() + processing_s
                self._reply(200, upload.as_json(upload_id))
                return
            if fault_rate and random.random() < fault_rate:  # noqa: S311
                self._reply(503, {"error": "injected failure"})
                return
            media = body.get("media") or []
            if any(ledger.uploads.get(m) is None or ledger.uploads[m].status() != "ready" for m in media):
                self._reply(409, {"error": "media not ready"})
                return
            key = self.headers.get("Idempotency-Key", "")
            self._reply(200, ledger.create(key, media))

        def do_PUT(self) -> None:
            upload_id, upload = self._upload()
            match = CONTENT_RANGE.fullmatch(self.headers.get("Content-Range", ""))
            length = int(self.headers.get("Content-Length", 0))
            if upload is None or match is None:
                self.rfile.read(length)
                self._reply(404 if upload is None else 400, {"error": "no such upload or bad Content-Range"})
                return
            first = int(match.group(1))
            if first > upload.offset:  # a gap: tell the client where to resume
                self.rfile.read(length)
                self._reply(409, {"error": "chunk does not start at the offset", "offset": upload.offset})
                return
            received = 0
            while received < length:  # read in blocks, counting what arrives even if cut off
                block = self.rfile.read(min(READ_BLOCK, length - received))
                if not block:
                    break
                received += len(block)
                with ledger.lock:
                    ledger.bytes_received += len(block)
            if received < length:
                return  # the sender died mid-chunk: nothing of it is kept
            time.sleep(latency_s)
            with ledger.lock:
                ledger.bytes_again += max(0, min(upload.offset, first + length) - first)
                upload.offset = max(upload.offset, first + length)
            self._reply(200, upload.as_json(upload_id))

        def do_GET(self) -> None:
            if self.path.startswith("/metrics"):
                self._metrics()
                return
            if self.path.startswith("/uploads/"):
                upload_id, upload = self._upload()
                self._reply(200 if upload else 404, upload.as_json(upload_id) if upload else {"error": "not found"})
                return
            key = parse_qs(urlsplit(self.path).query).get("key", [""])[0]
            post = ledger.posts.get(key)
            self._reply(200 if post else 404, post or {"error": "not found"})

        def _metrics(self) -> None:
            time.sleep(latency_s)
            wait = ledger.metrics_call(self.headers.get("X-Account", ""), limit=RATE_LIMIT, window_s=RATE_WINDOW_S)
            if wait is not None:
                self.send_response(429)
                self.send_header("Retry-After", str(max(1, round(wait))))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            ids = [i for i in parse_qs(urlsplit(self.path).query).get("ids", [""])[0].split(",") if i]
            with ledger.lock:
                ledger.metric_ids_read += len(ids)
            self._reply(200, {"data": [post_counts(i) for i in ids]})

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address) -> None:
        pass  # a worker killed mid-request (--kill-workers) breaks its connection: expected here


def serve(*, latency_ms: float, fault_rate: float, processing_s: float = 30) -> tuple[ThreadingHTTPServer, Ledger]:
    ledger = Ledger()
    handler = make_handler(ledger, latency_s=latency_ms / 1000, fault_rate=fault_rate, processing_s=processing_s)
    server = QuietServer(("127.0.0.1", 0), handler)
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
    supports_metrics = True
    metric_names = {"like_count": "likes", "repost_count": "reposts", "reply_count": "replies", "view_count": "views"}
    metrics_batch_size = 100
    # The platform's read limit is RATE_LIMIT per RATE_WINDOW_S per account; declared a little
    # under it, as a provider would, so clock skew never tips a call over.
    metrics_calls_per_minute = RATE_LIMIT / RATE_WINDOW_S * 60 * 0.97
    _local = threading.local()

    @property
    def base(self) -> str:
        return os.environ["BENCH_PLATFORM_URL"]

    def session(self) -> http.Session:
        # One keep-alive session per thread, as a real provider client would hold.
        if not hasattr(self._local, "session"):
            self._local.session = http.platform_session()
            # requests otherwise re-reads the proxy variables from the environment on every call
            # (a seventh of a worker's CPU in the profile); a local fake platform needs no proxy.
            self._local.session.trust_env = False
        return self._local.session

    def connect_with_form(self, *, data) -> Connection:
        return Connection(profile=Profile(external_id="bench", username="@bench"), secrets={"access_token": "x"})

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        return Profile(external_id="bench", username="@bench")

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        return TextRules(max_length=500, accepted_mime_types=("image/jpeg", "image/png", "video/mp4"))

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        media_ids = []
        for index, item in enumerate(m for m in part.content.media if m.kind == "video"):
            ready = self._video_ready(part, f"video-{index}", item)
            if isinstance(ready, Pending):
                return ready
            media_ids.append(ready)
        body = {"text": part.content.text, "reply_to": part.parent.platform_post_id if part.parent else None,
                "media": media_ids}  # fmt: skip
        response = self._call("post", "/posts", json=body, headers={"Idempotency-Key": part.key}, create_call=True)
        if response.status_code == 409:  # media not ready after all: look again shortly
            return Pending("Bench network is processing the video", check_in_s=2)
        answer = response.json()
        return PublishedItem(platform_post_id=answer["id"], url=f"{self.base}/posts/{answer['id']}")

    def fetch_metrics(self, *, account: AccountState, platform_post_ids) -> dict:
        ids = ",".join(platform_post_ids)
        response = self._call("get", "/metrics", params={"ids": ids}, headers={"X-Account": account.external_id})
        if response.status_code == 429:
            retry = float(response.headers.get("Retry-After", "60"))
            raise ProviderError(ErrorClass.RATE, "Bench network: slow down.", status=429, retry_after=retry)
        return {post["id"]: PostMetrics.from_platform(post, self.metric_names) for post in response.json()["data"]}

    def _call(self, method: str, path: str, *, create_call: bool = False, **kwargs) -> http.Response:
        try:
            response = self.session().request(method, f"{self.base}{path}", timeout=(2, 30), **kwargs)
        except http.RequestException as exc:
            raise http.transport_error(exc, create_call=create_call) from None
        if response.status_code >= 500:
            raise ProviderError(ErrorClass.TRANSIENT, response.json().get("error", "5xx"), status=response.status_code)
        return response

    def _video_ready(self, part: PartRequest, key: str, item: MediaItem) -> str | Pending:
        """The platform's media id once the video is uploaded and processed; Pending until then.
        The session id and offset are saved after every chunk, so a successor resumes the upload."""
        saved = dict(part.uploads.load(key) or {})
        if not saved.get("id"):
            created = self._call("post", "/uploads", json={"size": item.size}).json()
            saved = {"id": created["id"], "offset": 0}
            part.uploads.save(key, saved)
        upload_path = f"/uploads/{saved['id']}"
        if not saved.get("finished"):
            # The platform's offset wins: ours lags by a chunk when the worker died after sending it.
            offset = self._call("get", upload_path).json()["offset"]
            while offset < item.size:
                data = item.read_range(offset, min(UPLOAD_CHUNK_BYTES, item.size - offset))
                last = offset + len(data) - 1
                headers = {"Content-Range": f"bytes {offset}-{last}/{item.size}",
                           "Content-Type": "application/octet-stream"}  # fmt: skip
                offset = self._call("put", upload_path, data=data, headers=headers).json()["offset"]
                saved["offset"] = offset
                part.uploads.save(key, saved)
            finished = self._call("post", f"{upload_path}/finish").json()
            saved["finished"] = True
            part.uploads.save(key, saved)
            return Pending("Bench network is processing the video", check_in_s=finished["ready_in"] or 1)
        status = self._call("get", upload_path).json()
        if status["status"] != "ready":
            return Pending("Bench network is processing the video", check_in_s=max(0.5, status["ready_in"] or 1))
        return saved["id"]

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        response = self.session().get(f"{self.base}/posts", params={"key": part.key}, timeout=(2, 10))
        if response.status_code == 404:
            return None
        answer = response.json()
        return PublishedItem(platform_post_id=answer["id"], url=f"{self.base}/posts/{answer['id']}")
