"""Reddit, per platforms-other.md section 8 (and platforms-engagement.md section 10 for deleting).

Connecting: a "web app" OAuth client (the only kind that gets refresh tokens), asked for
``duration=permanent``; the app authenticates to the token endpoint with a Basic header, and the
refresh token lasts until revoked (a refresh usually sends none back, and the stored one stays).
Every call, the token endpoint's included, carries ``REDDIT_USER_AGENT``: Reddit throttles
generic agents hard.

Publishing: every post goes to a subreddit chosen per post, from the account's subscribed ones
(listed live by ``composer_choices``). The text's first line is the title (required, at most
300 characters), the rest the self text. A post with a link and no text after the title is a
link post; one with media an image or video post (a video needs an image beside it as its
poster). Before submitting, the subreddit's own rules that the API exposes are checked: the
post types it allows (``/about``), its title lengths, body policy, banned domains and whether
it requires a flair (post requirements), and that the chosen flair is one of its own. Replies
and the first comment are comments. A media post's id comes only over a websocket, so it is
looked for in the user's submitted listing while the part waits in the processing state.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from authlib.integrations.requests_client import OAuth2Session
from django.core.cache import cache

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    EXTRA,
    AccountMetrics,
    AccountState,
    AppCredentials,
    MediaItem,
    PartKind,
    PartRequest,
    Pending,
    PostMetrics,
    PostPage,
    PreviewLook,
    Profile,
    PublishedItem,
    PublishRequest,
    TextRules,
    TokenSet,
)
from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaRules
from connections.providers.oauth2 import OAuth2Provider
from connections.providers.reddit import imports
from connections.providers.reddit.client import RedditApi, children, setting, upload_to_lease, window_hold

SITE = "https://www.reddit.com"
TITLE_MAX = 300
BODY_MAX = 40_000
COMMENT_MAX = 10_000
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif")
VIDEO_TYPES = ("video/mp4", "video/quicktime")
SELF, LINK, IMAGE_POST, VIDEO_POST = "self", "link", "image", "video"
MEDIA_KINDS = frozenset({IMAGE_POST, VIDEO_POST})
SUBREDDIT = "subreddit"
FLAIR = "flair"
NSFW = "nsfw"
SPOILER = "spoiler"
YES = "yes"
CHOOSE = ("", "Choose...")
NO_FLAIR = ("", "No flair")
# A subreddit's name, or a user's profile ("u_" and the username).
SUBREDDIT_NAME = re.compile(r"u_[A-Za-z0-9_-]{3,20}|[A-Za-z0-9][A-Za-z0-9_]{1,20}")
LISTING_PAGE = 100
INFO_BATCH = 100
CHOICES_CACHE_S = 120
CLOCK_SKEW = timedelta(minutes=5)
MEDIA_CHECK_S = 10.0


@dataclass(frozen=True)
class PlannedPost:
    """What one Reddit submission will be, worked out (and checked) before any call."""

    subreddit: str
    kind: str
    title: str
    text: str = ""
    url: str = ""
    flair_id: str = ""
    flair_text: str = ""  # the chosen flair's own text, read from the subreddit's list
    nsfw: bool = False
    spoiler: bool = False


class RedditProvider(OAuth2Provider):
    id = "reddit"
    name = "Reddit"
    authorize_url = "https://www.reddit.com/api/v1/authorize"
    token_url = "https://www.reddit.com/api/v1/access_token"
    revoke_url = "https://www.reddit.com/api/v1/revoke_token"
    token_endpoint_auth_method = "client_secret_basic"
    extra_authorize_params: ClassVar[dict[str, str]] = {"duration": "permanent"}
    supports_pkce = False
    supports_check = True
    supports_refresh = True
    supports_revoke = True
    supports_lookup = True
    supports_delete = True
    supports_metrics = True
    supports_account_metrics = True
    supports_import = True
    # fetch_metrics puts upvotes in likes and comments in replies; score (fuzzed) and the upvote
    # ratio have no column of ours and stay extras.
    metric_names = {"score": EXTRA, "upvote_ratio_percent": EXTRA}
    # /api/v1/me: ``subreddit.subscribers`` is how many follow the user (following a user is
    # subscribing to their profile, u_<name>) ⚠ not in platforms-other.md, which names only
    # karma; karma is no count of ours and stays among the extras. Reddit has no views.
    account_metric_names = {
        "subscribers": "followers",
        "total_karma": EXTRA,
        "link_karma": EXTRA,
        "comment_karma": EXTRA,
    }
    # submit, identity, mysubreddits (the composer's list), read (about, info), edit (delete),
    # flair (the subreddit's flairs), history (the user's submitted listing, for reconciling).
    default_scopes = ("identity", "submit", "mysubreddits", "read", "edit", "flair", "history")
    developer_console_url = "https://www.reddit.com/prefs/apps"
    setup_steps = (
        'Create a "web app" at reddit.com/prefs/apps with this site\'s callback URL as its redirect URI, '
        "set REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET, and set REDDIT_USER_AGENT to describe your "
        "instance (web:<app id>:<version> (by /u/<your reddit name>))."
    )
    composer_options = (
        (SUBREDDIT, "Subreddit", (CHOOSE,)),
        (FLAIR, "Flair", (NO_FLAIR,)),
        (NSFW, "NSFW", (("", "Not NSFW"), (YES, "Mark NSFW"))),
        (SPOILER, "Spoiler", (("", "Not a spoiler"), (YES, "Mark as spoiler"))),
    )
    account_options = (SUBREDDIT, FLAIR)
    required_options = (SUBREDDIT,)
    preview_look = PreviewLook(avatar="round", accent="neutral", link_card=True, reply_label="Comment",
                               comment_label="First comment")  # fmt: skip

    # --- Connect --------------------------------------------------------------------------------

    def oauth_session(self, app: AppCredentials, *, redirect_uri: str | None = None) -> OAuth2Session:
        session = super().oauth_session(app, redirect_uri=redirect_uri)
        session.headers["User-Agent"] = str(setting("REDDIT_USER_AGENT"))  # the token endpoint too
        return session

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        with RedditApi(tokens.access_token) as api:
            return _profile(api.json("GET", "/api/v1/me", forbidden=ErrorClass.AUTH))

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        with _api(account) as api:
            return _profile(api.json("GET", "/api/v1/me", forbidden=ErrorClass.AUTH))

    # --- Composer -------------------------------------------------------------------------------

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        return TextRules(
            max_length=TITLE_MAX + 1 + BODY_MAX,
            title_max_length=TITLE_MAX,
            title_required=True,
            max_media=2,  # one image, or a video and its poster image
            max_image_bytes=int(setting("REDDIT_IMAGE_MAX_BYTES")),
            accepted_mime_types=(*IMAGE_TYPES, *VIDEO_TYPES),
        )

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        off = "" if setting("REDDIT_MEDIA_POSTS") else "media posts are switched off on this server."
        image = FormatRule(IMAGE, "Reddit image", IMAGE_TYPES, max_count=1, fits=True, unavailable=off,
                           max_bytes=int(setting("REDDIT_IMAGE_MAX_BYTES")))  # fmt: skip
        video = FormatRule(VIDEO, "Reddit video", VIDEO_TYPES, max_count=1, unavailable=off,
                           max_bytes=int(setting("REDDIT_VIDEO_MAX_BYTES")))  # fmt: skip
        # A video post takes an image beside it: its poster.
        return MediaRules(platform=self.name, formats=(image, video), may_mix=True)

    def composer_choices(self, *, account: AccountState, name: str) -> tuple[tuple[str, str], ...]:
        """The subreddits the account subscribes to (and its own profile), or the flairs of the
        subreddits it posted to last. Kept a short while, so each composer page does not ask again."""
        if name not in (SUBREDDIT, FLAIR):
            return ()
        key = f"reddit-choices:{name}:{account.external_id}"
        cached = cache.get(key)
        if isinstance(cached, tuple):
            return cached
        with _api(account) as api:
            choices = (CHOOSE, *self._subreddits(api, account)) if name == SUBREDDIT else (
                NO_FLAIR, *self._recent_flairs(api, account))  # fmt: skip
        cache.set(key, choices, timeout=CHOICES_CACHE_S)
        return choices

    def _subreddits(self, api: RedditApi, account: AccountState) -> list[tuple[str, str]]:
        found: dict[str, str] = {}
        after = ""
        while len(found) < int(setting("REDDIT_SUBREDDITS_MAX")):
            params = {"limit": LISTING_PAGE, **({"after": after} if after else {})}
            answer = api.json("GET", "/subreddits/mine/subscriber", params={"raw_json": 1, **params})
            for sub in children(answer):
                name = str(sub.get("display_name") or "")
                if SUBREDDIT_NAME.fullmatch(name) and not name.startswith("u_"):
                    found[name] = f"r/{name}"
            data = answer.get("data")
            after = str(data.get("after") or "") if isinstance(data, dict) else ""
            if not after:
                break
        own = [(f"u_{account.username}", f"u/{account.username} (your profile)")]
        return own + sorted(found.items(), key=lambda item: item[0].lower())

    def _recent_flairs(self, api: RedditApi, account: AccountState) -> list[tuple[str, str]]:
        posts = api.listing(f"/user/{quote(account.username, safe='')}/submitted", limit=25, sort="new")
        recent = list(dict.fromkeys(str(post.get("subreddit") or "") for post in posts))
        recent = [name for name in recent if SUBREDDIT_NAME.fullmatch(name)][: int(setting("REDDIT_FLAIR_SUBREDDITS"))]
        return [(flair_id, f"r/{name}: {text}") for name in recent for flair_id, text in _flairs(api, name)]

    # --- Publishing -----------------------------------------------------------------------------

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        if part.kind != PartKind.MAIN:
            return self._comment(account, part)
        post = planned_post(request, part)  # bad input fails before any call
        held = window_hold(account.external_id)
        if held is not None:
            return Pending(reason="Pacing: the Reddit rate-limit window is spent; waiting for its reset",
                           state=dict(part.state), check_in_s=max(1.0, held))  # fmt: skip
        with _api(account) as api:
            if part.state.get("submitted_at"):
                return self._await_media_post(api, account, post, part)
            post = _checked_against_subreddit(api, post)
            fields = _submit_fields(post, self._media_urls(api, post, part))
            answer = api.json("POST", "/api/submit", data=fields, create_call=True)
        if post.kind in MEDIA_KINDS:
            # Reddit answers a media post with a websocket to wait on, not an id: the submitted
            # listing tells when it is up.
            return Pending(reason="Reddit is processing the media post", check_in_s=MEDIA_CHECK_S,
                           state={**part.state, "submitted_at": time.time()})  # fmt: skip
        return _submitted(answer)

    def _await_media_post(
        self, api: RedditApi, account: AccountState, post: PlannedPost, part: PartRequest
    ) -> PublishedItem | Pending:
        submitted_at = float(part.state["submitted_at"])
        found = _find_post(api, account, post, since=submitted_at - CLOCK_SKEW.total_seconds())
        if found is not None:
            return found
        if time.time() - submitted_at > float(setting("REDDIT_MEDIA_POST_WAIT_SECONDS")):
            # It may yet appear: reconciliation looks again rather than submitting a second one.
            message = "Reddit took the media post but has not shown it in the account's posts yet."
            raise ProviderError(ErrorClass.TRANSIENT, message, code="media_post_unseen", outcome_unknown=True)
        return Pending(reason="Reddit is processing the media post", state=dict(part.state),
                       check_in_s=MEDIA_CHECK_S)  # fmt: skip

    def _media_urls(self, api: RedditApi, post: PlannedPost, part: PartRequest) -> dict[str, str]:
        """The leased storage URLs of the post's image, or of its video and poster; each upload is
        kept in the part's upload store, so a retry never uploads a file twice."""
        if post.kind not in MEDIA_KINDS:
            return {}
        media = part.content.media
        if post.kind == IMAGE_POST:
            return {"url": _leased_url(api, media[0], part)}
        video = next(item for item in media if item.mime_type in VIDEO_TYPES)
        poster = next(item for item in media if item.mime_type in IMAGE_TYPES)
        return {"url": _leased_url(api, video, part), "video_poster_url": _leased_url(api, poster, part)}

    def _comment(self, account: AccountState, part: PartRequest) -> PublishedItem:
        text = part.content.text.strip()
        if part.content.media:
            raise ProviderError(ErrorClass.CONTENT, "Reddit comments take text only, no media.", code="comment_media")
        if not text:
            raise ProviderError(ErrorClass.CONTENT, "A Reddit comment needs text.", code="no_text")
        if len(text) > COMMENT_MAX:
            raise ProviderError(ErrorClass.CONTENT, f"A Reddit comment takes at most {COMMENT_MAX:,} characters.",
                                code="comment_too_long")  # fmt: skip
        if part.parent is None:
            raise ProviderError(ErrorClass.CONTENT, "A Reddit comment needs the post it answers.", code="no_parent")
        fields = {"api_type": "json", "thing_id": part.parent.platform_post_id, "text": text}
        with _api(account) as api:
            answer = api.json("POST", "/api/comment", data=fields, create_call=True)
        thing = _created_comment(answer)
        return PublishedItem(platform_post_id=str(thing["name"]), url=_permalink(thing))

    # --- After publishing -----------------------------------------------------------------------

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """The part among the account's latest posts (the main post: same subreddit, title and
        text or link) or comments (same text, same parent), made no earlier than the run that
        sent it (less clock skew), so an identical older one is not taken for it."""
        since = part.sent_after.timestamp() - CLOCK_SKEW.total_seconds() if part.sent_after else None
        with _api(account) as api:
            if part.kind == PartKind.MAIN:
                return _find_post(api, account, planned_post(request, part), since=since)
            return _find_comment(api, account, part, since=since)

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        """Reddit answers ``/api/del`` with an empty object whether or not the thing was there."""
        with _api(account) as api:
            api.json("POST", "/api/del", data={"id": platform_post_id})

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        """Score, upvotes and comment counts, 100 things a call (Reddit fuzzes scores and shows
        no views); a thing Reddit does not list is left out."""
        ids = list(dict.fromkeys(platform_post_ids))
        wanted = set(ids)
        metrics: dict[str, PostMetrics] = {}
        with _api(account) as api:
            for start in range(0, len(ids), INFO_BATCH):
                for thing in api.listing("/api/info", id=",".join(ids[start : start + INFO_BATCH])):
                    if thing.get("name") in wanted:
                        metrics[str(thing["name"])] = _metrics(thing)
        return metrics

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        with _api(account) as api:
            me = api.json("GET", "/api/v1/me", forbidden=ErrorClass.AUTH)
        if str(me.get("id") or "") != account.external_id:
            raise ProviderError(ErrorClass.AUTH, "This Reddit token belongs to another account: reconnect.",
                                code="account_mismatch")  # fmt: skip
        profile = me.get("subreddit")
        subscribers = profile.get("subscribers") if isinstance(profile, dict) else None
        return AccountMetrics.from_platform({**me, "subscribers": subscribers}, self.account_metric_names)

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        with _api(account) as api:
            return imports.list_own_posts(api, account=account, cursor=cursor)


