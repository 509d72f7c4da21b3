"""Connect LinkedIn through a fake LinkedIn on loopback (the same consent redirect and API calls),
choose the member and one of its organizations (shown by the names LinkedIn's lookup gives), then
publish a post with a PDF document uploaded in the composer to both, through the real engine,
which waits for LinkedIn to finish processing each document before it posts."""

import re

import pytest
from playwright.sync_api import Page, expect

from connections.models import SocialAccount
from publishing.models import Post
from tests.browser import fake_linkedin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A small but well-formed PDF: one empty page.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def linkedin(settings, live_server):
    fake, server = fake_linkedin.start()
    settings.LINKEDIN_API_URL = fake.url
    settings.LINKEDIN_OAUTH_URL = f"{fake.url}/oauth/v2"
    settings.SITE_URL = live_server.url  # where the consent page sends the browser back
    settings.PLATFORM_CREDENTIALS = {
        **settings.PLATFORM_CREDENTIALS,
        "linkedin": (fake_linkedin.CLIENT_ID, fake_linkedin.CLIENT_SECRET),
    }
    # The fake answers PROCESSING once per document: look again after a second, not five.
    settings.PUBLISH_MAX_PROCESSING_CHECK_SECONDS = 1
    yield fake
    server.shutdown()
    server.server_close()


def test_connect_member_and_an_organization_then_publish_a_pdf_to_both(
    live_server, page: Page, signed_in, linkedin, request, shot
):
    page.goto(f"{live_server.url}/connections/")
    page.get_by_role("button", name="Connect LinkedIn").click()
    expect(page.get_by_role("heading", name="Postwright would like to post on your behalf")).to_be_visible()
    expect(page.get_by_text("w_organization_social")).to_be_visible()  # the company-page scopes were asked for
    page.get_by_role("button", name="Allow").click()

    # One consent, one selection step: the member and the two organizations it administers.
    expect(page.get_by_role("heading", name="Choose which LinkedIn accounts to connect")).to_be_visible()
    member = page.get_by_role("checkbox", name=re.compile("Jane Doe"))
    cafe = page.get_by_role("checkbox", name=re.compile("Acme Coffee"))
    labs = page.get_by_role("checkbox", name=re.compile("Acme Labs"))
    for choice in (member, cafe, labs):
        expect(choice).to_be_checked()
    expect(page.get_by_text("LinkedIn · acme-coffee")).to_be_visible()  # the vanity name as its handle
    labs.uncheck()
    shot("select")
    page.get_by_role("button", name="Connect selected").click()

    row = page.locator("tr", has_text="Acme Coffee")
    expect(row.get_by_text("Active")).to_be_visible()
    expect(row.get_by_role("link", name="acme-coffee")).to_have_attribute(
        "href", "https://www.linkedin.com/company/acme-coffee/"
    )
    assert sorted(SocialAccount.objects.values_list("platform", "external_id", "display_name")) == [
        ("linkedin", fake_linkedin.ORG, "Acme Coffee"),
        ("linkedin", fake_linkedin.MEMBER, "Jane Doe"),
    ]
    # One grant for both: a single token exchange; the names in one batch lookup.
    assert [call for call in linkedin.calls if call[1].startswith("/oauth/v2/accessToken")] == [
        ("POST", "/oauth/v2/accessToken")
    ]
    assert [path for _method, path in linkedin.calls if path.startswith("/rest/organizations?")] == [
        "/rest/organizations?ids=List(5515715,123)"
    ]

    page.goto(f"{live_server.url}/posts/new/")
    upload_box = page.get_by_label("Images, video or a PDF")
    expect(upload_box).not_to_have_attribute("accept", re.compile("application/pdf"))  # no account picked yet
    page.get_by_label("LinkedIn · Jane Doe").check()
    expect(upload_box).to_have_attribute("accept", re.compile("application/pdf"))  # LinkedIn posts documents
    page.get_by_label("LinkedIn · Acme Coffee").check()
    page.get_by_label("Post", exact=True).fill("Our Q4 results, in eight slides.")
    # The composer's own upload box, not the library: it takes PDFs too.
    upload_box.set_input_files(files=[{"name": "Q4 results.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    expect(page.get_by_label("Title of Q4 results.pdf")).to_be_visible()
    expect(page.locator("#checks .badge-success")).to_have_count(2)  # both "Ready to post"
    shot("composer")
    # Started only now: its claims beside the connect step's writes would contend for the database.
    request.getfixturevalue("dispatcher")
    page.get_by_role("button", name="Publish now").click()

    expect(page.locator("#post-status")).to_have_text("Published", timeout=30_000)
    links = page.get_by_role("link", name="View the live post")
    expect(links).to_have_count(2)
    shot("published")

    # Exactly one post per author, each with its own document (initialized for that author, the
    # PDF's bytes sent once), titled from the file's name.
    assert sorted(post["author"] for post in linkedin.posts) == sorted([fake_linkedin.MEMBER, fake_linkedin.ORG])
    for post in linkedin.posts:
        document = post["content"]["media"]["id"]
        assert linkedin.documents[document]["owner"] == post["author"]
        assert post["content"]["media"]["title"] == "Q4 results"
        assert post["commentary"] == "Our Q4 results, in eight slides."
        assert (post["visibility"], post["lifecycleState"]) == ("PUBLIC", "PUBLISHED")
    assert sorted(urn for urn, _data in linkedin.uploads) == sorted(p["content"]["media"]["id"] for p in linkedin.posts)
    assert [data for _urn, data in linkedin.uploads] == [PDF, PDF]
    # Each document was looked at until AVAILABLE (the fake refuses a post on one still processing).
    for urn in linkedin.documents:
        looks = [path for method, path in linkedin.calls if method == "GET" and path.startswith("/rest/documents/")
                 and urn.replace(":", "%3A") in path]  # fmt: skip
        assert len(looks) >= 2, urn
    assert linkedin.unexpected == []
    shares = {post["id"] for post in linkedin.posts}
    post = Post.objects.get()
    assert {target.platform_post_id for target in post.targets.all()} == shares
    hrefs = {links.nth(i).get_attribute("href") for i in range(2)}
    assert hrefs == {f"https://www.linkedin.com/feed/update/{urn}/" for urn in shares}
