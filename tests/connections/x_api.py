"""X API v2 answers in the shapes of platforms-other.md section 1 (and platforms-engagement.md
section 4), for tests/connections/test_x.py."""

import json
from typing import Any

import responses

API = "https://api.x.com"
TOKEN_URL = f"{API}/2/oauth2/token"
ME_URL = f"{API}/2/users/me"
TWEETS = f"{API}/2/tweets"
UPLOAD = f"{API}/2/media/upload"
METADATA = f"{API}/2/media/metadata"
USER_ID = "2244994945"
TIMELINE = f"{API}/2/users/{USER_ID}/tweets"
SCOPE = "tweet.read tweet.write users.read media.write offline.access"
MEDIA_ID = "1880028106020515840"


def token(**changes: Any) -> dict[str, Any]:
    return {"token_type": "bearer", "expires_in": 7200, "access_token": "VGhpcy1hY2Nlc3M", "scope": SCOPE,
            "refresh_token": "bWRWa3-first", **changes}  # fmt: skip


def me(**changes: Any) -> dict[str, Any]:
    user = {
        "id": USER_ID, "name": "X Dev", "username": "XDevelopers",
        "profile_image_url": "https://pbs.twimg.com/profile_images/1/abc_normal.jpg",
        "public_metrics": {"followers_count": 1, "following_count": 2, "tweet_count": 3, "listed_count": 0,
                           "like_count": 5, "media_count": 1},
        "verified": False,
    }  # fmt: skip
    return {"data": {**user, **changes}}


def created(post_id: str, text: str) -> dict[str, Any]:
    return {"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}}


def image_uploaded(media_id: str = MEDIA_ID) -> dict[str, Any]:
    return {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": 48213, "expires_after_secs": 86400,
                     "image": {"image_type": "image/jpeg", "w": 1200, "h": 800}}}  # fmt: skip


def initialized(media_id: str = MEDIA_ID) -> dict[str, Any]:
    return {"data": {"id": media_id, "media_key": f"7_{media_id}", "expires_after_secs": 1295999}}


def finalized(state: str | None = "pending", media_id: str = MEDIA_ID) -> dict[str, Any]:
    data: dict[str, Any] = {"id": media_id, "media_key": f"7_{media_id}", "size": 10485760,
                            "expires_after_secs": 86400}  # fmt: skip
    if state:
        data["processing_info"] = {"state": state, "check_after_secs": 1}
    return {"data": data}


def status(state: str, media_id: str = MEDIA_ID, **extra: Any) -> dict[str, Any]:
    info = {"state": state, **extra}
    if state == "in_progress":
        info.setdefault("check_after_secs", 5)
        info.setdefault("progress_percent", 40)
    return {"data": {"id": media_id, "processing_info": info}}


UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
DUPLICATE = {"detail": "You are not allowed to create a Tweet with duplicate content.", "type": "about:blank",
             "title": "Forbidden", "status": 403}  # fmt: skip
UNSUPPORTED_AUTH = {
    "title": "Unsupported Authentication",
    "type": "about:blank",
    "status": 403,
    "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.",
}
NOT_PERMITTED = {"detail": "You are not permitted to perform this action.", "type": "about:blank",
                 "title": "Forbidden", "status": 403}  # fmt: skip
INVALID = {"errors": [{"parameters": {"media.media_ids": ["1"]}, "message": "Your media IDs are invalid."}],
           "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
           "type": "https://api.twitter.com/2/problems/invalid-request"}  # fmt: skip
TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
USAGE_CAPPED = {"title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap",
                "type": "https://api.twitter.com/2/problems/usage-capped", "status": 429}  # fmt: skip
UNAVAILABLE = {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank", "status": 503}
BAD_REFRESH = {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}


def problem(method: str, url: str, body: dict[str, Any], status: int, headers: dict[str, str] | None = None):
    return lambda: responses.add(method, url, body=json.dumps(body), status=status, headers=headers,
                                 content_type="application/problem+json")  # fmt: skip


# --- The user's own posts (GET /2/users/:id/tweets), two pages ----------------------------------

NEXT_TOKEN = "7140dibdnow9c7btw481sbgg3nuf6g3mf8ghvwd8o9xvb"
OWN_POSTS_PAGE1 = {
    "data": [
        {"id": "1851000000000000330", "text": "2/ and the numbers &amp; the chart",
         "created_at": "2026-11-20T09:01:00.000Z",
         "conversation_id": "1851000000000000320", "in_reply_to_user_id": USER_ID,
         "referenced_tweets": [{"type": "replied_to", "id": "1851000000000000320"}],
         "edit_history_tweet_ids": ["1851000000000000330"]},
        {"id": "1851000000000000325", "text": "@someone thanks!", "created_at": "2026-11-20T09:00:30.000Z",
         "conversation_id": "1850000000000000001", "in_reply_to_user_id": "783214",
         "referenced_tweets": [{"type": "replied_to", "id": "1850000000000000001"}],
         "edit_history_tweet_ids": ["1851000000000000325"]},
        {"id": "1851000000000000320", "text": "1/ Our launch, in a thread https://t.co/abc",
         "created_at": "2026-11-20T09:00:00.000Z", "conversation_id": "1851000000000000320",
         "attachments": {"media_keys": ["3_1851000000000000999"]},
         "edit_history_tweet_ids": ["1851000000000000320"]},
    ],
    "includes": {"media": [{"media_key": "3_1851000000000000999", "type": "photo",
                            "url": "https://pbs.twimg.com/media/GaBcDeFgHiJ.jpg", "alt_text": "The launch chart"}]},
    "meta": {"result_count": 3, "newest_id": "1851000000000000330", "oldest_id": "1851000000000000320",
             "next_token": NEXT_TOKEN},
}  # fmt: skip
OWN_POSTS_PAGE2 = {
    "data": [
        {"id": "1849000000000000100", "text": "A clip from the office", "created_at": "2026-10-02T15:30:00.000Z",
         "conversation_id": "1849000000000000100", "attachments": {"media_keys": ["7_1849000000000000777"]},
         "edit_history_tweet_ids": ["1849000000000000100"]},
    ],
    "includes": {"media": [{"media_key": "7_1849000000000000777", "type": "video",
                            "preview_image_url": "https://pbs.twimg.com/ext_tw_video_thumb/1849/pu/img/clip.jpg"}]},
    "meta": {"result_count": 1, "newest_id": "1849000000000000100", "oldest_id": "1849000000000000100",
             "previous_token": "77qp8hvm9hj3lqy8g6ymk26byxjpkzb2u1qiuh5ypfq"},
}  # fmt: skip
IMPORT_FIELDS = {
    "max_results": "100", "exclude": "retweets",
    "tweet.fields": "created_at,conversation_id,in_reply_to_user_id,referenced_tweets,attachments",
    "expansions": "attachments.media_keys", "media.fields": "url,preview_image_url,type,alt_text",
}  # fmt: skip


def mock_own_posts() -> None:
    """Two pages as X pages them: the next one named by meta.next_token, asked for by pagination_token."""
    first = responses.matchers.query_param_matcher(IMPORT_FIELDS)
    second = responses.matchers.query_param_matcher({**IMPORT_FIELDS, "pagination_token": NEXT_TOKEN})
    responses.add(responses.GET, TIMELINE, json=OWN_POSTS_PAGE1, match=[first])
    responses.add(responses.GET, TIMELINE, json=OWN_POSTS_PAGE2, match=[second])