# --- Planning and checking a post --------------------------------------------------------------


def _content(message: str, code: str) -> ProviderError:
    return ProviderError(ErrorClass.CONTENT, message, code=code)


def subreddit_of(options: Mapping[str, Any]) -> str:
    name = str(options.get(SUBREDDIT) or "").strip().removeprefix("r/")
    if not name:
        raise _content("Choose the subreddit to post to.", "no_subreddit")
    if not SUBREDDIT_NAME.fullmatch(name):
        raise _content(f"{name[:40]!r} is not a subreddit's name.", "bad_subreddit")
    return name


def planned_post(request: PublishRequest, part: PartRequest) -> PlannedPost:
    """The submission the request makes: its kind from what it carries, its title from the first
    line. A link with body text becomes a text post ending with the link (a link post has no
    body); media posts take a title only."""
    title, _newline, body = part.content.text.strip().partition("\n")
    title, body = title.strip(), body.strip()
    if not title:
        raise _content("Give the Reddit post a title: the text's first line.", "no_title")
    if len(title) > TITLE_MAX:
        raise _content(f"A Reddit title takes at most {TITLE_MAX} characters (the first line).", "title_too_long")
    options = request.options
    base = PlannedPost(subreddit=subreddit_of(options), kind=SELF, title=title, flair_id=_flair_of(options),
                       nsfw=options.get(NSFW) == YES, spoiler=options.get(SPOILER) == YES)  # fmt: skip
    if part.content.media:
        return replace(base, kind=_media_kind(part.content.media, body, request.link))
    if request.link and not body:
        return replace(base, kind=LINK, url=request.link)
    text = f"{body}\n\n{request.link}".strip() if request.link else body
    if len(text) > BODY_MAX:
        raise _content(f"A Reddit text post takes at most {BODY_MAX:,} characters after the title.", "body_too_long")
    return replace(base, text=text)


