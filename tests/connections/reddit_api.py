"""Reddit's answers in the shapes of platforms-other.md section 8, for tests/connections/test_reddit.py.

The subreddit's ``/about`` and post requirements, and the flair list's items, are not in the
reference; they follow the shapes Reddit's own API pages list for those calls."""

import json
from typing import Any

import responses

WWW = "https://www.reddit.com"
API = "https://oauth.reddit.com"
AUTHORIZE_URL = f"{WWW}/api/v1/authorize"
TOKEN_URL = f"{WWW}/api/v1/access_token"
REVOKE_URL = f"{WWW}/api/v1/revoke_token"
ME_URL = f"{API}/api/v1/me"
SUBMIT = f"{API}/api/submit"
COMMENT = f"{API}/api/comment"
DELETE = f"{API}/api/del"
INFO = f"{API}/api/info"
ASSET = f"{API}/api/media/asset.json"
SUBSCRIBED = f"{API}/subreddits/mine/subscriber"
USER_ID = "abc12"
USERNAME = "alice"
SUBMITTED = f"{API}/user/{USERNAME}/submitted"
COMMENTS = f"{API}/user/{USERNAME}/comments"
SR = "python"
ABOUT = f"{API}/r/{SR}/about"
REQUIREMENTS = f"{API}/api/v1/{SR}/post_requirements"
FLAIRS = f"{API}/r/{SR}/api/link_flair_v2"
POST_ID = "1abcde"
POST_NAME = f"t3_{POST_ID}"
FLAIR_ID = "8c3a7b2e-4d1f-11ee-9c2a-0e7f3b2c1a90"
SCOPE = "identity submit mysubreddits read edit flair history"
ACCESS = "eyJhbGciOiJSUzI1NiIsImtpZCI6IlNIQTI1NjpzS3dsMnlsV0VtMjVmcXhwTU40cWY4MXE2OWFFdWFy"
REFRESH = "12345-abcdefGHIjklMNOpqrsTUVwxyz"
LEASE_HOST = "//reddit-uploaded-media.s3-accelerate.amazonaws.com"
UPLOAD_URL = f"https:{LEASE_HOST}"


def token(**changes: Any) -> dict[str, Any]:
    return {"access_token": ACCESS, "token_type": "bearer", "expires_in": 86400, "refresh_token": REFRESH,
            "scope": SCOPE, **changes}  # fmt: skip


def me(**changes: Any) -> dict[str, Any]:
    return {"id": USER_ID, "name": USERNAME, "total_karma": 1234, "created_utc": 1600000000.0,
            "icon_img": "https://styles.redditmedia.com/t5_2x/styles/profileIcon_a1.png?width=256&amp;s=0f1e2d",
            **changes}  # fmt: skip


def submitted(post_id: str = POST_ID, sr: str = SR, slug: str = "hello") -> dict[str, Any]:
    return {"json": {"errors": [], "data": {"url": f"{WWW}/r/{sr}/comments/{post_id}/{slug}/", "drafts_count": 0,
                                            "id": post_id, "name": f"t3_{post_id}"}}}  # fmt: skip


def media_submitted() -> dict[str, Any]:
    """An image or video post's answer: a page and a websocket, no id."""
    return {"json": {"errors": [], "data": {"user_submitted_page": f"{WWW}/user/{USERNAME}/submitted/",
                                            "websocket_url": "wss://ws-078f2b3a.wss.redditmedia.com/rte_images/"
                                                             "abc?m=AQAAHxSpZQ"}}}  # fmt: skip


def refused(code: str, message: str, field: str = "", **extra: Any) -> dict[str, Any]:
    """Reddit's HTTP 200 refusal: ``json.errors`` as [[CODE, message, field]]."""
    return {"json": {"errors": [[code, message, field]], **extra}}


def lease(key: str = "rte_images/abc.jpg", asset_id: str = "abc123") -> dict[str, Any]:
    fields = [{"name": "acl", "value": "private"}, {"name": "key", "value": key},
              {"name": "X-Amz-Credential", "value": "AKIAI/20260101/us-east-1/s3/aws4_request"},
              {"name": "X-Amz-Algorithm", "value": "AWS4-HMAC-SHA256"},
              {"name": "X-Amz-Date", "value": "20260101T000000Z"}, {"name": "success_action_status", "value": "201"},
              {"name": "content-type", "value": "image/jpeg"}, {"name": "policy", "value": "eyJleHBpcmF0aW9uIjoi"},
              {"name": "X-Amz-Signature", "value": "9f8e7d"}]  # fmt: skip
    return {"args": {"action": LEASE_HOST, "fields": fields},
            "asset": {"asset_id": asset_id, "processing_state": "incomplete",
                      "payload": {"filepath": key.rpartition("/")[2]},
                      "websocket_url": f"wss://ws-0a1b2c.wss.redditmedia.com/rte_images/{asset_id}"}}  # fmt: skip


