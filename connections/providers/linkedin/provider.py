"""LinkedIn, per platforms-other.md section 2 (comments: platforms-engagement.md section 5).

Connecting: one consent (3-legged OAuth, no PKCE) yields the member (``/v2/userinfo``) and every
organization the member administers (``/rest/organizationAcls``, named by one batch lookup of
``/rest/organizations``), chosen in the selection step and stored as one grant. Access tokens
last 60 days; LinkedIn hands refresh tokens only to apps approved for them, so a consent
without one is warned a week ahead and then asked to reconnect (``refreshes``), and one with
one is refreshed.

Publishing: the main part is one post (``/rest/posts``, 201 with the id in ``x-restli-id``):
text, one image, 2 to 20 images, a video (multi-part upload with ETags, finalized), a PDF
document (one PUT), or an article link with its title and thumbnail (LinkedIn does not fetch
previews). A video or a document is awaited as Pending until LinkedIn says ``AVAILABLE``, and
the post is created only then. LinkedIn has no threads: the replies and the first comment are
comments, each on the part it answers. Commentary is escaped as "little text".
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    AppCredentials,
    Connection,
    MediaItem,
    PartKind,
    PartRequest,
    Pending,
    PostMetrics,
    PostPage,
    Profile,
    PublishedItem,
    PublishRequest,
    TextRules,
    TokenSet,
)
from connections.providers.linkedin import imports
from connections.providers.linkedin.client import (
    FRESH_CONSENT_S,
    LinkedInApi,
    created_urn,
    setting,
    urn_path,
    userinfo_url,
    value_of,
)
from connections.providers.linkedin.text import comparable, little_text, plain_text
from connections.providers.media_rules import DOCUMENT, IMAGE, VIDEO, FormatRule, MediaRules, format_bytes
from connections.providers.oauth2 import OAuth2Provider

MEMBER_SCOPES = ("openid", "profile", "email", "w_member_social")
MEMBER_READ_SCOPE = "r_member_social"  # restricted: only with LINKEDIN_MEMBER_POSTS
ORGANIZATION_SCOPES = ("r_organization_social", "w_organization_social", "rw_organization_admin")
PERSON = "urn:li:person:"
ORGANIZATION = "urn:li:organization:"
MAX_LENGTH = 3000
MAX_IMAGES = 20
IMAGE_PIXELS = 36_152_320
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif")
VIDEO_TYPES = ("video/mp4",)
PDF = "application/pdf"
VIDEO_READY = DOCUMENT_READY = "AVAILABLE"
VIDEO_FAILED = DOCUMENT_FAILED = "PROCESSING_FAILED"
DOCUMENT_WAITING = "WAITING_UPLOAD"
RECENT_COMMENTS = 50
LOOKUP_BATCH = 50  # organizations per lookup call, to keep its URL short
# A vanity name goes into the page URL: only the characters LinkedIn allows in one.
VANITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asset:
    """An uploaded image, video or document, and whether LinkedIn still processes it."""

    urn: str
    ready: bool = True
    what: str = "video"  # what LinkedIn is processing, for the user's status line


class LinkedInProvider(OAuth2Provider):
    id = "linkedin"
    name = "LinkedIn"
    authorize_url = "https://www.linkedin.com/oauth/v2/authorization"
    token_url = "https://www.linkedin.com/oauth/v2/accessToken"
    supports_pkce = False  # not needed for server-side web apps
    supports_check = True
    supports_refresh = True  # for approved apps only: see refreshes()
    supports_lookup = True
    supports_delete = True
    supports_metrics = True
    supports_account_metrics = True
    supports_import = True  # organizations; members only for apps approved for r_member_social
    # An organization's networkSizes answer -> ours. A member's follower count is part of
    # LinkedIn's restricted member analytics, which Postwright does not ask for: none is read.
    account_metric_names = {"firstDegreeSize": "followers"}
    default_scopes = (*MEMBER_SCOPES, *ORGANIZATION_SCOPES)
    developer_console_url = "https://www.linkedin.com/developers/apps"
    setup_steps = (
        "Create an app at linkedin.com/developers, add the Sign In with LinkedIn (OpenID Connect) and "
        "Share on LinkedIn products (and Community Management API for company pages), add this site's "
        "callback URL, and set LINKEDIN_CLIENT_ID and LINKEDIN_CLIENT_SECRET."
    )
    composer_options = (
        ("link_title", "Link title (LinkedIn does not fetch it)", ()),
        ("link_description", "Link description", ()),
    )
    check_delays_s: ClassVar[tuple[float, ...]] = (5, 10, 20, 30, 60)
    processing_limit_s: ClassVar[int] = 2 * 60 * 60

    # --- Connect --------------------------------------------------------------------------------

    def endpoints(self, instance_url: str = "") -> tuple[str, str, str]:
        """Under ``LINKEDIN_OAUTH_URL`` (its default is the two URLs above)."""
        oauth = str(setting("LINKEDIN_OAUTH_URL"))
        return f"{oauth}/authorization", f"{oauth}/accessToken", self.revoke_url

    def authorization_url(
        self, *, app: AppCredentials, redirect_uri: str, state: str, code_verifier: str | None, instance_url: str = ""
    ) -> str:
        if not app.scopes:
            organizations = ORGANIZATION_SCOPES if setting("LINKEDIN_ORGANIZATIONS") else ()
            reading = (MEMBER_READ_SCOPE,) if setting("LINKEDIN_MEMBER_POSTS") else ()
            scopes = (*MEMBER_SCOPES, *reading, *organizations)
            app = AppCredentials(app.client_id, app.client_secret, scopes, app.source)
        return super().authorization_url(app=app, redirect_uri=redirect_uri, state=state, code_verifier=None)

    def refreshes(self, *, secrets: Mapping[str, Any]) -> bool:
        return bool(secrets.get("refresh_token"))

    def connections_from_tokens(self, *, tokens: TokenSet, instance_url: str = "") -> list[Connection]:
        """The member, then each organization it administers (when the consent covers them)."""
        with LinkedInApi(tokens.access_token, fresh=True) as api:
            member = _member_profile(_json(api.call("GET", userinfo_url())))
            organizations = _administered(api, tokens.scope)
        secrets = tokens.as_secrets()
        facts = {"member": member.external_id, "consented_at": time.time()}

        def connection(profile: Profile, kind: str) -> Connection:
            return Connection(profile=profile, secrets=secrets, expires_at=tokens.expires_at, scope=tokens.scope,
                              extra={"kind": kind, **facts})  # fmt: skip

        return [connection(member, "member"), *(connection(org, "organization") for org in organizations)]

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        with LinkedInApi(tokens.access_token) as api:
            return _member_profile(_json(api.call("GET", userinfo_url())))

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        """The member's identity proves the token; an organization is also checked for the role."""
        with _api(account) as api:
            member = _member_profile(_json(api.call("GET", userinfo_url())))
            if not _is_organization(account):
                return member
            mine = next(iter(_administered(api, "", only=account.external_id)), None)
            if mine is None:
                message = "You are no longer an administrator of this LinkedIn page: reconnect, or choose another."
                raise ProviderError(ErrorClass.CONFIG, message, code="no_page_role")
        if not mine.display_name:  # the names were not looked up this time: keep the stored ones
            return Profile(external_id=account.external_id, username=account.username)
        return mine

    # --- Composer rules -------------------------------------------------------------------------

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        return TextRules(max_length=MAX_LENGTH, max_media=MAX_IMAGES, accepted_mime_types=(*IMAGE_TYPES, *VIDEO_TYPES))

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        images = FormatRule(IMAGE, "LinkedIn images", IMAGE_TYPES, max_count=MAX_IMAGES, max_pixels=IMAGE_PIXELS,
                            fits=True)  # fmt: skip
        video = FormatRule(VIDEO, "LinkedIn video", VIDEO_TYPES, max_bytes=int(setting("LINKEDIN_VIDEO_MAX_BYTES")))
        document = FormatRule(DOCUMENT, "LinkedIn documents", (PDF,),
                              max_bytes=int(setting("LINKEDIN_DOCUMENT_MAX_BYTES")))  # fmt: skip
        return MediaRules(platform=self.name, formats=(images, video, document))

    # --- Publishing -----------------------------------------------------------------------------

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        with _api(account) as api:
            if part.kind != PartKind.MAIN:
                return self._comment(api, account, part)
            assets = [self._asset(api, account, item, part, index) for index, item in enumerate(_checked(part))]
            busy = [asset for asset in assets if not asset.ready]
            if busy:
                return self._still_processing(part, what=busy[0].what)
            body = _post_body(account, request, part, [asset.urn for asset in assets])
            urn = created_urn(api.rest("POST", "posts", json=body, create_call=True), what="the post")
        return PublishedItem(platform_post_id=urn, url=post_url(urn))

    def _comment(self, api: LinkedInApi, account: AccountState, part: PartRequest) -> PublishedItem:
        """A reply or the first comment: a comment on the part it answers, about the main post."""
        if part.root is None or part.parent is None:
            raise ProviderError(ErrorClass.CONTENT, "A LinkedIn comment needs the post it belongs to.", code="no_root")
        body = {"actor": account.external_id, "object": part.root.platform_post_id,
                "message": {"text": part.content.text}}  # fmt: skip
        path = f"socialActions/{urn_path(part.parent.platform_post_id)}/comments"
        comment = created_urn(api.rest("POST", path, json=body, create_call=True), what="the comment")
        return PublishedItem(platform_post_id=comment, url=post_url(part.root.platform_post_id),
                             extra={"post": part.root.platform_post_id})  # fmt: skip

    def _still_processing(self, part: PartRequest, *, what: str) -> Pending:
        checks = int(part.state.get("checks", 0)) + 1
        since = float(part.state.get("since") or time.time())
        if time.time() - since > self.processing_limit_s:
            hours = self.processing_limit_s // 3600
            raise ProviderError(ErrorClass.CONTENT, f"LinkedIn was still processing the {what} after {hours} h.",
                                code="processing_timeout")  # fmt: skip
        delay = self.check_delays_s[min(checks, len(self.check_delays_s)) - 1]
        return Pending(reason=f"LinkedIn is processing the {what}", state={**part.state, "checks": checks,
                       "since": since}, check_in_s=delay)  # fmt: skip

    def _asset(self, api: LinkedInApi, account: AccountState, item: MediaItem, part: PartRequest, index: int) -> Asset:
        key = f"media:{index}:{item.filename}:{item.size}"
        stored = part.uploads.load(key) or {}
        if item.mime_type in VIDEO_TYPES:
            return self._video(api, account, item, part, key, stored)
        if item.mime_type == PDF:
            return self._document(api, account, item, part, key, stored)
        if stored.get("uploaded"):
            return Asset(urn=str(stored["urn"]))
        answer = api.rest_json("POST", "images?action=initializeUpload",
                               json={"initializeUploadRequest": {"owner": account.external_id}})  # fmt: skip
        urn, upload_url = value_of(answer, "image", what="the upload"), value_of(answer, "uploadUrl", what="the upload")
        api.put_bytes(upload_url, item.read_range(0, item.size))
        part.uploads.save(key, {"urn": urn, "uploaded": True})
        return Asset(urn=urn)

    def _document(
        self, api: LinkedInApi, account: AccountState, item: MediaItem, part: PartRequest, key: str,
        stored: dict[str, Any],
    ) -> Asset:  # fmt: skip
        """initializeUpload, one PUT, then the document's status until it is AVAILABLE. The URN is
        kept before the PUT and "uploaded" after it, so a resumed part never sends the PDF twice:
        it asks LinkedIn first, and starts over only when the bytes never arrived and their upload
        URL has lapsed."""
        if stored.get("available"):
            return Asset(urn=str(stored["urn"]))
        status = _document_status(api, str(stored["urn"])) if stored.get("urn") else None
        lapsed = status == DOCUMENT_WAITING and not stored.get("uploaded") and _upload_expired(stored)
        if status is None or lapsed:  # nothing kept, or the bytes never arrived and their URL lapsed
            answer = api.rest_json("POST", "documents?action=initializeUpload",
                                   json={"initializeUploadRequest": {"owner": account.external_id}})  # fmt: skip
            stored = {"urn": value_of(answer, "document", what="the document upload"),
                      "upload_url": value_of(answer, "uploadUrl", what="the document upload"),
                      "expires_ms": answer["value"].get("uploadUrlExpiresAt")}  # fmt: skip
            part.uploads.save(key, stored)
            status = DOCUMENT_WAITING
        urn = str(stored["urn"])
        if not stored.get("uploaded"):
            if status == DOCUMENT_WAITING:  # the bytes never arrived (or this is the first try)
                api.put_bytes(str(stored["upload_url"]), item.read_range(0, item.size))
                status = _document_status(api, urn)
            stored = {**stored, "uploaded": True}
            part.uploads.save(key, stored)
        if status == DOCUMENT_FAILED:
            message = f"LinkedIn could not process the document {item.filename} (status {DOCUMENT_FAILED})."
            raise ProviderError(ErrorClass.CONTENT, message, code=DOCUMENT_FAILED)
        if status == DOCUMENT_READY:
            part.uploads.save(key, {**stored, "available": True})
            return Asset(urn=urn)
        return Asset(urn=urn, ready=False, what="document")

    def _video(
        self, api: LinkedInApi, account: AccountState, item: MediaItem, part: PartRequest, key: str,
        stored: dict[str, Any],
    ) -> Asset:  # fmt: skip
        """initializeUpload, one PUT per instructed byte range (each ETag kept as it comes, so a
        retry resumes), finalizeUpload, then the video's status until it is AVAILABLE."""
        if not stored.get("urn"):
            request = {"owner": account.external_id, "fileSizeBytes": item.size, "uploadCaptions": False,
                       "uploadThumbnail": False}  # fmt: skip
            answer = api.rest_json("POST", "videos?action=initializeUpload", json={"initializeUploadRequest": request})
            stored = {"urn": value_of(answer, "video", what="the video upload"), "etags": [],
                      "token": str(answer["value"].get("uploadToken") or ""),
                      "instructions": _instructions(answer)}  # fmt: skip
            part.uploads.save(key, stored)
        urn = str(stored["urn"])
        if not stored.get("finalized"):
            etags = list(stored.get("etags") or [])
            for instruction in stored["instructions"][len(etags) :]:
                first, last = int(instruction["firstByte"]), int(instruction["lastByte"])
                sent = api.put_bytes(str(instruction["uploadUrl"]), item.read_range(first, last - first + 1))
                etags.append(sent.headers.get("ETag", "").strip())
                stored = {**stored, "etags": etags}
                part.uploads.save(key, stored)
            finalize = {"video": urn, "uploadToken": stored.get("token", ""), "uploadedPartIds": etags}
            api.rest("POST", "videos?action=finalizeUpload", json={"finalizeUploadRequest": finalize})
            stored = {**stored, "finalized": True}
            part.uploads.save(key, stored)
        status = str(api.rest_json("GET", f"videos/{urn_path(urn)}").get("status") or "")
        if status == VIDEO_FAILED:
            raise ProviderError(ErrorClass.CONTENT, "LinkedIn could not process the video.", code=VIDEO_FAILED)
        return Asset(urn=urn, ready=status == VIDEO_READY)

    # --- After publishing -----------------------------------------------------------------------

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """A comment among the parent's comments by its actor and text; a post among the author's
        latest posts by its commentary."""
        with _api(account) as api:
            if part.kind != PartKind.MAIN:
                return _find_comment(api, account, part)
            return _find_post(api, account, request, part)

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        with _api(account) as api:
            try:
                api.rest("DELETE", f"posts/{urn_path(platform_post_id)}")
            except ProviderError as exc:
                if exc.status not in (404, 410):
                    raise
                # Already gone: the goal is met.

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        """An organization's posts: share statistics (lifetime); a member's: the social-action
        summary (likes and comments), since member analytics need a scope few apps have."""
        ids = list(platform_post_ids)
        with _api(account) as api:
            if _is_organization(account):
                return _organization_statistics(api, account, ids)
            return {urn: _social_summary(api, urn) for urn in ids}

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        """An organization's follower count (platforms-other.md "Followers", marked uncertain:
        the edge type is the setting LINKEDIN_FOLLOWER_EDGE). None for a member: LinkedIn shows a
        member's follower count only through member analytics, a scope few apps are given."""
        if not _is_organization(account):
            return None
        edge = quote(str(setting("LINKEDIN_FOLLOWER_EDGE")), safe="")
        with _api(account) as api:
            answer = api.rest_json("GET", f"networkSizes/{urn_path(account.external_id)}?edgeType={edge}")
        return AccountMetrics.from_platform(answer, self.account_metric_names)

    def import_refusal(self, *, account: AccountState) -> str:
        if _is_organization(account) or setting("LINKEDIN_MEMBER_POSTS"):
            return ""
        return imports.MEMBER_POSTS_REFUSED

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        member = not _is_organization(account)
        with _api(account) as api:
            return imports.list_own_posts(api, author=account.external_id, cursor=cursor, member=member)


