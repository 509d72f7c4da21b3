"""LinkedIn against recorded answers (platforms-other.md section 2; tests/connections/linkedin_api.py)."""

import io
import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import responses
from django.core import mail
from django.utils import timezone

from connections import services
from connections.errors import ErrorClass, ProviderError
from connections.models import Grant, SocialAccount
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    Connection,
    ContentPart,
    MediaItem,
    MemoryUploads,
    Pending,
    PostMetrics,
    Profile,
    PublishRequest,
    TokenSet,
)
from connections.providers.linkedin.text import RESERVED, little_text, plain_text
from connections.registry import get_provider
from tests.connections.contract import APP, LOST, Lost, ProviderContract, Refused, ThreadPlatform
from tests.connections.linkedin_api import (
    ACCESS_DENIED,
    ACLS,
    BAD_VERSION,
    DOCUMENT,
    DUPLICATE,
    FULL_SCOPE,
    IMAGE,
    INVALID_TOKEN,
    MEMBER,
    MEMBER_SCOPE,
    ORG,
    ORG_2,
    ORGANIZATIONS,
    OWN_POST_IDS,
    POSTS,
    REST,
    REVOKED_TOKEN,
    SHARE,
    THROTTLED,
    TOKEN_URL,
    UPLOAD_URL,
    USERINFO,
    USERINFO_BODY,
    VIDEO,
    acls,
    approved_token,
    created,
    document_initialized,
    document_status,
    error,
    image_initialized,
    mock_own_posts,
    network_size,
    organizations_lookup,
    token,
    video_initialized,
    video_status,
)
from tests.connections.publishing import part_request, publish_all, saved_account

REDIRECT = "https://postwright.example/connections/callback/linkedin/"
COMMENTS = re.compile(rf"^{re.escape(REST)}/socialActions/([^/?]+)/comments")


def member(**secrets) -> AccountState:
    return AccountState(external_id=MEMBER, username="Jane Doe", secrets={"access_token": "AQV-first", **secrets},
                        extra={"kind": "member", "member": MEMBER})  # fmt: skip


def organization(**secrets) -> AccountState:
    return AccountState(external_id=ORG, username="Organization 5515715",
                        secrets={"access_token": "AQV-first", **secrets}, extra={"kind": "organization"})  # fmt: skip


def body_of(call) -> dict:
    return json.loads(call.request.body)


def calls(method: str, url_start: str) -> list:
    return [c for c in responses.calls if c.request.method == method and c.request.url.startswith(url_start)]


def media(name: str, mime: str, data: bytes = b"bytes of it", alt: str = "") -> MediaItem:
    kind = "video" if mime.startswith("video/") else "image"
    return MediaItem(filename=name, mime_type=mime, size=len(data), open=lambda: io.BytesIO(data), alt_text=alt,
                     kind=kind)  # fmt: skip


class TestLinkedInProvider(ProviderContract):
    provider_id = "linkedin"

    def connect(self):
        responses.add(responses.POST, TOKEN_URL, json=token())
        responses.add(responses.GET, USERINFO, json=USERINFO_BODY)
        responses.add(responses.GET, ACLS, json=acls(ORG, ORG_2))
        responses.add(responses.GET, ORGANIZATIONS, json=organizations_lookup(ORG, ORG_2))
        provider = get_provider("linkedin")
        tokens = provider.exchange_code(app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier=None)
        return provider.connections_from_tokens(tokens=tokens)

    def account(self) -> AccountState:
        return member(refresh_token="AQX-first")

    def mock_check(self) -> None:
        responses.add(responses.GET, USERINFO, json=USERINFO_BODY)

    def mock_refresh(self) -> None:
        responses.add(responses.POST, TOKEN_URL, json=approved_token(access_token="AQV-2"))

    def error_cases(self):
        return [
            ("invalid token", error(responses.GET, USERINFO, INVALID_TOKEN, 401), ErrorClass.AUTH),
            ("revoked", error(responses.GET, USERINFO, REVOKED_TOKEN, 401), ErrorClass.AUTH),
            ("no permission", error(responses.GET, USERINFO, ACCESS_DENIED, 403), ErrorClass.AUTH),
            ("old version", error(responses.GET, USERINFO, BAD_VERSION, 426), ErrorClass.CONFIG),
            ("throttled", error(responses.GET, USERINFO, THROTTLED, 429), ErrorClass.RATE),
            ("down", lambda: responses.add(responses.GET, USERINFO, body="<html>", status=503), ErrorClass.TRANSIENT),
            ("no sub", lambda: responses.add(responses.GET, USERINFO, json={"name": "x"}), ErrorClass.TRANSIENT),
        ]

    def mock_publish_text(self) -> str:
        responses.add(responses.POST, POSTS, **created(SHARE))
        return SHARE

    def mock_delete(self):
        responses.add(responses.DELETE, f"{POSTS}/urn%3Ali%3Ashare%3A7123456789012345678", status=204)
        return SHARE, lambda: len(calls("DELETE", POSTS)) == 1

    def mock_account_metrics(self):
        return None  # a member's follower count is in LinkedIn's restricted member analytics: none asked

    def mock_list_posts(self):
        mock_own_posts(MEMBER)  # the plain reshare and the draft are left out
        return list(OWN_POST_IDS[0]), list(OWN_POST_IDS[1])

    def mock_metrics(self):
        summary = {"likesSummary": {"totalLikes": 25}, "commentsSummary": {"aggregatedTotalComments": 4}}
        responses.add(responses.GET, f"{REST}/socialActions/urn%3Ali%3Ashare%3A7123456789012345678", json=summary)
        return SHARE, PostMetrics(likes=25, replies=4)

    def install_thread_platform(self, platform: ThreadPlatform, monkeypatch) -> None:
        """Posts, comments on a post or a comment, and the lists find_part reads, as LinkedIn serves them."""

        def refused_or_lost(make):
            try:
                post = make()
            except Refused:
                return None, (422, {}, json.dumps(DUPLICATE))
            except Lost:
                raise LOST from None
            return post, None

        def create_post(request):
            body = json.loads(request.body)
            urn = f"urn:li:share:{7100000000000000000 + len(platform.posts)}"
            post, refusal = refused_or_lost(lambda: platform.create(text=plain_text(body["commentary"]), parent=None,
                                                                    id_=urn))  # fmt: skip
            return refusal or (201, {"x-restli-id": post["id"]}, "")

        def create_comment(request):
            parent = unquote(COMMENTS.match(request.url).group(1))
            body = json.loads(request.body)
            urn = f"urn:li:comment:({body['object']},{6000 + len(platform.posts)})"
            post, refusal = refused_or_lost(lambda: platform.create(text=body["message"]["text"], parent=parent,
                                                                    id_=urn))  # fmt: skip
            return refusal or (201, {"x-restli-id": post["id"]}, "")

        def list_comments(request):
            parent = unquote(COMMENTS.match(request.url).group(1))
            found = [{"actor": MEMBER, "message": {"text": p["text"]}, "$URN": p["id"]}
                     for p in platform.posts if p["parent"] == parent]  # fmt: skip
            return 200, {}, json.dumps({"elements": found, "paging": {"start": 0, "count": 50, "total": len(found)}})

        def list_posts(request):
            found = [{"id": p["id"], "author": MEMBER, "commentary": little_text(p["text"])}
                     for p in platform.posts if p["parent"] is None]  # fmt: skip
            return 200, {}, json.dumps({"elements": found})

        responses.add_callback(responses.POST, POSTS, callback=create_post)
        responses.add_callback(responses.GET, POSTS, callback=list_posts)
        responses.add_callback(responses.POST, COMMENTS, callback=create_comment)
        responses.add_callback(responses.GET, COMMENTS, callback=list_comments)