def _flair_of(options: Mapping[str, Any]) -> str:
    flair = str(options.get(FLAIR) or "").strip()
    if flair and not re.fullmatch(r"[A-Za-z0-9-]{1,64}", flair):
        raise _content("That is not a Reddit flair's id: choose the flair from the list.", "bad_flair")
    return flair


def _media_kind(media: tuple[MediaItem, ...], body: str, link: str) -> str:
    if not setting("REDDIT_MEDIA_POSTS"):
        raise ProviderError(ErrorClass.CONFIG, "Reddit media posts are switched off on this server.",
                            code="media_off")  # fmt: skip
    if body or link:
        raise _content("A Reddit image or video post takes a title only: move the text or link to a comment.",
                       "media_with_text")  # fmt: skip
    images = [item for item in media if item.mime_type in IMAGE_TYPES]
    videos = [item for item in media if item.mime_type in VIDEO_TYPES]
    if len(images) + len(videos) != len(media):
        raise _content("Reddit takes JPEG, PNG or GIF images, or MP4 or MOV video.", "media_type")
    if videos:
        if len(videos) > 1 or len(images) != 1:
            raise _content("A Reddit video post takes one video and one image beside it as its poster.",
                           "video_needs_poster")  # fmt: skip
        return VIDEO_POST
    if len(images) > 1:
        raise _content("A Reddit image post takes one image (galleries are not supported yet).", "too_many_media")
    return IMAGE_POST