# --- Helpers ------------------------------------------------------------------------------------


def _api(account: AccountState) -> LinkedInApi:
    consented = account.extra.get("consented_at")
    fresh = isinstance(consented, int | float) and time.time() - consented < FRESH_CONSENT_S
    return LinkedInApi.of(account.secrets, organization=_is_organization(account), fresh=fresh)


def _is_organization(account: AccountState) -> bool:
    return account.external_id.startswith(ORGANIZATION)


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def _json(response: Any) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ProviderError(
            ErrorClass.TRANSIENT, "LinkedIn answered with something that is not JSON.", code="malformed"
        )
    return data


def _member_profile(info: Mapping[str, Any]) -> Profile:
    sub = info.get("sub")
    if not isinstance(sub, str) or not sub:
        raise ProviderError(ErrorClass.TRANSIENT, "LinkedIn's userinfo has no sub.", code="malformed")
    name = str(info.get("name") or "")
    return Profile(external_id=f"{PERSON}{sub}", username=name or sub, display_name=name,
                   avatar_url=str(info.get("picture") or ""))  # fmt: skip


def _administered(api: LinkedInApi, scope: str, *, only: str | None = None) -> list[Profile]:
    """The organizations the member administers, named (``only``: just that one, as a check of
    one page needs). A consent without the organization scopes (an app without the Community
    Management API) has none to ask for."""
    if scope and "rw_organization_admin" not in scope.replace(",", " ").split():
        return []
    answer = api.rest_json("GET", "organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED")
    urns: list[str] = []
    for element in _elements(answer):
        urn = element.get("organization")
        if isinstance(urn, str) and urn.startswith(ORGANIZATION) and urn not in urns:
            urns.append(urn)
    if only is not None:  # a check of one page: only its name is looked up
        urns = [urn for urn in urns if urn == only]
    names = _organization_names(api, [urn.removeprefix(ORGANIZATION) for urn in urns])
    return [_organization_profile(urn, names.get(urn.removeprefix(ORGANIZATION), {})) for urn in urns]