@pytest.fixture
def linkedin(db):
    return get_provider("linkedin")


# --- Connecting -------------------------------------------------------------------------------


def test_one_consent_yields_the_member_and_its_organizations(linkedin):
    responses.add(responses.GET, USERINFO, json=USERINFO_BODY)
    responses.add(responses.GET, ACLS, json=acls(ORG, ORG_2))
    responses.add(responses.GET, ORGANIZATIONS, json=organizations_lookup(ORG, ORG_2))
    found = linkedin.connections_from_tokens(tokens=TokenSet(access_token="AQV", scope=FULL_SCOPE))
    assert [c.profile.external_id for c in found] == [MEMBER, ORG, ORG_2]
    assert found[0].profile.username == "Jane Doe"
    cafe, labs = (c.profile for c in found[1:])
    assert (cafe.display_name, cafe.username, cafe.profile_url) == (
        "Acme Coffee",
        "acme-coffee",
        "https://www.linkedin.com/company/acme-coffee/",
    )
    assert (labs.display_name, labs.username) == ("Acme Labs", "acme-labs")
    (lookup,) = calls("GET", ORGANIZATIONS)  # one batch for every organization
    assert urlsplit(lookup.request.url).query == "ids=List(5515715,123)"
    assert lookup.request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert {c.secrets["access_token"] for c in found} == {"AQV"}, "one consent, one token: one grant"
    acl_call = calls("GET", ACLS)[0]
    assert parse_qs(urlsplit(acl_call.request.url).query) == {"q": ["roleAssignee"], "role": ["ADMINISTRATOR"],
                                                              "state": ["APPROVED"]}  # fmt: skip
    assert acl_call.request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert acl_call.request.headers["LinkedIn-Version"] == "202511"


def test_a_failed_name_lookup_names_the_organizations_by_id_without_failing_the_consent(linkedin):
    responses.add(responses.GET, USERINFO, json=USERINFO_BODY)
    responses.add(responses.GET, ACLS, json=acls(ORG, ORG_2))
    error(responses.GET, ORGANIZATIONS, ACCESS_DENIED, 403)()
    found = linkedin.connections_from_tokens(tokens=TokenSet(access_token="AQV", scope=FULL_SCOPE))
    assert [(c.profile.username, c.profile.profile_url) for c in found[1:]] == [
        ("Organization 5515715", "https://www.linkedin.com/company/5515715/"),
        ("Organization 123", "https://www.linkedin.com/company/123/"),
    ]


def test_an_organization_the_lookup_leaves_out_is_named_by_id(linkedin):
    responses.add(responses.GET, USERINFO, json=USERINFO_BODY)
    responses.add(responses.GET, ACLS, json=acls(ORG, ORG_2))
    partial = organizations_lookup(ORG)
    partial["errors"] = {"123": {"status": 403, "message": "Not enough permissions to access organization 123"}}
    responses.add(responses.GET, ORGANIZATIONS, json=partial)
    found = linkedin.connections_from_tokens(tokens=TokenSet(access_token="AQV", scope=FULL_SCOPE))
    assert [c.profile.display_name or c.profile.username for c in found[1:]] == ["Acme Coffee", "Organization 123"]


def test_many_organizations_are_named_fifty_a_call(linkedin):
    many = [f"urn:li:organization:{1000 + n}" for n in range(51)]
    responses.add(responses.GET, USERINFO, json=USERINFO_BODY)
    responses.add(responses.GET, ACLS, json=acls(*many))

    def lookup(request):
        asked = re.fullmatch(r"ids=List\(([\d,]+)\)", urlsplit(request.url).query).group(1).split(",")
        results = {n: {"id": int(n), "localizedName": f"Shop {n}", "vanityName": f"shop-{n}"} for n in asked}
        return 200, {}, json.dumps({"results": results, "statuses": dict.fromkeys(results, 200), "errors": {}})

    responses.add_callback(responses.GET, ORGANIZATIONS, callback=lookup)
    found = linkedin.connections_from_tokens(tokens=TokenSet(access_token="AQV", scope=FULL_SCOPE))
    assert [c.profile.display_name for c in found[1:]] == [f"Shop {1000 + n}" for n in range(51)]
    assert [len(parse_qs(urlsplit(c.request.url).query)["ids"][0].split(",")) for c in calls("GET", ORGANIZATIONS)] == [
        50,
        1,
    ]


