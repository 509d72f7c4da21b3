"""Local stand-ins for TikTok's Content Posting API and YouTube's resumable upload, for the video
benchmark (bench/videos.py). The real providers are pointed here (``point_providers_at``), so
what is measured is their resuming, not a bench provider's.

Both count every body byte that arrives (a chunk cut off by a killed worker included) and every
video they make, per upload, so the benchmark can compare bytes sent with the files' sizes and
count duplicates. Shapes follow ../shared/reference/platforms-other.md sections 3 and 4:

- YouTube: POST /youtube/upload (resumable, Location header) -> PUT <Location> with
  ``Content-Range: bytes a-b/N`` (308 with ``Range`` until complete, then the video) or
  ``bytes */N`` (the received range); GET /youtube/v3/videos?id= -> ``processed`` after
  PROCESSING_S seconds.
- TikTok: POST /tiktok/v2/post/publish/creator_info/query/, /video/init/ (FILE_UPLOAD, an
  upload_url back), PUT <upload_url> chunks (206, the last 201), /status/fetch/
  (PROCESSING_UPLOAD until every byte is in and PROCESSING_S has passed, then PUBLISH_COMPLETE).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from bench.fakeplatform import READ_BLOCK, QuietServer
from connections.providers.tiktok.provider import TikTokProvider
from connections.providers.youtube.provider import YouTubeProvider

CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
ASK_RANGE = re.compile(r"bytes \*/(\d+)")


@dataclass
class VideoUpload:
    platform: str
    size: int
    title: str = ""
    held: int = 0  # bytes kept, in order
    complete_at: float | None = None
    video_id: str = ""


@dataclass
class VideoLedger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    uploads: dict[str, VideoUpload] = field(default_factory=dict)
    bytes_received: dict[str, int] = field(default_factory=lambda: {"tiktok": 0, "youtube": 0})
    videos: dict[str, int] = field(default_factory=dict)  # title -> videos made with it

    def new_upload(self, platform: str, size: int, title: str) -> str:
        with self.lock:
            upload_id = f"{platform[0]}{len(self.uploads) + 1}"
            self.uploads[upload_id] = VideoUpload(platform=platform, size=size, title=title)
            return upload_id

    def complete(self, upload: VideoUpload, processing_s: float) -> None:
        with self.lock:
            if upload.complete_at is None:
                upload.complete_at = time.time() + processing_s
                upload.video_id = f"vid{len(self.videos) + 1:06d}"
                self.videos[upload.title] = self.videos.get(upload.title, 0) + 1

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.videos.values())


def make_handler(ledger: VideoLedger, *, base: list[str], latency_s: float, processing_s: float):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _reply(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _tiktok(self, data: dict) -> None:
            self._reply(200, {"data": data, "error": {"code": "ok", "message": "", "log_id": "bench"}})

        def _json(self) -> dict:
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            return json.loads(raw) if raw else {}

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self._json()
            time.sleep(latency_s)
            if parts.path == "/youtube/upload":
                size = int(self.headers["X-Upload-Content-Length"])
                upload_id = ledger.new_upload("youtube", size, body["snippet"]["title"])
                location = f"{base[0]}/youtube/upload?uploadType=resumable&upload_id={upload_id}"
                self._reply(200, {}, {"Location": location})
            elif parts.path.endswith("/creator_info/query/"):
                self._tiktok({"creator_nickname": "Bench", "creator_username": "bench",
                              "privacy_level_options": ["SELF_ONLY"], "comment_disabled": False,
                              "duet_disabled": False, "stitch_disabled": False,
                              "max_video_post_duration_sec": 600})  # fmt: skip
            elif parts.path.endswith("/video/init/"):
                upload_id = ledger.new_upload("tiktok", int(body["source_info"]["video_size"]),
                                              body["post_info"]["title"])  # fmt: skip
                upload_url = f"{base[0]}/tiktok/upload/?upload_id={upload_id}&upload_token=t"
                self._tiktok({"publish_id": f"v_pub_file~{upload_id}", "upload_url": upload_url})
            elif parts.path.endswith("/status/fetch/"):
                upload = ledger.uploads.get(body["publish_id"].split("~", 1)[1])
                if upload is None:
                    self._reply(404, {"data": {}, "error": {"code": "invalid_params", "message": "no such publish"}})
                    return
                done = upload.complete_at is not None and time.time() >= upload.complete_at
                data = {"status": "PUBLISH_COMPLETE" if done else "PROCESSING_UPLOAD", "uploaded_bytes": upload.held,
                        "fail_reason": ""}  # fmt: skip
                if done:
                    data["publicaly_available_post_id"] = [int(upload.video_id[3:]) + 7_300_000_000_000_000_000]
                self._tiktok(data)
            else:
                self._reply(404, {"error": "not here"})

        def _take_body(self, upload: VideoUpload, first: int) -> bool:
            """Read the chunk, counting every byte that arrives; keep it only if it all came."""
            length = int(self.headers.get("Content-Length", 0))
            received = 0
            while received < length:
                block = self.rfile.read(min(READ_BLOCK, length - received))
                if not block:
                    break
                received += len(block)
                with ledger.lock:
                    ledger.bytes_received[upload.platform] += len(block)
            if received < length:
                return False  # the sender died mid-chunk
            with ledger.lock:
                if first <= upload.held:
                    upload.held = max(upload.held, first + length)
            return True

        def do_PUT(self) -> None:
            query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
            upload = ledger.uploads.get(query.get("upload_id", ""))
            content_range = self.headers.get("Content-Range", "")
            if upload is None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._reply(404, {"error": "no such upload"})
                return
            if upload.platform == "youtube" and ASK_RANGE.fullmatch(content_range):
                self._youtube_progress(upload)
                return
            match = CONTENT_RANGE.fullmatch(content_range)
            if match is None or not self._take_body(upload, int(match.group(1))):
                return
            time.sleep(latency_s)
            if upload.held >= upload.size:
                ledger.complete(upload, processing_s)
            if upload.platform == "tiktok":
                self._reply(201 if upload.held >= upload.size else 206)
            else:
                self._youtube_progress(upload)

        def _youtube_progress(self, upload: VideoUpload) -> None:
            if upload.complete_at is not None:
                self._reply(201, {"kind": "youtube#video", "id": upload.video_id,
                                  "status": {"uploadStatus": "uploaded", "privacyStatus": "private"}})  # fmt: skip
                return
            self._reply(308, None, {"Range": f"bytes=0-{upload.held - 1}"} if upload.held else {})

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            time.sleep(latency_s)
            if parts.path == "/youtube/v3/videos":
                video_id = parse_qs(parts.query).get("id", [""])[0]
                found = [u for u in list(ledger.uploads.values()) if u.video_id == video_id]
                items = []
                if found:
                    done = time.time() >= (found[0].complete_at or 0)
                    status = {"uploadStatus": "processed" if done else "uploaded"}
                    details = {"processingStatus": "succeeded" if done else "processing"}
                    items.append({"id": video_id, "status": status, "processingDetails": details})
                self._reply(200, {"items": items})
            else:
                self._reply(404, {"error": "not here"})

    return Handler


def serve(*, latency_ms: float, processing_s: float) -> tuple[QuietServer, VideoLedger]:
    ledger = VideoLedger()
    base: list[str] = [""]
    server = QuietServer(("127.0.0.1", 0), make_handler(ledger, base=base, latency_s=latency_ms / 1000,
                                                        processing_s=processing_s))  # fmt: skip
    base[0] = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, ledger


def point_providers_at(base: str) -> None:
    """Send the real TikTok and YouTube providers to the fakes (the bench's processes only)."""
    from connections.providers.tiktok import api as tiktok_api
    from connections.providers.youtube import api as youtube_api

    tiktok_api.OPEN_API = f"{base}/tiktok/v2"
    youtube_api.API = f"{base}/youtube/v3"
    youtube_api.UPLOAD = f"{base}/youtube/upload"


class BenchTikTok(TikTokProvider):
    """The real TikTok provider, registered under its own id by bench.settings when
    BENCH_VIDEO_URL is set, talking to the fake TikTok there."""

    def __init__(self) -> None:
        point_providers_at(os.environ["BENCH_VIDEO_URL"])


class BenchYouTube(YouTubeProvider):
    def __init__(self) -> None:
        point_providers_at(os.environ["BENCH_VIDEO_URL"])