def _organization_names(api: LinkedInApi, numbers: list[str]) -> dict[str, dict[str, Any]]:
    """Each organization's lookup result by its number, in batch calls. Names are a nicety: a
    failed lookup leaves the organizations named by their ids rather than failing the consent."""
    numbers = [number for number in numbers if number.isdigit()]  # only ids go into the URL
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(numbers), LOOKUP_BATCH):
        listed = ",".join(numbers[start : start + LOOKUP_BATCH])
        try:
            answer = api.rest_json("GET", f"organizations?ids=List({listed})")
        except ProviderError as exc:
            log.warning("LinkedIn organization lookup failed (%s %s); named by id", exc.status, exc.code)
            continue
        results = answer.get("results")
        for number, result in results.items() if isinstance(results, dict) else ():
            if isinstance(result, dict):
                found[str(number)] = result
    return found


def _organization_profile(urn: str, found: Mapping[str, Any]) -> Profile:
    """Shown by its name, with its vanity name as the handle that links to its page."""
    number = urn.removeprefix(ORGANIZATION)
    name, vanity = found.get("localizedName"), found.get("vanityName")
    name = name.strip() if isinstance(name, str) else ""
    vanity = vanity.strip() if isinstance(vanity, str) and VANITY.fullmatch(vanity.strip()) else ""
    return Profile(external_id=urn, username=vanity or name or f"Organization {number}", display_name=name,
                   profile_url=f"https://www.linkedin.com/company/{vanity or number}/")  # fmt: skip