def test_checking_an_organization_refreshes_its_name(linkedin):
    responses.add(responses.GET, USERINFO, json=USERINFO_BODY)
    responses.add(responses.GET, ACLS, json=acls(ORG, ORG_2))  # the member runs two pages
    responses.add(responses.GET, ORGANIZATIONS, json=organizations_lookup(ORG))
    assert linkedin.check(app=APP, account=organization()).display_name == "Acme Coffee"
    lookup = next(c for c in responses.calls if c.request.url.startswith(ORGANIZATIONS))
    assert urlsplit(lookup.request.url).query == "ids=List(5515715)", "only the page checked is looked up"
    responses.replace(responses.GET, ORGANIZATIONS, body="<html>", status=503)
    kept = linkedin.check(app=APP, account=organization())
    assert (kept.username, kept.display_name) == ("Organization 5515715", "")  # the stored name, not wiped


def test_a_consent_without_organization_scopes_yields_only_the_member(linkedin):
    responses.add(responses.GET, USERINFO, json=USERINFO_BODY)
    found = linkedin.connections_from_tokens(tokens=TokenSet(access_token="AQV", scope=MEMBER_SCOPE))
    assert [c.profile.external_id for c in found] == [MEMBER]


def test_the_consent_asks_for_organization_scopes_only_when_set(linkedin, settings):
    def scopes() -> set[str]:
        url = linkedin.authorization_url(app=APP, redirect_uri=REDIRECT, state="s", code_verifier=None)
        return set(parse_qs(urlsplit(url).query)["scope"][0].split())

    assert "rw_organization_admin" in scopes()
    settings.LINKEDIN_ORGANIZATIONS = False
    assert scopes() == {"openid", "profile", "email", "w_member_social"}


def test_the_member_and_a_chosen_organization_are_connected_on_one_grant(team, settings):
    from django.urls import reverse

    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "linkedin": ("client-123", "secret-456")}
    client = team.client("admin")
    started = client.post(reverse("connect", args=["linkedin"]))
    assert started.url.startswith("https://www.linkedin.com/oauth/v2/authorization?")
    state = parse_qs(urlsplit(started.url).query)["state"][0]
    responses.add(responses.POST, TOKEN_URL, json=token())
    responses.add(responses.GET, USERINFO, json=USERINFO_BODY)
    responses.add(responses.GET, ACLS, json=acls(ORG, ORG_2))
    selection = client.get(reverse("connect_callback", args=["linkedin"]), {"code": "c", "state": state}).url
    page = client.get(selection).content.decode()
    assert "Jane Doe" in page
    assert "Organization 123" in page
    assert "AQV" not in page, "no token reaches the browser"
    client.post(selection, {"account": [MEMBER, ORG]})
    accounts = SocialAccount.objects.filter(platform="linkedin").order_by("external_id")
    assert [a.external_id for a in accounts] == [ORG, MEMBER]
    (grant,) = {a.grant for a in accounts}
    assert grant.secrets["access_token"] == "AQV-first"
    assert grant.expires_at is not None


# --- Tokens: 60 days, refresh only for approved apps ------------------------------------------


def test_only_a_consent_with_a_refresh_token_is_refreshed(linkedin):
    assert linkedin.refreshes(secrets={"access_token": "a", "refresh_token": "r"})
    assert not linkedin.refreshes(secrets={"access_token": "a"})


def _linkedin_grant(team, *, secrets: dict, days_left: float) -> Grant:
    connection = Connection(profile=Profile(external_id=MEMBER, username="Jane Doe"), secrets=secrets,
                            expires_at=timezone.now() + timedelta(days=days_left))  # fmt: skip
    return services.account_save(workspace=team.workspace, platform="linkedin", connection=connection, user=None).grant


def test_a_consent_without_refresh_is_warned_a_week_ahead_then_needs_reconnect(
    team, django_capture_on_commit_callbacks
):
    grant = _linkedin_grant(team, secrets={"access_token": "AQV"}, days_left=6)
    assert services.refresh_expiring_tokens() == {"refreshed": 0, "failed": 0}
    with django_capture_on_commit_callbacks(execute=True):
        assert services.warn_expiring_consents()["warned"] == 1
    assert "must be reconnected" in mail.outbox[-1].subject
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert services.warn_expiring_consents()["lapsed"] == 1
    grant.refresh_from_db()
    assert grant.status == Grant.Status.NEEDS_RECONNECT


def test_a_consent_with_refresh_is_refreshed_not_warned(team, monkeypatch):
    grant = _linkedin_grant(team, secrets={"access_token": "AQV", "refresh_token": "AQX-first"}, days_left=0.001)
    monkeypatch.setattr(services, "_app_for", lambda account, provider: APP)
    responses.add(responses.POST, TOKEN_URL, json=approved_token(access_token="AQV-2"))
    assert services.warn_expiring_consents()["warned"] == 0
    assert services.refresh_expiring_tokens()["refreshed"] == 1
    grant.refresh_from_db()
    assert grant.secrets["access_token"] == "AQV-2"
    sent = parse_qs(calls("POST", TOKEN_URL)[0].request.body)
    assert sent["grant_type"] == ["refresh_token"]


# --- Text ---------------------------------------------------------------------------------------


def test_every_reserved_character_round_trips_through_little_text():
    text = "Big news (really)! " + "".join(sorted(RESERVED)) + " end \\n"
    escaped = little_text(text)
    assert plain_text(escaped) == text
    for char in RESERVED:
        assert f"\\{char}" in escaped, char
    assert little_text("Big news (really)!") == "Big news \\(really\\)!"