UPLOADED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Location>https://reddit-uploaded-media.s3-accelerate'
    ".amazonaws.com/rte_images%2Fabc.jpg</Location><Bucket>reddit-uploaded-media</Bucket>"
    '<Key>rte_images/abc.jpg</Key><ETag>"0a1b2c"</ETag></PostResponse>'
)


def about(sr: str = SR, **changes: Any) -> dict[str, Any]:
    return {"kind": "t5", "data": {"display_name": sr, "display_name_prefixed": f"r/{sr}", "name": "t5_2qh0y",
                                   "subreddit_type": "public", "submission_type": "any", "allow_images": True,
                                   "allow_videos": True, "allow_galleries": True, "over18": False,
                                   "user_is_banned": False, "user_is_contributor": False, "subscribers": 1300000,
                                   **changes}}  # fmt: skip


def requirements(**changes: Any) -> dict[str, Any]:
    return {"title_regexes": [], "body_blacklisted_strings": [], "title_blacklisted_strings": [],
            "body_text_max_length": None, "title_required_strings": [], "guidelines_text": None,
            "gallery_min_items": None, "domain_blacklist": [], "domain_whitelist": [], "title_text_max_length": None,
            "body_restriction_policy": "none", "link_restriction_policy": "none", "guidelines_display_policy": None,
            "body_required_strings": [], "title_text_min_length": None, "gallery_captions_requirement": "none",
            "is_flair_required": False, "gallery_max_items": None, "gallery_urls_requirement": "none",
            "body_regexes": [], "link_repost_age": None, "body_text_min_length": None, **changes}  # fmt: skip


def flair(flair_id: str = FLAIR_ID, text: str = "Discussion", **changes: Any) -> dict[str, Any]:
    return {"text": text, "text_editable": False, "id": flair_id, "type": "text", "text_color": "dark",
            "background_color": "#ffd635", "css_class": "", "mod_only": False, "allowable_content": "all",
            "max_emojis": 10, "richtext": [], **changes}  # fmt: skip


def listing(kind: str, things: list[dict[str, Any]], after: str | None = None) -> dict[str, Any]:
    return {"kind": "Listing", "data": {"after": after, "dist": len(things), "modhash": None, "geo_filter": "",
                                        "children": [{"kind": kind, "data": thing} for thing in things],
                                        "before": None}}  # fmt: skip


def subreddit(name: str) -> dict[str, Any]:
    return {"display_name": name, "display_name_prefixed": f"r/{name}", "name": f"t5_{name[:5]}",
            "subreddit_type": "public", "over18": False, "subscribers": 1000}  # fmt: skip


def post(post_id: str = POST_ID, *, title: str = "Hello", sr: str = SR, selftext: str = "", url: str = "",
         created_utc: float = 1767225600.0, score: int = 42, num_comments: int = 7) -> dict[str, Any]:  # fmt: skip
    permalink = f"/r/{sr}/comments/{post_id}/hello/"
    return {"id": post_id, "name": f"t3_{post_id}", "subreddit": sr, "title": title, "selftext": selftext,
            "is_self": not url, "url": url or f"{WWW}{permalink}", "permalink": permalink, "author": USERNAME,
            "created_utc": created_utc, "score": score, "ups": score, "upvote_ratio": 0.95,
            "num_comments": num_comments, "view_count": None, "over_18": False, "spoiler": False}  # fmt: skip


def comment(comment_id: str, *, body: str, parent_id: str, link_id: str = POST_NAME,
            created_utc: float = 1767225600.0, score: int = 1) -> dict[str, Any]:  # fmt: skip
    return {"id": comment_id, "name": f"t1_{comment_id}", "body": body, "parent_id": parent_id, "link_id": link_id,
            "subreddit": SR, "author": USERNAME, "permalink": f"/r/{SR}/comments/{link_id[3:]}/hello/{comment_id}/",
            "created_utc": created_utc, "score": score, "ups": score}  # fmt: skip


def comment_created(thing: dict[str, Any]) -> dict[str, Any]:
    return {"json": {"errors": [], "data": {"things": [{"kind": "t1", "data": thing}]}}}


RATELIMIT = refused("RATELIMIT", "Looks like you've been doing that a lot. Take a break for 5 minutes before "
                    "trying again.", "ratelimit")  # fmt: skip