def _checked(part: PartRequest) -> tuple[MediaItem, ...]:
    media = part.content.media
    images = [item for item in media if item.mime_type in IMAGE_TYPES]
    if len(images) != len(media) and len(media) > 1:
        raise ProviderError(ErrorClass.CONTENT, "A LinkedIn post takes images, or one video, or one document.",
                            code="media_mix")  # fmt: skip
    if len(images) > MAX_IMAGES:
        raise ProviderError(ErrorClass.CONTENT, f"A LinkedIn post takes at most {MAX_IMAGES} images.",
                            code="too_many_media")  # fmt: skip
    unknown = [item.filename for item in media if item.mime_type not in (*IMAGE_TYPES, *VIDEO_TYPES, PDF)]
    if unknown:
        raise ProviderError(ErrorClass.CONTENT, f"LinkedIn does not take {unknown[0]}.", code="media_type")
    # The composer checks a PDF's size by media_rules; checked again here, as the setting may change.
    limit = int(setting("LINKEDIN_DOCUMENT_MAX_BYTES"))
    heavy = [item.filename for item in media if item.mime_type == PDF and item.size > limit]
    if heavy:
        message = f"LinkedIn takes documents up to {format_bytes(limit)}; {heavy[0]} is larger."
        raise ProviderError(ErrorClass.CONTENT, message, code="document_too_large")
    return media