def test_the_post_carries_escaped_commentary(linkedin):
    responses.add(responses.POST, POSTS, **created(SHARE))
    text = "Ask me anything @ #launch_day ~*[x](y)* <b> {a|b} \\"
    result = publish_all(linkedin, account=member(), request=PublishRequest(main=ContentPart(text)))
    sent = body_of(calls("POST", POSTS)[0])
    assert plain_text(sent["commentary"]) == text
    assert sent["author"] == MEMBER
    assert "content" not in sent
    assert result.main.url == f"https://www.linkedin.com/feed/update/{SHARE}/"


# --- Media --------------------------------------------------------------------------------------


def test_one_image_with_alt_text(linkedin):
    responses.add(responses.POST, f"{REST}/images", json=image_initialized())
    responses.add(responses.PUT, UPLOAD_URL, status=201)
    responses.add(responses.POST, POSTS, **created(SHARE))
    request = PublishRequest(main=ContentPart("Chart", (media("c.png", "image/png", b"png!", alt="chart"),)))
    publish_all(linkedin, account=organization(), request=request)
    assert body_of(calls("POST", f"{REST}/images")[0]) == {"initializeUploadRequest": {"owner": ORG}}
    assert calls("PUT", UPLOAD_URL)[0].request.body == b"png!"
    assert body_of(calls("POST", POSTS)[0])["content"] == {"media": {"id": IMAGE, "altText": "chart"}}


def test_several_images_are_one_multi_image_post(linkedin):
    for n in range(3):
        responses.add(
            responses.POST, f"{REST}/images", json=image_initialized(f"urn:li:image:I{n}", f"{UPLOAD_URL}{n}")
        )
        responses.add(responses.PUT, f"{UPLOAD_URL}{n}", status=201)
    responses.add(responses.POST, POSTS, **created(SHARE))
    images = tuple(media(f"{n}.jpg", "image/jpeg", alt=f"alt {n}") for n in range(3))
    publish_all(linkedin, account=member(), request=PublishRequest(main=ContentPart("Three", images)))
    content = body_of(calls("POST", POSTS)[0])["content"]
    assert content == {
        "multiImage": {"images": [{"id": f"urn:li:image:I{n}", "altText": f"alt {n}"} for n in range(3)]}
    }


def test_a_video_is_uploaded_in_parts_with_etags_finalized_and_awaited(linkedin):
    data = b"0123456789"
    responses.add(responses.POST, f"{REST}/videos", json=video_initialized((0, 5), (6, 9)))
    responses.add(responses.PUT, f"{UPLOAD_URL}-part0", status=200, headers={"ETag": "etag-0"})
    responses.add(responses.PUT, f"{UPLOAD_URL}-part1", status=200, headers={"ETag": "etag-1"})
    responses.add(
        responses.GET, f"{REST}/videos/urn%3Ali%3Avideo%3AC5F10AQGKQg_6y2a4sQ", json=video_status("PROCESSING")
    )
    responses.add(
        responses.GET, f"{REST}/videos/urn%3Ali%3Avideo%3AC5F10AQGKQg_6y2a4sQ", json=video_status("AVAILABLE")
    )
    responses.add(responses.POST, POSTS, **created(SHARE))
    request = PublishRequest(main=ContentPart("Demo", (media("Demo.mp4", "video/mp4", data),)))
    uploads = MemoryUploads()
    first = linkedin.publish_part(account=member(), request=request, part=part_request(request, 0, [], uploads=uploads))
    assert isinstance(first, Pending)
    init, finalize = calls("POST", f"{REST}/videos")
    assert body_of(init)["initializeUploadRequest"]["fileSizeBytes"] == 10
    assert [c.request.body for c in calls("PUT", UPLOAD_URL)] == [b"012345", b"6789"]
    assert body_of(finalize) == {"finalizeUploadRequest": {"video": VIDEO, "uploadToken": "",
                                                           "uploadedPartIds": ["etag-0", "etag-1"]}}  # fmt: skip
    second = linkedin.publish_part(account=member(), request=request,
                                   part=part_request(request, 0, [], uploads=uploads, state=first.state))  # fmt: skip
    assert second.platform_post_id == SHARE
    assert len(calls("POST", f"{REST}/videos")) == 2, "a status check never uploads or finalizes again"
    assert body_of(calls("POST", POSTS)[0])["content"] == {"media": {"title": "Demo", "id": VIDEO}}


def test_a_video_linkedin_could_not_process_fails(linkedin):
    responses.add(responses.POST, f"{REST}/videos", json=video_initialized((0, 9)))
    responses.add(responses.PUT, f"{UPLOAD_URL}-part0", status=200, headers={"ETag": "etag-0"})
    responses.add(responses.GET, re.compile(rf"{re.escape(REST)}/videos/.+"), json=video_status("PROCESSING_FAILED"))
    request = PublishRequest(main=ContentPart("Demo", (media("Demo.mp4", "video/mp4", b"0123456789"),)))
    with pytest.raises(ProviderError) as caught:
        publish_all(linkedin, account=member(), request=request)
    assert caught.value.error_class == ErrorClass.CONTENT
    assert not calls("POST", POSTS)


DOCUMENT_URL = f"{REST}/documents/urn%3Ali%3Adocument%3AD5F10AQH2mK0pQ1dWxQ"


def _report() -> PublishRequest:
    return PublishRequest(main=ContentPart("Our report", (media("Annual report.pdf", "application/pdf", b"%PDF"),)))


def test_a_pdf_is_a_document_post(linkedin):
    responses.add(responses.POST, f"{REST}/documents", json=document_initialized())
    responses.add(responses.PUT, UPLOAD_URL, status=201)
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("AVAILABLE", ORG))
    responses.add(responses.POST, POSTS, **created(SHARE))
    publish_all(linkedin, account=organization(), request=_report())
    assert body_of(calls("POST", f"{REST}/documents")[0]) == {"initializeUploadRequest": {"owner": ORG}}
    assert calls("PUT", UPLOAD_URL)[0].request.body == b"%PDF"
    assert body_of(calls("POST", POSTS)[0])["content"] == {"media": {"title": "Annual report", "id": DOCUMENT}}