NOT_ALLOWED = refused("SUBREDDIT_NOTALLOWED", "you aren't allowed to post there.", "sr")
NO_SUBREDDIT = refused("SUBREDDIT_NOEXIST", "that subreddit doesn't exist", "sr")
NO_SELFS = refused("NO_SELFS", "that subreddit doesn't allow text posts", "sr")
NO_LINKS = refused("NO_LINKS", "that subreddit only allows text posts", "sr")
FLAIR_REQUIRED = refused("SUBMIT_VALIDATION_FLAIR_REQUIRED", "Your post must contain post flair.", "flair")
TOO_LONG = refused("TOO_LONG", "this is too long (max: 300)", "title")
BAD_URL = refused("BAD_URL", "you should check that url", "url")
ALREADY_SUB = refused("ALREADY_SUB", "that link has already been submitted", "url")
USER_REQUIRED = refused("USER_REQUIRED", "Please log in to do that.")
UNAUTHORIZED = {"message": "Unauthorized", "error": 401}
FORBIDDEN = {"message": "Forbidden", "error": 403}
NOT_FOUND = {"message": "Not Found", "error": 404}
TOO_MANY = {"message": "Too Many Requests", "error": 429}
BAD_GATEWAY = {"message": "Bad Gateway", "error": 502}
INSUFFICIENT_SCOPE = {"message": "Forbidden", "error": "insufficient_scope"}


def error(method: str, url: str, body: dict[str, Any], status: int, headers: dict[str, str] | None = None):
    return lambda: responses.add(method, url, body=json.dumps(body), status=status, headers=headers,
                                 content_type="application/json")  # fmt: skip


def rate_headers(used: str = "12", remaining: str = "588.0", reset: str = "347") -> dict[str, str]:
    return {"X-Ratelimit-Used": used, "X-Ratelimit-Remaining": remaining, "X-Ratelimit-Reset": reset}


# --- The account's own submissions (GET /user/{name}/submitted), two pages ----------------------

SUBMITTED_AFTER = "t3_1gq2b7c"


def own_submission(post_id: str, *, title: str, created_utc: float, **changes: Any) -> dict[str, Any]:
    """A t3 as the submitted listing gives it with raw_json=1 (URLs not HTML-escaped)."""
    return {**post(post_id, title=title, created_utc=created_utc), "thumbnail": "self", "is_video": False,
            "subreddit_name_prefixed": f"r/{SR}", "link_flair_text": None, "removed_by_category": None,
            "domain": f"self.{SR}", **changes}  # fmt: skip


OWN_SUBMITTED_PAGE1 = listing("t3", [
    own_submission("1gq3x9z", title="Show and tell: our scheduler", created_utc=1763629200.0,
                   selftext="It posts **everywhere**.\n\nFeedback welcome."),
    own_submission("1gq3a11", title="Crossposted from r/django", created_utc=1763625600.0, is_self=False,
                   url="https://www.reddit.com/r/django/comments/1gp0aaa/the_original/",
                   crosspost_parent="t3_1gp0aaa", crosspost_parent_list=[{"id": "1gp0aaa"}]),
    own_submission("1gq2b7c", title="The release notes", created_utc=1763539200.0, is_self=False,
                   url="https://example.com/releases/2-0", domain="example.com",
                   thumbnail="https://b.thumbs.redditmedia.com/Xy1Zq.jpg",
                   preview={"images": [{"source": {"url": "https://external-preview.redd.it/notes.png?width=1200&s=ab12",
                                                   "width": 1200, "height": 630},
                                        "resolutions": [], "id": "n0tes"}], "enabled": False}),
], after=SUBMITTED_AFTER)  # fmt: skip
OWN_SUBMITTED_PAGE2 = listing("t3", [
    own_submission("1fz0v1d", title="Our office, in ten seconds", created_utc=1759400000.0, is_self=False,
                   is_video=True, url="https://v.redd.it/k3yv1d30", domain="v.redd.it",
                   preview={"images": [{"source": {"url": "https://external-preview.redd.it/k3yv1d.jpeg?s=cd34",
                                                   "width": 1080, "height": 1920},
                                        "resolutions": [], "id": "k3yv1d"}], "enabled": False}),
])  # fmt: skip


def mock_own_submissions() -> None:
    """Two pages as Reddit pages them: the next asked for with ``after``, the last one's null."""
    base = {"raw_json": "1", "sort": "new", "limit": "100"}
    first = responses.matchers.query_param_matcher(base)
    second = responses.matchers.query_param_matcher({**base, "after": SUBMITTED_AFTER})
    responses.add(responses.GET, SUBMITTED, json=OWN_SUBMITTED_PAGE1, match=[first])
    responses.add(responses.GET, SUBMITTED, json=OWN_SUBMITTED_PAGE2, match=[second])


def me_with_totals() -> dict[str, Any]:
    """/api/v1/me with the karma split and the profile subreddit that counts the followers."""
    profile = {"display_name": f"u_{USERNAME}", "display_name_prefixed": f"u/{USERNAME}", "subscribers": 87,
               "subreddit_type": "user", "name": "t5_3k2j1h"}  # fmt: skip
    return me(link_karma=1034, comment_karma=200, subreddit=profile)
