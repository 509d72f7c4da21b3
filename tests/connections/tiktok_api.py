"""A recorded TikTok Content Posting and Display API for the tests, in the shapes of
platforms-other.md section 3 and platforms-google-snap.md section 3."""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import requests
import responses

from connections.providers.base import AccountState

OPEN = "https://open.tiktokapis.com/v2"
UPLOAD_HOST = "https://open-upload.tiktokapis.com/video/"
OPEN_ID = "723f24d7-e717-40f8-a2b6-cb8464cd23b4"
ACCESS = "act.example"


def ok(data: dict) -> dict:
    return {"data": data, "error": {"code": "ok", "message": "", "log_id": "20261201230000"}}


def failure(code: str, message: str) -> dict:
    return {"data": {}, "error": {"code": code, "message": message, "log_id": "20261201230001"}}


def creator_info(**changes) -> dict:
    return {"creator_avatar_url": "https://p16.tiktokcdn.com/jane.jpeg", "creator_username": "jane",
            "creator_nickname": "Jane",
            "privacy_level_options": [
                "PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"],
            "comment_disabled": False, "duet_disabled": False, "stitch_disabled": True,
            "max_video_post_duration_sec": 600, **changes}  # fmt: skip


def user() -> dict:
    return {"user": {"open_id": OPEN_ID, "union_id": "c9c60f44-a68e", "avatar_url": "https://p16.tiktokcdn.com/a.jpeg",
                     "display_name": "Jane", "username": "jane", "follower_count": 120, "following_count": 30,
                     "likes_count": 900, "video_count": 14}}  # fmt: skip


def account() -> AccountState:
    return AccountState(
        external_id=OPEN_ID, username="@jane", secrets={"access_token": ACCESS, "refresh_token": "rft.example"}
    )


@dataclass
class FakeTikTok:
    """Direct Post as TikTok serves it: creator_info, init, chunked PUTs and status polls that go
    through ``statuses`` (then PUBLISH_COMPLETE with the public id)."""

    statuses: list[str] = field(default_factory=list)
    info: dict = field(default_factory=creator_info)
    inits: list[dict] = field(default_factory=list)
    puts: list[tuple[str, int]] = field(default_factory=list)
    received: bytearray = field(default_factory=bytearray)
    lose_init_once: bool = False
    post_id: int = 7312345678901234567
    fail_reason: str = ""
    cut_put: int | None = None  # the PUT (1, 2, ...) whose connection breaks, once
    put_count: int = 0
    final_status: str = "PUBLISH_COMPLETE"  # SEND_TO_USER_INBOX for a draft

    def install(self) -> None:
        responses.add_callback(responses.POST, f"{OPEN}/post/publish/creator_info/query/", callback=self._info)
        responses.add_callback(responses.POST, f"{OPEN}/post/publish/video/init/", callback=self._init)
        responses.add_callback(responses.POST, f"{OPEN}/post/publish/inbox/video/init/", callback=self._init)
        responses.add_callback(responses.POST, f"{OPEN}/post/publish/content/init/", callback=self._content_init)
        responses.add_callback(responses.PUT, re.compile(rf"{re.escape(UPLOAD_HOST)}\?upload_id="), callback=self._put)
        responses.add_callback(responses.POST, f"{OPEN}/post/publish/status/fetch/", callback=self._status)

    def _info(self, request):
        return 200, {}, json.dumps(ok(self.info))

    def _init(self, request):
        body = json.loads(request.body)
        self.inits.append(body)
        pulled = body["source_info"]["source"] == "PULL_FROM_URL"
        publish_id = f"v_pub_{'url' if pulled else 'file'}~v2-1.7312{len(self.inits)}"
        if self.lose_init_once:
            self.lose_init_once = False
            raise requests.ReadTimeout("read timed out (the test lost this answer)")
        data = {"publish_id": publish_id}
        if not pulled:
            data["upload_url"] = f"{UPLOAD_HOST}?upload_id=7312{len(self.inits)}&upload_token=tok"
        return 200, {}, json.dumps(ok(data))

    def _content_init(self, request):
        """Photos: pulled by TikTok from their URLs, posted by this call."""
        body = json.loads(request.body)
        self.inits.append(body)
        return 200, {}, json.dumps(ok({"publish_id": f"p_pub_url~v2-1.7312{len(self.inits)}"}))

    def _put(self, request):
        self.put_count += 1
        if self.put_count == self.cut_put:
            self.cut_put = None
            raise requests.ConnectionError("connection reset by peer")
        content_range = request.headers["Content-Range"]
        start, end, total = map(int, re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range).groups())
        assert start == len(self.received), f"chunk from {start}, but TikTok holds {len(self.received)}"
        self.puts.append((content_range, len(request.body)))
        self.received += request.body
        return (201 if end + 1 == total else 206), {}, ""

    def _status(self, request):
        status = self.statuses.pop(0) if self.statuses else self.final_status
        data = {"status": status, "uploaded_bytes": len(self.received), "fail_reason": ""}
        if status == "PUBLISH_COMPLETE":
            data["publicaly_available_post_id"] = [self.post_id]
        if status == "FAILED":
            data["fail_reason"] = self.fail_reason
        return 200, {}, json.dumps(ok(data))


PAYLOADS = Path(__file__).parent / "payloads" / "tiktok"
LIST_FIELDS = (
    "id,title,video_description,create_time,share_url,duration,view_count,like_count,comment_count,share_count"
)


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def mock_video_list() -> None:
    """Two pages of the creator's public videos: the first passes its cursor on with has_more."""
    fields = responses.matchers.query_param_matcher({"fields": LIST_FIELDS})
    responses.add(responses.POST, f"{OPEN}/video/list/", json=payload("video_list_page1"),
                  match=[fields, responses.matchers.json_params_matcher({"max_count": 20})])  # fmt: skip
    resumed = responses.matchers.json_params_matcher({"max_count": 20, "cursor": 1795852800000})
    responses.add(responses.POST, f"{OPEN}/video/list/", json=payload("video_list_page2"), match=[fields, resumed])