def test_a_documents_title_is_the_one_the_author_wrote_in_place_of_alt_text(linkedin):
    responses.add(responses.POST, f"{REST}/documents", json=document_initialized())
    responses.add(responses.PUT, UPLOAD_URL, status=201)
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("AVAILABLE", ORG))
    responses.add(responses.POST, POSTS, **created(SHARE))
    pdf = media("Annual report.pdf", "application/pdf", b"%PDF", alt="Our 2026 in numbers")
    publish_all(linkedin, account=organization(), request=PublishRequest(main=ContentPart("Our report", (pdf,))))
    assert body_of(calls("POST", POSTS)[0])["content"] == {"media": {"title": "Our 2026 in numbers", "id": DOCUMENT}}


def test_a_document_is_awaited_until_available_before_the_post(linkedin):
    responses.add(responses.POST, f"{REST}/documents", json=document_initialized())
    responses.add(responses.PUT, UPLOAD_URL, status=201)
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("PROCESSING"))
    responses.add(responses.POST, POSTS, **created(SHARE))
    request, uploads = _report(), MemoryUploads()
    first = linkedin.publish_part(account=member(), request=request, part=part_request(request, 0, [], uploads=uploads))
    assert isinstance(first, Pending)  # the worker is freed: the engine asks again after check_in_s
    assert (first.reason, first.check_in_s) == ("LinkedIn is processing the document", 5)
    assert not calls("POST", POSTS), "no post before LinkedIn has the document"
    responses.replace(responses.GET, DOCUMENT_URL, json=document_status("AVAILABLE"))
    second = linkedin.publish_part(account=member(), request=request,
                                   part=part_request(request, 0, [], uploads=uploads, state=first.state))  # fmt: skip
    assert second.platform_post_id == SHARE
    assert len(calls("POST", f"{REST}/documents")) == 1, "initialized once"
    assert len(calls("PUT", UPLOAD_URL)) == 1, "uploaded once"
    assert len(calls("GET", DOCUMENT_URL)) == 2
    assert body_of(calls("POST", POSTS)[0])["content"]["media"]["id"] == DOCUMENT


def test_a_document_linkedin_could_not_process_fails_as_content(linkedin):
    responses.add(responses.POST, f"{REST}/documents", json=document_initialized())
    responses.add(responses.PUT, UPLOAD_URL, status=201)
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("PROCESSING_FAILED"))
    with pytest.raises(ProviderError) as caught:
        publish_all(linkedin, account=member(), request=_report())
    assert caught.value.error_class == ErrorClass.CONTENT
    assert "Annual report.pdf" in caught.value.message
    assert "PROCESSING_FAILED" in caught.value.message
    assert not calls("POST", POSTS)


def test_a_failure_between_the_upload_and_the_post_resumes_without_a_second_upload(linkedin):
    responses.add(responses.POST, f"{REST}/documents", json=document_initialized())
    responses.add(responses.PUT, UPLOAD_URL, status=201)
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("AVAILABLE"))
    responses.add(responses.POST, POSTS, body="<html>busy</html>", status=503)
    request, uploads = _report(), MemoryUploads()
    with pytest.raises(ProviderError) as caught:
        linkedin.publish_part(account=member(), request=request, part=part_request(request, 0, [], uploads=uploads))
    assert caught.value.retryable
    responses.replace(responses.POST, POSTS, **created(SHARE))
    again = linkedin.publish_part(account=member(), request=request,
                                  part=part_request(request, 0, [], uploads=uploads))  # fmt: skip
    assert again.platform_post_id == SHARE
    assert len(calls("POST", f"{REST}/documents")) == 1
    assert len(calls("PUT", UPLOAD_URL)) == 1


def test_a_crash_right_after_the_put_asks_linkedin_instead_of_uploading_again(linkedin):
    """The URN and upload URL were kept, the PUT went out, and the worker died before noting it:
    LinkedIn already processes the bytes, so they are not sent again."""
    uploads = MemoryUploads()
    uploads.save("media:0:Annual report.pdf:4", {"urn": DOCUMENT, "upload_url": UPLOAD_URL,
                                                  "expires_ms": 4102444800000})  # fmt: skip
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("PROCESSING"))
    request = _report()
    pending = linkedin.publish_part(account=member(), request=request,
                                    part=part_request(request, 0, [], uploads=uploads))  # fmt: skip
    assert isinstance(pending, Pending)
    assert not calls("PUT", UPLOAD_URL)
    assert not calls("POST", f"{REST}/documents")
    assert uploads.load("media:0:Annual report.pdf:4")["uploaded"] is True


def test_a_crash_after_the_put_is_not_sent_again_even_once_its_upload_url_has_lapsed(linkedin):
    """The bytes arrived (LinkedIn is processing them): a lapsed upload URL is no reason for a
    second document and a second upload of the same PDF."""
    uploads = MemoryUploads()
    uploads.save("media:0:Annual report.pdf:4", {"urn": DOCUMENT, "upload_url": UPLOAD_URL, "expires_ms": 1})
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("PROCESSING"))
    request = _report()
    pending = linkedin.publish_part(account=member(), request=request,
                                    part=part_request(request, 0, [], uploads=uploads))  # fmt: skip
    assert isinstance(pending, Pending)
    assert not calls("PUT", UPLOAD_URL)
    assert not calls("POST", f"{REST}/documents")


def test_a_document_whose_bytes_never_arrived_and_whose_url_lapsed_starts_over(linkedin):
    uploads = MemoryUploads()
    uploads.save("media:0:Annual report.pdf:4", {"urn": DOCUMENT, "upload_url": UPLOAD_URL, "expires_ms": 1})
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("WAITING_UPLOAD"))
    responses.add(responses.POST, f"{REST}/documents", json=document_initialized())
    responses.add(responses.PUT, UPLOAD_URL, status=201)
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("AVAILABLE"))
    responses.add(responses.POST, POSTS, **created(SHARE))
    request = _report()
    item = linkedin.publish_part(account=member(), request=request, part=part_request(request, 0, [], uploads=uploads))
    assert item.platform_post_id == SHARE
    assert len(calls("POST", f"{REST}/documents")) == 1
    assert [c.request.body for c in calls("PUT", UPLOAD_URL)] == [b"%PDF"]