def _checked_against_subreddit(api: RedditApi, post: PlannedPost) -> PlannedPost:
    """The subreddit's own rules the API exposes, checked before submitting, so the author reads
    what to change instead of Reddit's bare refusal. Returns the post with its flair's text."""
    sr = post.subreddit
    about = _about(api, sr)
    if about.get("user_is_banned") is True:
        raise _content(f"This account is banned from r/{sr}.", "banned")
    allowed = str(about.get("submission_type") or "any")
    if allowed == "self" and post.kind != SELF:
        raise _content(f"r/{sr} takes text posts only: remove the link or media.", "text_only")
    if allowed == "link" and post.kind == SELF:
        raise _content(f"r/{sr} takes no text posts: add a link or media.", "no_text_posts")
    for kind, flag, what in ((IMAGE_POST, "allow_images", "images"), (VIDEO_POST, "allow_videos", "videos")):
        if post.kind == kind and about.get(flag) is False:
            raise _content(f"r/{sr} does not allow {what}.", f"no_{what}")
    _check_requirements(_requirements(api, sr), post)
    if not post.flair_id:
        return post
    flairs = dict(_flairs(api, sr))
    if post.flair_id not in flairs:
        raise _content(f"That flair is not one of r/{sr}'s: choose one of its own.", "unknown_flair")
    return replace(post, flair_text=flairs[post.flair_id])


