"""LinkedIn answers in the shapes of platforms-other.md section 2 (and platforms-engagement.md
section 5), for tests/connections/test_linkedin.py."""

import json
from typing import Any

import responses

REST = "https://api.linkedin.com/rest"
TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
USERINFO = "https://api.linkedin.com/v2/userinfo"
ACLS = f"{REST}/organizationAcls"
ORGANIZATIONS = f"{REST}/organizations"
POSTS = f"{REST}/posts"
MEMBER = "urn:li:person:782bbtaQ"
ORG = "urn:li:organization:5515715"
ORG_2 = "urn:li:organization:123"
SHARE = "urn:li:share:7123456789012345678"
IMAGE = "urn:li:image:C4E10AQFoyyAjHPMQuQ"
VIDEO = "urn:li:video:C5F10AQGKQg_6y2a4sQ"
DOCUMENT = "urn:li:document:D5F10AQH2mK0pQ1dWxQ"
UPLOAD_URL = "https://www.linkedin.com/dms-uploads/sp/upload-1"
MEMBER_SCOPE = "email,openid,profile,w_member_social"
FULL_SCOPE = f"{MEMBER_SCOPE},r_organization_social,w_organization_social,rw_organization_admin"


def token(**changes: Any) -> dict[str, Any]:
    return {"access_token": "AQV-first", "expires_in": 5184000, "scope": FULL_SCOPE, "token_type": "Bearer",
            "id_token": "eyJ.x.y", **changes}  # fmt: skip


def approved_token(**changes: Any) -> dict[str, Any]:
    return token(refresh_token="AQX-first", refresh_token_expires_in=31536000, **changes)


USERINFO_BODY = {"sub": "782bbtaQ", "name": "Jane Doe", "given_name": "Jane", "family_name": "Doe",
                 "picture": "https://media.licdn.com/jane.jpg", "email": "j@x.com", "email_verified": True,
                 "locale": {"country": "US", "language": "en"}}  # fmt: skip


def acls(*organizations: str) -> dict[str, Any]:
    elements = [{"organization": org, "role": "ADMINISTRATOR", "state": "APPROVED", "roleAssignee": MEMBER}
                for org in organizations]  # fmt: skip
    return {"elements": elements, "paging": {"start": 0, "count": 10}}


# The organizations' batch lookup (GET /rest/organizations?ids=List(5515715,123)): results keyed
# by the number, with statuses and errors beside them, as LinkedIn's batch GET answers.
ORGANIZATION_RECORDS = {
    ORG: {"id": 5515715, "localizedName": "Acme Coffee", "vanityName": "acme-coffee",
          "name": {"localized": {"en_US": "Acme Coffee"}, "preferredLocale": {"country": "US", "language": "en"}},
          "primaryOrganizationType": "NONE", "logoV2": {"original": "urn:li:digitalmediaAsset:C4D0BAQ1"}},
    ORG_2: {"id": 123, "localizedName": "Acme Labs", "vanityName": "acme-labs",
            "name": {"localized": {"en_US": "Acme Labs"}, "preferredLocale": {"country": "US", "language": "en"}},
            "primaryOrganizationType": "NONE"},
}  # fmt: skip


def organizations_lookup(*organizations: str) -> dict[str, Any]:
    results = {urn.rsplit(":", 1)[1]: ORGANIZATION_RECORDS[urn] for urn in organizations}
    return {"results": results, "statuses": {number: 200 for number in results}, "errors": {}}


def image_initialized(urn: str = IMAGE, url: str = UPLOAD_URL) -> dict[str, Any]:
    return {"value": {"uploadUrlExpiresAt": 1650567510704, "uploadUrl": url, "image": urn}}


def document_initialized() -> dict[str, Any]:
    return {"value": {"uploadUrlExpiresAt": 1650567510704, "uploadUrl": UPLOAD_URL, "document": DOCUMENT}}


def video_initialized(*ranges: tuple[int, int]) -> dict[str, Any]:
    instructions = [{"uploadUrl": f"{UPLOAD_URL}-part{n}", "firstByte": first, "lastByte": last}
                    for n, (first, last) in enumerate(ranges)]  # fmt: skip
    return {"value": {"uploadUrlsExpireAt": 1650567510704, "video": VIDEO, "uploadInstructions": instructions,
                      "uploadToken": ""}}  # fmt: skip


def document_status(status: str, owner: str = MEMBER) -> dict[str, Any]:
    return {"id": DOCUMENT, "owner": owner, "status": status, "downloadUrlExpiresAt": 1893456000000,
            "downloadUrl": "https://media.licdn.com/dms/document/D5F10AQH2mK0pQ1dWxQ"}  # fmt: skip