def test_a_document_whose_bytes_never_arrived_is_sent_to_the_same_upload_url(linkedin):
    uploads = MemoryUploads()
    uploads.save("media:0:Annual report.pdf:4", {"urn": DOCUMENT, "upload_url": UPLOAD_URL,
                                                  "expires_ms": 4102444800000})  # fmt: skip
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("WAITING_UPLOAD"))
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("AVAILABLE"))
    responses.add(responses.PUT, UPLOAD_URL, status=201)
    responses.add(responses.POST, POSTS, **created(SHARE))
    request = _report()
    item = linkedin.publish_part(account=member(), request=request, part=part_request(request, 0, [], uploads=uploads))
    assert item.platform_post_id == SHARE
    assert [c.request.body for c in calls("PUT", UPLOAD_URL)] == [b"%PDF"]
    assert not calls("POST", f"{REST}/documents")


def test_an_article_link_carries_its_title_and_thumbnail(linkedin):
    responses.add(responses.POST, f"{REST}/images", json=image_initialized())
    responses.add(responses.PUT, UPLOAD_URL, status=201)
    responses.add(responses.POST, POSTS, **created(SHARE))
    request = PublishRequest(main=ContentPart("Read this", (media("t.jpg", "image/jpeg"),)),
                             link="https://example.com/post",
                             options={"link_title": "Title", "link_description": "About it"})  # fmt: skip
    publish_all(linkedin, account=member(), request=request)
    article = {"source": "https://example.com/post", "title": "Title", "description": "About it", "thumbnail": IMAGE}
    assert body_of(calls("POST", POSTS)[0])["content"] == {"article": article}


def test_an_upload_url_off_linkedins_hosts_is_not_followed(linkedin):
    responses.add(responses.POST, f"{REST}/images", json=image_initialized(url="https://evil.example/upload"))
    request = PublishRequest(main=ContentPart("x", (media("t.jpg", "image/jpeg"),)))
    with pytest.raises(ProviderError):
        publish_all(linkedin, account=member(), request=request)
    assert not calls("PUT", "https://evil.example")


def test_the_first_comment_is_a_comment_on_the_post(linkedin):
    responses.add(responses.POST, POSTS, **created(SHARE))
    responses.add(responses.POST, f"{REST}/socialActions/urn%3Ali%3Ashare%3A7123456789012345678/comments",
                  **created("urn:li:comment:(urn:li:activity:1,2)"))  # fmt: skip
    request = PublishRequest(main=ContentPart("Post"), first_comment=ContentPart("Link in the comments (here)"))
    result = publish_all(linkedin, account=organization(), request=request)
    comment = body_of(calls("POST", f"{REST}/socialActions")[0])
    assert comment == {"actor": ORG, "object": SHARE, "message": {"text": "Link in the comments (here)"}}
    assert result.first_comment.platform_post_id == "urn:li:comment:(urn:li:activity:1,2)"


# --- Errors -------------------------------------------------------------------------------------


def test_a_retired_version_is_a_config_failure_naming_the_setting(linkedin):
    error(responses.POST, POSTS, BAD_VERSION, 426)()
    with pytest.raises(ProviderError) as caught:
        publish_all(linkedin, account=member(), request=PublishRequest(main=ContentPart("Hi")))
    assert caught.value.error_class == ErrorClass.CONFIG
    assert "LINKEDIN_VERSION" in caught.value.message
    assert "Requested version 20250401 is not active" in caught.value.message


def test_a_duplicate_is_content_with_linkedins_words(linkedin):
    error(responses.POST, POSTS, DUPLICATE, 422)()
    with pytest.raises(ProviderError) as caught:
        publish_all(linkedin, account=member(), request=PublishRequest(main=ContentPart("Again")))
    assert caught.value.error_class == ErrorClass.CONTENT
    assert "Duplicate post is detected" in caught.value.message


def test_no_page_role_on_an_organization_is_config(linkedin):
    error(responses.POST, POSTS, ACCESS_DENIED, 403)()
    with pytest.raises(ProviderError) as caught:
        publish_all(linkedin, account=organization(), request=PublishRequest(main=ContentPart("Hi")))
    assert caught.value.error_class == ErrorClass.CONFIG


def test_the_daily_throttle_waits_until_midnight_utc(linkedin):
    error(responses.POST, POSTS, THROTTLED, 429)()
    with pytest.raises(ProviderError) as caught:
        publish_all(linkedin, account=member(), request=PublishRequest(main=ContentPart("Hi")))
    assert caught.value.error_class == ErrorClass.RATE
    now = timezone.now()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert abs(caught.value.retry_after - max(60, (midnight - now).total_seconds())) < 5


def test_a_201_without_an_id_is_in_doubt(linkedin):
    responses.add(responses.POST, POSTS, body="", status=201)
    with pytest.raises(ProviderError) as caught:
        publish_all(linkedin, account=member(), request=PublishRequest(main=ContentPart("Hi")))
    assert caught.value.outcome_unknown


# --- Metrics ------------------------------------------------------------------------------------


def test_organization_posts_are_measured_by_share_statistics(linkedin):
    stats = {"uniqueImpressionsCount": 900, "shareCount": 3, "engagement": 0.05, "clickCount": 40, "likeCount": 25,
             "impressionCount": 1200, "commentCount": 4}  # fmt: skip
    answer = {"elements": [{"totalShareStatistics": stats, "share": SHARE, "organizationalEntity": ORG}]}
    responses.add(responses.GET, f"{REST}/organizationalEntityShareStatistics", json=answer)
    metrics = linkedin.fetch_metrics(account=organization(), platform_post_ids=[SHARE])
    assert metrics == {SHARE: PostMetrics(likes=25, reposts=3, replies=4, impressions=1200,
                                          extra={"clicks": 40, "unique_impressions": 900})}  # fmt: skip
    query = urlsplit(responses.calls[0].request.url).query
    assert "organizationalEntity=urn%3Ali%3Aorganization%3A5515715" in query
    assert "shares=List(urn%3Ali%3Ashare%3A7123456789012345678)" in query