def _about(api: RedditApi, sr: str) -> dict[str, Any]:
    """The subreddit's ``/about``. Reddit sends a name it does not know to its search (a
    redirect) or answers 404; a private or quarantined one answers 403."""
    try:
        data = api.json("GET", f"/r/{quote(sr, safe='')}/about", params={"raw_json": 1}).get("data")
    except ProviderError as exc:
        if exc.status in (301, 302, 307, 404):
            raise _content(f"r/{sr} does not exist (or Reddit has banned it).", "no_subreddit_found") from None
        if exc.status == 403:
            raise _content(f"r/{sr} is private or quarantined, or this account is banned there.",
                           "subreddit_forbidden") from None  # fmt: skip
        raise
    return data if isinstance(data, dict) else {}


def _requirements(api: RedditApi, sr: str) -> dict[str, Any]:
    path = str(setting("REDDIT_POST_REQUIREMENTS_PATH")).format(subreddit=quote(sr, safe=""))
    try:
        return api.json("GET", path)
    except ProviderError as exc:
        if exc.status in (403, 404):
            return {}  # profiles and some subreddits publish none: nothing more to check
        raise


def _check_requirements(rules: Mapping[str, Any], post: PlannedPost) -> None:
    sr = post.subreddit
    low, high = _int(rules.get("title_text_min_length")), _int(rules.get("title_text_max_length"))
    if low is not None and len(post.title) < low:
        raise _content(f"r/{sr} wants a title of at least {low} characters.", "title_too_short")
    if high is not None and len(post.title) > high:
        raise _content(f"r/{sr} takes a title of at most {high} characters.", "title_too_long")
    policy = str(rules.get("body_restriction_policy") or "")
    if post.kind == SELF and policy == "required" and not post.text:
        raise _content(f"r/{sr} requires text after the title.", "body_required")
    if post.kind == SELF and policy == "notAllowed" and post.text:
        raise _content(f"r/{sr} takes a title only: remove the text after the first line.", "body_not_allowed")
    if rules.get("is_flair_required") is True and not post.flair_id:
        raise _content(f"r/{sr} requires a flair: choose one.", "flair_required")
    banned = rules.get("domain_blacklist")
    host = (urlsplit(post.url).hostname or "").removeprefix("www.") if post.url else ""
    if host and isinstance(banned, list) and host in {str(domain).removeprefix("www.") for domain in banned}:
        raise _content(f"r/{sr} does not take links to {host}.", "banned_domain")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _flairs(api: RedditApi, sr: str) -> list[tuple[str, str]]:
    """The subreddit's post flairs a user may choose (id, text); none where it offers none."""
    try:
        answer = api.call("GET", f"/r/{quote(sr, safe='')}/api/link_flair_v2")
    except ProviderError as exc:
        if exc.status in (403, 404):
            return []  # flair switched off for users there
        raise
    try:
        flairs = answer.json()
    except ValueError:
        flairs = None
    return [
        (str(flair["id"]), str(flair.get("text") or flair["id"]))
        for flair in flairs if isinstance(flair, dict) and flair.get("id") and flair.get("mod_only") is not True
    ] if isinstance(flairs, list) else []  # fmt: skip