def video_status(status: str) -> dict[str, Any]:
    return {"id": VIDEO, "status": status, "owner": MEMBER}


INVALID_TOKEN = {"status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN",
                 "message": "Invalid access token"}  # fmt: skip
REVOKED_TOKEN = {"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN",
                 "message": "The token used in the request has been revoked by the user"}  # fmt: skip
ACCESS_DENIED = {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                 "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE.20251101"}  # fmt: skip
DUPLICATE = {"errorDetailType": "com.linkedin.common.error.BadRequest",
             "message": "Content is a duplicate of urn:li:share:7141000000000000000",
             "errorDetails": {"inputErrors": [{"description": "Duplicate post is detected", "input": {},
                                               "code": "DUPLICATE_POST"}]}, "status": 422}  # fmt: skip
BAD_VERSION = {"status": 426, "code": "NONEXISTENT_VERSION", "message": "Requested version 20250401 is not active"}
THROTTLED = {
    "status": 429,
    "serviceErrorCode": 101,
    "code": "TOO_MANY_REQUESTS",
    "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
}


def error(method: str, url: str, body: dict[str, Any], status: int):
    return lambda: responses.add(method, url, body=json.dumps(body), status=status, content_type="application/json")


def created(urn: str) -> dict[str, Any]:
    """responses.add keyword arguments for LinkedIn's 201: empty body, the id in a header."""
    return {"body": "", "status": 201, "headers": {"x-restli-id": urn}}


# --- The author's own posts (the posts finder by author), two pages -----------------------------


def authored(urn: str, author: str, *, commentary: str, published_ms: int, **changes: Any) -> dict[str, Any]:
    """One element of the posts finder, as the Posts API returns it."""
    return {"id": urn, "author": author, "commentary": commentary, "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED", "lifecycleStateInfo": {"isEditedByAuthor": False},
            "isReshareDisabledByAuthor": False, "createdAt": published_ms - 2000, "publishedAt": published_ms,
            "lastModifiedAt": published_ms, **changes}  # fmt: skip


def own_posts_pages(author: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Page 1 (start 0): a post with an image, a plain reshare, a draft, and an article post; its
    paging names a next page. Page 2 (start 4): a multi-image post, and no next page."""
    path = f"/rest/posts?q=author&author={author.replace(':', '%3A')}&count=50&sortBy=CREATED"
    first = {"elements": [
        authored("urn:li:share:7400000000000000003", author, published_ms=1764230400000,
                 commentary="Big news \\(really\\)\\! We ship on Monday.",
                 content={"media": {"id": IMAGE, "altText": "chart"}}),
        authored("urn:li:share:7400000000000000002", author, published_ms=1764144000000, commentary="",
                 reshareContext={"parent": "urn:li:share:7399999999999999999",
                                 "root": "urn:li:share:7399999999999999999"}),
        authored("urn:li:share:7400000000000000009", author, published_ms=1764100000000, commentary="Not yet",
                 lifecycleState="DRAFT"),
        authored("urn:li:ugcPost:7400000000000000001", author, published_ms=1764057600000,
                 commentary="Our report is out",
                 content={"article": {"source": "https://example.com/report", "title": "The 2026 report"}}),
    ], "paging": {"start": 0, "count": 50, "links": [
        {"type": "application/json", "rel": "next", "href": f"{path}&start=4"}]}}  # fmt: skip
    second = {"elements": [
        authored("urn:li:share:7390000000000000000", author, published_ms=1761955200000,
                 commentary="Team day \\#offsite",
                 content={"multiImage": {"images": [{"id": "urn:li:image:C4E10AQa", "altText": ""},
                                                    {"id": "urn:li:image:C4E10AQb", "altText": ""}]}}),
    ], "paging": {"start": 4, "count": 50, "links": [
        {"type": "application/json", "rel": "prev", "href": f"{path}&start=0"}]}}  # fmt: skip
    return first, second


OWN_POST_IDS = (["urn:li:share:7400000000000000003", "urn:li:ugcPost:7400000000000000001"],
                ["urn:li:share:7390000000000000000"])  # fmt: skip


def mock_own_posts(author: str) -> None:
    """The two pages, asked for with start 0 and then the start the first page leads to."""
    first, second = own_posts_pages(author)
    for start, page in (("0", first), ("4", second)):
        query = {"q": "author", "author": author, "start": start, "count": "50", "sortBy": "CREATED"}
        responses.add(responses.GET, POSTS, json=page, match=[responses.matchers.query_param_matcher(query)])


def network_size(organization: str, followers: int) -> None:
    edge = responses.matchers.query_param_matcher({"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"})
    url = f"{REST}/networkSizes/{organization.replace(':', '%3A')}"
    responses.add(responses.GET, url, json={"firstDegreeSize": followers}, match=[edge])