def test_an_interrupted_video_upload_resumes_at_the_next_part(linkedin):
    instructions = video_initialized((0, 5), (6, 9))["value"]["uploadInstructions"]
    uploads = MemoryUploads()
    uploads.save("media:0:Demo.mp4:10", {"urn": VIDEO, "token": "", "etags": ["etag-0"], "instructions": instructions})
    responses.add(responses.PUT, f"{UPLOAD_URL}-part1", status=200, headers={"ETag": "etag-1"})
    responses.add(responses.POST, f"{REST}/videos", body="", status=200)
    responses.add(responses.GET, re.compile(rf"{re.escape(REST)}/videos/.+"), json=video_status("AVAILABLE"))
    responses.add(responses.POST, POSTS, **created(SHARE))
    request = PublishRequest(main=ContentPart("Demo", (media("Demo.mp4", "video/mp4", b"0123456789"),)))
    item = linkedin.publish_part(account=member(), request=request, part=part_request(request, 0, [], uploads=uploads))
    assert item.platform_post_id == SHARE
    assert [c.request.url for c in calls("PUT", UPLOAD_URL)] == [f"{UPLOAD_URL}-part1"]
    (finalize,) = calls("POST", f"{REST}/videos")
    assert "finalizeUpload" in finalize.request.url
    assert body_of(finalize)["finalizeUploadRequest"]["uploadedPartIds"] == ["etag-0", "etag-1"]


def test_a_document_over_the_limit_is_refused_before_upload(linkedin, settings):
    settings.LINKEDIN_DOCUMENT_MAX_BYTES = 3
    request = PublishRequest(main=ContentPart("Report", (media("r.pdf", "application/pdf", b"%PDF-1.7"),)))
    with pytest.raises(ProviderError, match=r"r\.pdf is larger") as caught:
        publish_all(linkedin, account=member(), request=request)
    assert caught.value.error_class == ErrorClass.CONTENT
    assert not responses.calls


def test_a_revoked_token_right_after_the_consent_is_retried_not_a_reconnect(linkedin):
    import time

    fresh = AccountState(external_id=MEMBER, username="Jane Doe", secrets={"access_token": "AQV"},
                         extra={"kind": "member", "consented_at": time.time() - 10})  # fmt: skip
    error(responses.GET, USERINFO, REVOKED_TOKEN, 401)()
    with pytest.raises(ProviderError) as caught:
        linkedin.check(app=APP, account=fresh)
    assert (caught.value.error_class, caught.value.retry_after) == (ErrorClass.TRANSIENT, 5.0)
    older = AccountState(external_id=MEMBER, username="Jane Doe", secrets={"access_token": "AQV"},
                         extra={"kind": "member", "consented_at": time.time() - 3600})  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        linkedin.check(app=APP, account=older)
    assert caught.value.error_class == ErrorClass.AUTH


# --- Importing and account totals ---------------------------------------------------------------


def test_imported_posts_keep_plain_text_links_and_media_urns(linkedin):
    mock_own_posts(ORG)
    page = linkedin.list_posts(account=organization())
    image_post, article_post = page.items
    assert page.next_cursor == "4"  # Rest.li's next start: past the four elements of the page
    assert image_post.text == "Big news (really)! We ship on Monday."  # little text unescaped
    assert image_post.url == "https://www.linkedin.com/feed/update/urn:li:share:7400000000000000003/"
    assert image_post.published_at.isoformat() == "2025-11-27T08:00:00+00:00"
    assert image_post.media == ()  # LinkedIn's download URLs expire: only the URN is kept
    assert dict(image_post.extra) == {"linkedin_media": [IMAGE]}
    assert article_post.text == "Our report is out\nhttps://example.com/report"
    (team_day,) = linkedin.list_posts(account=organization(), cursor="4").items
    assert team_day.text == "Team day #offsite"
    assert team_day.extra["linkedin_media"] == ["urn:li:image:C4E10AQa", "urn:li:image:C4E10AQb"]


def test_a_member_app_without_the_reading_scope_gets_a_clear_refusal_not_a_reconnect(linkedin):
    error(responses.GET, POSTS, ACCESS_DENIED, 403)()
    with pytest.raises(ProviderError) as caught:
        linkedin.list_posts(account=member())
    assert caught.value.error_class == ErrorClass.CONTENT
    assert "r_member_social" in caught.value.message


def test_an_organization_whose_role_is_gone_cannot_import(linkedin):
    error(responses.GET, POSTS, ACCESS_DENIED, 403)()
    with pytest.raises(ProviderError) as caught:
        linkedin.list_posts(account=organization())
    assert caught.value.error_class == ErrorClass.CONFIG


def test_a_throttled_import_page_waits_for_linkedins_daily_reset(linkedin):
    error(responses.GET, POSTS, THROTTLED, 429)()
    with pytest.raises(ProviderError) as caught:
        linkedin.list_posts(account=organization(), cursor="4")
    assert caught.value.error_class == ErrorClass.RATE
    assert 60 <= caught.value.retry_after <= 24 * 3600  # until midnight UTC: LinkedIn names no wait


def test_an_organization_counts_its_followers(linkedin):
    network_size(ORG, 1234)
    assert linkedin.fetch_account_metrics(account=organization()) == AccountMetrics(followers=1234)


def test_a_member_reads_no_account_totals(linkedin):
    assert linkedin.fetch_account_metrics(account=member()) is None
    assert not responses.calls


