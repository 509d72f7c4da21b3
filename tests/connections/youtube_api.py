"""A recorded YouTube Data API v3 for the tests: answers in the shapes of platforms-other.md
section 4 (channels, the resumable upload with its 308 and Range, videos.list, errors)."""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
import responses

from connections.providers.base import AccountState

API = "https://www.googleapis.com/youtube/v3"
UPLOAD = "https://www.googleapis.com/upload/youtube/v3/videos"
TOKEN_URL = "https://oauth2.googleapis.com/token"
CHANNEL_ID = "UCxxxx"
BRAND_ID = "UCbrand"
ACCESS = "ya29.a0-example"
REFRESH = "1//0g-example"


def channel(channel_id: str = CHANNEL_ID, title: str = "Jane", custom: str = "@jane") -> dict:
    return {
        "id": channel_id,
        "snippet": {"title": title, "customUrl": custom, "thumbnails": {"default": {"url": "https://yt3.ggpht.com/a"}}},
        "statistics": {
            "viewCount": "1000",
            "subscriberCount": "50",
            "hiddenSubscriberCount": False,
            "videoCount": "12",
        },
    }


def error(status: int, reason: str, message: str, domain: str = "youtube.video") -> tuple[int, dict]:
    return status, {"error": {"code": status, "message": message,
                              "errors": [{"message": message, "domain": domain, "reason": reason}]}}  # fmt: skip


def account() -> AccountState:
    return AccountState(
        external_id=CHANNEL_ID,
        username="@jane",
        secrets={"access_token": ACCESS, "refresh_token": REFRESH, "quota_project": "p-test"},
    )


def query(request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(request.url).query).items()}


@dataclass
class FakeYouTube:
    """The upload side of YouTube: sessions that hold what they received, videos made by the last
    byte, processing that takes ``processing_polls`` looks, and answers lost or failed on demand."""

    processing_polls: int = 0
    sessions: dict[str, dict] = field(default_factory=dict)
    videos: dict[str, dict] = field(default_factory=dict)
    puts: list[tuple[str, int]] = field(default_factory=list)  # (Content-Range, bytes in the body)
    inits: list[dict] = field(default_factory=list)
    lose_final_once: bool = False
    fail_after_bytes: int | None = None  # answer 503 once after holding this many bytes
    polls: int = 0

    def install(self) -> None:
        responses.add_callback(responses.POST, UPLOAD, callback=self._init)
        responses.add_callback(responses.PUT, re.compile(rf"{re.escape(UPLOAD)}\?.*upload_id="), callback=self._put)
        responses.add_callback(responses.GET, f"{API}/videos", callback=self._status)

    def _init(self, request):
        upload_id = f"xa298sd_{len(self.sessions) + 1}"
        self.inits.append(json.loads(request.body))
        self.sessions[upload_id] = {"size": int(request.headers["X-Upload-Content-Length"]), "data": bytearray(),
                                    "metadata": self.inits[-1], "video": None}  # fmt: skip
        location = f"{UPLOAD}?uploadType=resumable&part=snippet,status&upload_id={upload_id}"
        return 200, {"Location": location}, ""

    def _put(self, request):
        session = self.sessions[query(request)["upload_id"]]
        content_range = request.headers["Content-Range"]
        body = request.body or b""
        self.puts.append((content_range, len(body)))
        if content_range.startswith("bytes */"):
            return self._progress(session)
        start = int(re.match(r"bytes (\d+)-", content_range).group(1))
        assert start == len(session["data"]), f"sent from {start}, but the session holds {len(session['data'])}"
        session["data"] += body
        if self.fail_after_bytes is not None and len(session["data"]) >= self.fail_after_bytes:
            self.fail_after_bytes = None
            status, payload = error(503, "backendError", "Backend Error", domain="global")
            return status, {}, json.dumps(payload)
        if len(session["data"]) < session["size"]:
            return self._progress(session)
        session["video"] = self._make_video(session)
        if self.lose_final_once:
            self.lose_final_once = False
            raise requests.ReadTimeout("read timed out (the test lost this answer)")
        return 201, {}, json.dumps(self.videos[session["video"]])

    def _progress(self, session):
        if session["video"]:
            return 200, {}, json.dumps(self.videos[session["video"]])
        held = len(session["data"])
        return 308, ({"Range": f"bytes=0-{held - 1}"} if held else {}), ""

    def _make_video(self, session) -> str:
        video_id = f"dQw4w9WgX{len(self.videos):02d}"
        snippet = session["metadata"]["snippet"]
        self.videos[video_id] = {
            "kind": "youtube#video", "id": video_id,
            "snippet": {**snippet, "publishedAt": "2026-12-01T23:00:00Z", "channelId": CHANNEL_ID},
            "status": {"uploadStatus": "uploaded", "privacyStatus": session["metadata"]["status"]["privacyStatus"]},
        }  # fmt: skip
        return video_id

    def _status(self, request):
        params = query(request)
        video = self.videos.get(params["id"])
        if video is None:
            return 200, {}, json.dumps({"kind": "youtube#videoListResponse", "items": []})
        self.polls += 1
        done = self.polls > self.processing_polls
        status = {**video["status"], "uploadStatus": "processed" if done else "uploaded"}
        details = {"processingStatus": "succeeded" if done else "processing"}
        item = {"kind": "youtube#video", "id": video["id"], "status": status, "processingDetails": details}
        return 200, {}, json.dumps({"kind": "youtube#videoListResponse", "items": [item]})

    def received(self, upload_id: str = "xa298sd_1") -> bytes:
        return bytes(self.sessions[upload_id]["data"])


PAYLOADS = Path(__file__).parent / "payloads" / "youtube"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def mock_uploads() -> None:
    """The channel's uploads playlist, then its two pages by pageToken (the last names none)."""
    asked = responses.matchers.query_param_matcher
    responses.add(responses.GET, f"{API}/channels", json=payload("channel_uploads"),
                  match=[asked({"part": "contentDetails", "id": CHANNEL_ID})])  # fmt: skip
    listed = {"part": "snippet,contentDetails,status", "playlistId": "UUxxxx", "maxResults": "50"}
    responses.add(responses.GET, f"{API}/playlistItems", json=payload("playlist_items_page1"), match=[asked(listed)])
    resumed = asked({**listed, "pageToken": "EAAaBlBUOkNESQ"})
    responses.add(responses.GET, f"{API}/playlistItems", json=payload("playlist_items_page2"), match=[resumed])