def _submit_fields(post: PlannedPost, media_urls: Mapping[str, str]) -> dict[str, str]:
    fields = {"api_type": "json", "sr": post.subreddit, "kind": post.kind, "title": post.title,
              "resubmit": "true", "sendreplies": "true", "nsfw": _flag(post.nsfw), "spoiler": _flag(post.spoiler),
              **media_urls}  # fmt: skip
    if post.kind == SELF:
        fields["text"] = post.text
    if post.kind == LINK:
        fields["url"] = post.url
    if post.flair_id:
        fields["flair_id"] = post.flair_id
        fields["flair_text"] = post.flair_text
    return fields


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _leased_url(api: RedditApi, item: MediaItem, part: PartRequest) -> str:
    key = f"asset:{item.filename}:{item.size}"
    stored = part.uploads.load(key) or {}
    if stored.get("url"):
        return str(stored["url"])
    lease = api.json("POST", str(setting("REDDIT_MEDIA_ASSET_PATH")),
                     data={"filepath": item.filename, "mimetype": item.mime_type})  # fmt: skip
    leased = lease.get("args")
    args: dict[str, Any] = leased if isinstance(leased, dict) else {}
    action = str(args.get("action") or "")
    listed = args.get("fields")
    fields = [(str(f["name"]), str(f.get("value") or "")) for f in listed if isinstance(f, dict) and f.get("name")] \
        if isinstance(listed, list) else []  # fmt: skip
    asset_key = dict(fields).get("key")
    if not action or not asset_key:
        raise ProviderError(ErrorClass.TRANSIENT, "Reddit's media lease has no upload address or key.",
                            code="malformed")  # fmt: skip
    with item.open() as stream:
        upload_to_lease(action, fields, (item.filename, stream, item.mime_type))
    url = f"https:{action.rstrip('/')}/{asset_key}"
    part.uploads.save(key, {"url": url})
    return url


# --- Reading Reddit's answers ------------------------------------------------------------------


def _api(account: AccountState) -> RedditApi:
    return RedditApi.of(account.secrets, account_id=account.external_id)