def test_the_selection_step_offers_importing_the_chosen_pages_past_posts(
    team, settings, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from analytics.models import ImportRun

    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "linkedin": ("client-123", "secret-456")}
    client = team.client("admin")
    state = parse_qs(urlsplit(client.post(reverse("connect", args=["linkedin"])).url).query)["state"][0]
    responses.add(responses.POST, TOKEN_URL, json=token())
    responses.add(responses.GET, USERINFO, json=USERINFO_BODY)
    responses.add(responses.GET, ACLS, json=acls(ORG))
    selection = client.get(reverse("connect_callback", args=["linkedin"]), {"code": "c", "state": state}).url
    assert 'name="import_past"' in client.get(selection).content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        answer = client.post(selection, {"account": [MEMBER, ORG], "import_past": "1"}, follow=True)
    (run,) = ImportRun.objects.all()  # the page's; the member's cannot be read by this app
    assert (run.account.external_id, run.status) == (ORG, ImportRun.Status.QUEUED)
    assert "r_member_social" in answer.content.decode()


def test_a_members_import_is_offered_only_where_the_app_may_read_members_posts(team, settings):
    from django.core.exceptions import ValidationError
    from django.urls import reverse

    from analytics.imports import import_start

    person = saved_account(team, "linkedin", member())
    page = saved_account(team, "linkedin", organization())
    accounts = team.client("admin").get(reverse("connections")).content.decode()
    assert accounts.count("Import past posts") == 1  # the page's only
    with pytest.raises(ValidationError) as refused:
        import_start(actor=team.membership("admin"), account=person)
    assert "LINKEDIN_MEMBER_POSTS" in refused.value.messages[0]
    assert import_start(actor=team.membership("admin"), account=page).account == page
    settings.LINKEDIN_MEMBER_POSTS = True
    assert import_start(actor=team.membership("admin"), account=person).account == person


def test_an_app_approved_for_members_posts_asks_for_the_reading_scope(linkedin, settings):
    settings.LINKEDIN_MEMBER_POSTS = True
    url = linkedin.authorization_url(app=APP, redirect_uri=REDIRECT, state="s", code_verifier=None)
    assert "r_member_social" in parse_qs(urlsplit(url).query)["scope"][0].split()
    settings.LINKEDIN_MEMBER_POSTS = False
    url = linkedin.authorization_url(app=APP, redirect_uri=REDIRECT, state="s", code_verifier=None)
    assert "r_member_social" not in parse_qs(urlsplit(url).query)["scope"][0].split()


# --- Documents through the engine ---------------------------------------------------------------

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _engine_document_post(team, settings, tmp_path):
    """A post with a PDF to the member, going now, through the real services (not yet claimed)."""
    from django.core.files.base import ContentFile

    from publishing.media import media_store
    from publishing.services import Attachment, PartInput, PostInput, When, post_create

    settings.MEDIA_ROOT = tmp_path / "media"
    saved = saved_account(team, "linkedin", member())
    editor = team.membership("editor")
    pdf = media_store(actor=editor, upload=ContentFile(PDF_BYTES, name="Q4 results.pdf"))
    data = PostInput(parts=[PartInput(text="Our Q4", attachments=(Attachment(media_id=pdf.id),))],
                     account_ids=[saved.id], when=When.now())  # fmt: skip
    return post_create(actor=editor, data=data).targets.get()


def test_a_document_processing_over_two_polls_lands_through_the_engine_without_a_waiting_worker(
    team, settings, tmp_path, django_capture_on_commit_callbacks, time_machine
):
    from publishing import engine
    from publishing.models import Target

    time_machine.move_to(timezone.now(), tick=False)
    target = _engine_document_post(team, settings, tmp_path)
    responses.add(responses.POST, f"{REST}/documents", json=document_initialized())
    responses.add(responses.PUT, UPLOAD_URL, status=201)
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("PROCESSING"))
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("AVAILABLE"))
    responses.add(responses.POST, POSTS, **created(SHARE))

    def claim():
        with django_capture_on_commit_callbacks(execute=True):
            engine.targets_claim_due()
        target.refresh_from_db()

    claim()
    assert (target.status, target.lease_expires_at) == (Target.Status.PROCESSING, None)  # the worker was freed
    assert target.status_reason == "LinkedIn is processing the document"
    assert not calls("POST", POSTS)
    time_machine.shift(5)
    claim()
    assert target.status == Target.Status.PUBLISHED, target.error_message
    assert target.parts.get().platform_post_id == SHARE
    assert len(calls("POST", f"{REST}/documents")) == 1
    assert [c.request.body for c in calls("PUT", UPLOAD_URL)] == [PDF_BYTES]
    assert body_of(calls("POST", POSTS)[0])["content"] == {"media": {"title": "Q4 results", "id": DOCUMENT}}


def test_a_failure_after_the_upload_resumes_through_the_engine_without_a_second_upload(
    team, settings, tmp_path, django_capture_on_commit_callbacks, time_machine
):
    from publishing import engine
    from publishing.models import Target, UploadSession

    time_machine.move_to(timezone.now(), tick=False)
    target = _engine_document_post(team, settings, tmp_path)
    responses.add(responses.POST, f"{REST}/documents", json=document_initialized())
    responses.add(responses.PUT, UPLOAD_URL, status=201)
    responses.add(responses.GET, DOCUMENT_URL, json=document_status("AVAILABLE"))
    responses.add(responses.POST, POSTS, body="<html>Bad gateway</html>", status=503)
    with django_capture_on_commit_callbacks(execute=True):
        engine.targets_claim_due()
    target.refresh_from_db()
    assert target.status == Target.Status.RETRY_WAIT
    (session,) = UploadSession.objects.filter(part__target=target)
    assert (session.state["urn"], session.state["uploaded"]) == (DOCUMENT, True)  # kept in the database
    responses.replace(responses.POST, POSTS, **created(SHARE))
    time_machine.shift(3600)
    with django_capture_on_commit_callbacks(execute=True):
        engine.targets_claim_due()
    target.refresh_from_db()
    assert target.status == Target.Status.PUBLISHED, target.error_message
    assert len(calls("POST", f"{REST}/documents")) == 1
    assert len(calls("PUT", UPLOAD_URL)) == 1
