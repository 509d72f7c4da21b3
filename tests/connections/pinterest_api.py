"""Pinterest API v5 answers in the shapes of platforms-other.md section 5, for
tests/connections/test_pinterest.py."""

import json
from typing import Any

import responses

API = "https://api.pinterest.com/v5"
TOKEN_URL = f"{API}/oauth/token"
ME_URL = f"{API}/user_account"
BOARDS = f"{API}/boards"
PINS = f"{API}/pins"
MEDIA = f"{API}/media"
USER_ID = "549755885175"
BOARD_ID = "549755885176"
BOARD_PINS = f"{API}/boards/{BOARD_ID}/pins"
PIN_ID = "813744226420795884"
MEDIA_ID = "12345"
UPLOAD_URL = "https://pinterest-media-upload.s3-accelerate.amazonaws.com/"
SCOPE = "boards:read,boards:write,pins:read,pins:write,user_accounts:read"
ACCESS = "pina_AMAQ"


def token(**changes: Any) -> dict[str, Any]:
    return {"access_token": ACCESS, "refresh_token": "pinr_first", "response_type": "authorization_code",
            "token_type": "bearer", "expires_in": 2592000, "refresh_token_expires_in": 31536000, "scope": SCOPE,
            **changes}  # fmt: skip


def me(**changes: Any) -> dict[str, Any]:
    return {"account_type": "BUSINESS", "id": USER_ID, "username": "janedoe",
            "profile_image": "https://i.pinimg.com/600x600_R/ab/cd.jpg", "website_url": "https://janedoe.example",
            "business_name": "Jane's Kitchen", "board_count": 12, "pin_count": 340, "follower_count": 1200,
            "following_count": 80, "monthly_views": 45000, **changes}  # fmt: skip


def board(board_id: str = BOARD_ID, name: str = "Recipes") -> dict[str, Any]:
    return {"id": board_id, "name": name, "privacy": "PUBLIC"}


def pin(pin_id: str = PIN_ID, *, created_at: str = "2026-01-01T12:00:00", **fields: Any) -> dict[str, Any]:
    return {"id": pin_id, "created_at": created_at, "link": fields.get("link"), "title": fields.get("title"),
            "description": fields.get("description"), "board_id": fields.get("board_id", BOARD_ID),
            "media": {"media_type": fields.get("media_type", "image"), "images": {}}, "pin_metrics": None}  # fmt: skip


def registered() -> dict[str, Any]:
    return {"media_id": MEDIA_ID, "media_type": "video", "upload_url": UPLOAD_URL,
            "upload_parameters": {"key": "uploads/12345.mp4", "policy": "eyJleHBpcmF0aW9uIjo",
                                  "x-amz-signature": "0a1b2c", "x-amz-algorithm": "AWS4-HMAC-SHA256"}}  # fmt: skip


def media_status(status: str) -> dict[str, Any]:
    return {"media_id": MEDIA_ID, "media_type": "video", "status": status}


def analytics(**summary: int) -> dict[str, Any]:
    return {"all": {"daily_metrics": [{"date": "2026-01-01", "data_status": "READY",
                                       "metrics": {"IMPRESSION": 120, "SAVE": 3, "PIN_CLICK": 9, "OUTBOUND_CLICK": 1}}],
                    "summary_metrics": summary, "lifetime_metrics": summary}}  # fmt: skip


AUTH_FAILED = {"code": 2, "message": "Authentication failed."}
BOARD_NOT_FOUND = {"code": 40, "message": "Board not found."}
MAX_ITEMS = {"code": 1, "message": "Invalid request: media_source.items failed constraint: maxItems=5"}
NO_FETCH = {"code": 1, "message": "Sorry we could not fetch the image."}
SPAM = {"code": 8, "message": "Your request was blocked by a block (Pins) we have in place to combat spam."}
SCOPE_MISSING = {"code": 3, "message": "Not authorized to access the user account (missing scope pins:write)."}
TRIAL = {"code": 29, "message": "You are not permitted to access that resource."}
TOO_MANY = {"code": 8, "message": "Rate limit exceeded."}
UNAVAILABLE = {"code": 0, "message": "Service unavailable."}


def error(method: str, url: str, body: dict[str, Any], status: int, headers: dict[str, str] | None = None):
    return lambda: responses.add(method, url, body=json.dumps(body), status=status, headers=headers,
                                 content_type="application/json")  # fmt: skip


# --- The account's own pins (GET /v5/pins), two pages -------------------------------------------

PINS_BOOKMARK = "Y2JVSG81V2sxcmNHRjZWbGRX"


def images(name: str) -> dict[str, Any]:
    """A pin's ``media.images``: the same picture at the sizes Pinterest lists."""
    return {"150x150": {"width": 150, "height": 150, "url": f"https://i.pinimg.com/150x150/{name}.jpg"},
            "400x300": {"width": 400, "height": 300, "url": f"https://i.pinimg.com/400x300/{name}.jpg"},
            "600x": {"width": 600, "height": 900, "url": f"https://i.pinimg.com/600x/{name}.jpg"},
            "1200x": {"width": 1200, "height": 1800, "url": f"https://i.pinimg.com/1200x/{name}.jpg"}}  # fmt: skip


def own_pin(pin_id: str, *, created_at: str, media: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": pin_id, "created_at": created_at, "link": None, "title": "", "description": "",
            "dominant_color": "#c8a27a", "alt_text": None, "board_id": BOARD_ID, "board_section_id": None,
            "board_owner": {"username": "janedoe"}, "is_owner": True, "is_standard": True, "has_been_promoted": False,
            "creative_type": "REGULAR", "parent_pin_id": None, "note": "", "media": media, "pin_metrics": None,
            **fields}  # fmt: skip


OWN_PINS_PAGE1 = {
    "items": [
        own_pin("813744226420795901", created_at="2026-11-28T18:30:00", title="Lemon cake",
                description="The best lemon cake, in four steps.", link="https://janedoe.example/lemon-cake",
                media={"media_type": "image", "images": images("lemon")}),
        own_pin("813744226420795899", created_at="2026-11-27T08:00:00", title="Someone else's tart", is_owner=False,
                board_owner={"username": "bakerbob"}, media={"media_type": "image", "images": images("tart")}),
        own_pin("813744226420795890", created_at="2026-11-20T10:15:00", description="Kneading, slowly",
                creative_type="VIDEO", board_section_id="5027629787972154693",
                media={"media_type": "video", "cover_image_url": "https://i.pinimg.com/videos/thumbnails/knead.jpg",
                       "duration": 12000, "height": 1920, "width": 1080}),
    ],
    "bookmark": PINS_BOOKMARK,
}  # fmt: skip
OWN_PINS_PAGE2 = {
    "items": [
        own_pin("813744226420795850", created_at="2026-09-03T07:45:00", title="Breakfast ideas",
                description="Five mornings", creative_type="CAROUSEL",
                media={"media_type": "multiple_mixed",
                       "items": [{"item_type": "image", "images": images("eggs")},
                                 {"item_type": "image", "images": images("toast")}]}),
    ],
    "bookmark": None,
}  # fmt: skip


def mock_own_pins() -> None:
    """Two pages as Pinterest pages them: the next asked for with the answer's ``bookmark``."""
    first = responses.matchers.query_param_matcher({"page_size": "100"})
    second = responses.matchers.query_param_matcher({"page_size": "100", "bookmark": PINS_BOOKMARK})
    responses.add(responses.GET, PINS, json=OWN_PINS_PAGE1, match=[first])
    responses.add(responses.GET, PINS, json=OWN_PINS_PAGE2, match=[second])