def _post_body(account: AccountState, request: PublishRequest, part: PartRequest, urns: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "author": account.external_id, "commentary": little_text(part.content.text), "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False,
    }  # fmt: skip
    content = _content(request, part.content.media, urns)
    if content:
        body["content"] = content
    return body


def _content(request: PublishRequest, media: tuple[MediaItem, ...], urns: list[str]) -> dict[str, Any]:
    options = request.options
    if request.link:
        title = str(options.get("link_title") or "").strip() or request.link
        article: dict[str, Any] = {"source": request.link, "title": title[:400]}
        if options.get("link_description"):
            article["description"] = str(options["link_description"])
        if urns and media[0].mime_type in IMAGE_TYPES:
            article["thumbnail"] = urns[0]  # the part's image is the link's preview
        return {"article": article}
    if not media:
        return {}
    if len(media) > 1:
        images = [{"id": urn, "altText": item.alt_text} for urn, item in zip(urns, media, strict=True)]
        return {"multiImage": {"images": images}}
    item, urn = media[0], urns[0]
    if item.mime_type in IMAGE_TYPES:
        return {"media": {"id": urn, "altText": item.alt_text}}
    # A document's (or video's) title is what the composer asked for in its place of alt text.
    title = item.alt_text.strip() or item.filename.rsplit(".", 1)[0]
    return {"media": {"title": title[:400], "id": urn}}