def _profile(me: Mapping[str, Any]) -> Profile:
    if not me.get("id") or not me.get("name"):
        raise ProviderError(ErrorClass.TRANSIENT, "Reddit sent an account without an id or name.", code="malformed")
    name = str(me["name"])
    return Profile(
        external_id=str(me["id"]),
        username=name,
        display_name=name,
        avatar_url=html.unescape(str(me.get("icon_img") or "")),  # Reddit sends &amp; in image URLs
        profile_url=f"{SITE}/user/{quote(name)}/",
    )


def _submitted(answer: Mapping[str, Any]) -> PublishedItem:
    inner = answer.get("json")
    data = inner.get("data") if isinstance(inner, dict) else None
    data = data if isinstance(data, dict) else {}
    name = str(data.get("name") or (f"t3_{data['id']}" if data.get("id") else ""))
    if not name:
        raise ProviderError(ErrorClass.TRANSIENT, "Reddit's answer to the post has no id.", code="malformed",
                            outcome_unknown=True)  # fmt: skip
    url = str(data.get("url") or f"{SITE}/comments/{name.removeprefix('t3_')}/")
    return PublishedItem(platform_post_id=name, url=url)


def _created_comment(answer: Mapping[str, Any]) -> dict[str, Any]:
    """``json.data.things[0].data`` of /api/comment's answer, which names the new comment."""
    inner = answer.get("json")
    data = inner.get("data") if isinstance(inner, dict) else None
    things = data.get("things") if isinstance(data, dict) else None
    first = things[0] if isinstance(things, list) and things else None
    thing = first.get("data") if isinstance(first, dict) else None
    if not isinstance(thing, dict) or not thing.get("name"):
        raise ProviderError(ErrorClass.TRANSIENT, "Reddit's answer to the comment has no id.", code="malformed",
                            outcome_unknown=True)  # fmt: skip
    return thing


def _permalink(thing: Mapping[str, Any]) -> str:
    permalink = str(thing.get("permalink") or "")
    return f"{SITE}{permalink}" if permalink.startswith("/") else f"{SITE}/comments/{thing.get('link_id', '')}/"


def _recent_enough(thing: Mapping[str, Any], since: float | None) -> bool:
    created = thing.get("created_utc")
    if since is None:
        return True
    return isinstance(created, int | float) and not isinstance(created, bool) and created >= since


def _find_post(
    api: RedditApi, account: AccountState, post: PlannedPost, *, since: float | None
) -> PublishedItem | None:
    path = f"/user/{quote(account.username, safe='')}/submitted"
    for thing in api.listing(path, limit=LISTING_PAGE, sort="new"):
        if thing.get("name") and _same_post(thing, post) and _recent_enough(thing, since):
            return PublishedItem(platform_post_id=str(thing["name"]), url=_permalink(thing))
    return None


def _same_post(thing: Mapping[str, Any], post: PlannedPost) -> bool:
    if str(thing.get("subreddit") or "").lower() != post.subreddit.lower():
        return False
    if str(thing.get("title") or "").strip() != post.title:
        return False
    if post.kind == SELF:
        return str(thing.get("selftext") or "").strip() == post.text
    if post.kind == LINK:
        return str(thing.get("url") or "") == post.url
    return thing.get("is_self") is not True  # a media post: its title is what we can match


def _find_comment(
    api: RedditApi, account: AccountState, part: PartRequest, *, since: float | None
) -> PublishedItem | None:
    parent = part.parent.platform_post_id if part.parent else None
    path = f"/user/{quote(account.username, safe='')}/comments"
    for thing in api.listing(path, limit=LISTING_PAGE, sort="new"):
        if (thing.get("name") and thing.get("parent_id") == parent and _recent_enough(thing, since)
                and str(thing.get("body") or "").strip() == part.content.text.strip()):  # fmt: skip
            return PublishedItem(platform_post_id=str(thing["name"]), url=_permalink(thing))
    return None


def _count(thing: Mapping[str, Any], key: str) -> int:
    value = thing.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _metrics(thing: Mapping[str, Any]) -> PostMetrics:
    ratio = thing.get("upvote_ratio")
    extra = {"score": _count(thing, "score")}
    if isinstance(ratio, int | float) and not isinstance(ratio, bool):
        extra["upvote_ratio_percent"] = round(ratio * 100)
    return PostMetrics(likes=_count(thing, "ups"), replies=_count(thing, "num_comments"), extra=extra)
