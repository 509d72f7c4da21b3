"""LinkedIn answers in the shapes of platforms-other.md section 2 (and platforms-engagement.md
section 5), for tests/connections/test_linkedin.py."""

import json
from typing import Any

import responses

REST = "https://api.linkedin.com/rest"
TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
USERINFO = "https://api.linkedin.com/v2/userinfo"
ACLS = f"{REST}/organizationAcls"
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


def image_initialized(urn: str = IMAGE, url: str = UPLOAD_URL) -> dict[str, Any]:
    return {"value": {"uploadUrlExpiresAt": 1650567510704, "uploadUrl": url, "image": urn}}


def document_initialized() -> dict[str, Any]:
    return {"value": {"uploadUrlExpiresAt": 1650567510704, "uploadUrl": UPLOAD_URL, "document": DOCUMENT}}


def video_initialized(*ranges: tuple[int, int]) -> dict[str, Any]:
    instructions = [{"uploadUrl": f"{UPLOAD_URL}-part{n}", "firstByte": first, "lastByte": last}
                    for n, (first, last) in enumerate(ranges)]  # fmt: skip
    return {"value": {"uploadUrlsExpireAt": 1650567510704, "video": VIDEO, "uploadInstructions": instructions,
                      "uploadToken": ""}}  # fmt: skip


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