def _document_status(api: LinkedInApi, urn: str) -> str:
    """PROCESSING, AVAILABLE, PROCESSING_FAILED or WAITING_UPLOAD (before the bytes arrive)."""
    return str(api.rest_json("GET", f"documents/{urn_path(urn)}").get("status") or "")


def _upload_expired(stored: Mapping[str, Any]) -> bool:
    """An upload URL LinkedIn would no longer take (uploadUrlExpiresAt, in ms): start over."""
    expires = stored.get("expires_ms")
    uploaded = stored.get("uploaded")
    return not uploaded and isinstance(expires, int | float) and expires / 1000 < time.time()


def _instructions(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    value = answer.get("value")
    listed = value.get("uploadInstructions") if isinstance(value, dict) else None
    items = listed if isinstance(listed, list) else []
    found = [
        {"uploadUrl": str(item["uploadUrl"]), "firstByte": int(item["firstByte"]), "lastByte": int(item["lastByte"])}
        for item in items
        if isinstance(item, dict) and {"uploadUrl", "firstByte", "lastByte"} <= item.keys()
    ]
    if not found:
        raise ProviderError(
            ErrorClass.TRANSIENT, "LinkedIn gave no upload instructions for the video.", code="malformed"
        )
    return found


def _find_comment(api: LinkedInApi, account: AccountState, part: PartRequest) -> PublishedItem | None:
    if part.parent is None or part.root is None:
        return None
    path = f"socialActions/{urn_path(part.parent.platform_post_id)}/comments?start=0&count={RECENT_COMMENTS}"
    wanted = comparable(part.content.text)
    for element in _elements(api.rest_json("GET", path)):
        message = element.get("message")
        text = message.get("text") if isinstance(message, dict) else None
        urn = element.get("$URN") or element.get("id")
        mine = element.get("actor") == account.external_id and isinstance(urn, str) and bool(urn)
        if mine and isinstance(text, str) and comparable(text) == wanted:
            root = part.root.platform_post_id
            return PublishedItem(platform_post_id=str(urn), url=post_url(root), extra={"post": root})
    return None


def _find_post(
    api: LinkedInApi, account: AccountState, request: PublishRequest, part: PartRequest
) -> PublishedItem | None:
    path = f"posts?q=author&author={urn_path(account.external_id)}&count=20&sortBy=LAST_MODIFIED"
    wanted = comparable(part.content.text)
    since_ms = (part.sent_after.timestamp() - 300) * 1000 if part.sent_after else None
    for element in _elements(api.rest_json("GET", path)):
        commentary, urn = element.get("commentary"), element.get("id")
        created = element.get("createdAt")
        if since_ms and isinstance(created, int | float) and created < since_ms:
            continue  # older than the run that sent it: an earlier post with the same words
        if isinstance(commentary, str) and isinstance(urn, str) and comparable(plain_text(commentary)) == wanted:
            return PublishedItem(platform_post_id=urn, url=post_url(urn))
    return None


def _elements(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    elements = answer.get("elements")
    return [item for item in elements if isinstance(item, dict)] if isinstance(elements, list) else []


def _count(data: Any, key: str) -> int:
    value = data.get(key) if isinstance(data, dict) else None
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _organization_statistics(api: LinkedInApi, account: AccountState, ids: list[str]) -> dict[str, PostMetrics]:
    metrics: dict[str, PostMetrics] = {}
    for field, prefix in (("shares", "urn:li:share:"), ("ugcPosts", "urn:li:ugcPost:")):
        batch = [urn for urn in ids if urn.startswith(prefix)]
        if not batch:
            continue
        listed = ",".join(urn_path(urn) for urn in batch)
        path = (f"organizationalEntityShareStatistics?q=organizationalEntity"
                f"&organizationalEntity={urn_path(account.external_id)}&{field}=List({listed})")  # fmt: skip
        for element in _elements(api.rest_json("GET", path)):
            urn = element.get("share") or element.get("ugcPost")
            stats = element.get("totalShareStatistics")
            if isinstance(urn, str) and isinstance(stats, dict):
                metrics[urn] = PostMetrics(
                    likes=_count(stats, "likeCount"), reposts=_count(stats, "shareCount"),
                    replies=_count(stats, "commentCount"), impressions=_count(stats, "impressionCount"),
                    extra={"clicks": _count(stats, "clickCount"),
                           "unique_impressions": _count(stats, "uniqueImpressionsCount")},
                )  # fmt: skip
    return metrics


def _social_summary(api: LinkedInApi, urn: str) -> PostMetrics:
    answer = api.rest_json("GET", f"socialActions/{urn_path(urn)}")
    return PostMetrics(likes=_count(answer.get("likesSummary"), "totalLikes"),
                       replies=_count(answer.get("commentsSummary"), "aggregatedTotalComments"))  # fmt: skip
