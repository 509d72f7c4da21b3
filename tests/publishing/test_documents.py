"""PDFs in the media library: stored as documents, posted where a platform takes them (LinkedIn),
refused by name where it does not."""

import re

import pytest
from django.urls import reverse

from connections.providers.base import Connection, Profile
from connections.services import account_save
from publishing.models import Media
from tests.publishing.test_composer import COMPOSE, upload

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media_dirs(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _linkedin(team):
    connection = Connection(profile=Profile(external_id="urn:li:person:782bbtaQ", username="Jane Doe"),
                            secrets={"access_token": "AQV"}, extra={"kind": "member"})  # fmt: skip
    return account_save(workspace=team.workspace, platform="linkedin", connection=connection, user=None)


def test_a_pdf_is_stored_as_a_document_with_an_icon_for_its_picture(team):
    response = upload(team.client("editor"), PDF, name="deck.pdf")
    assert response.status_code == 200
    body = response.json()
    assert (body["kind"], body["width"], body["size"]) == ("document", None, len(PDF))
    assert body["url"].endswith("img/document.svg")
    media = Media.objects.get()
    assert (media.mime_type, media.original_name) == ("application/pdf", "deck.pdf")
    assert media.file.read() == PDF  # kept byte for byte
    picker = team.client("editor").get(reverse("media_library"), {"pick": "1"})
    assert b'aria-label="Attach deck.pdf (PDF)"' in picker.content


def test_a_pdf_is_downloaded_not_rendered_inside_the_site_and_only_in_its_workspace(team):
    media_id = upload(team.client("editor"), PDF, name="deck.pdf").json()["id"]
    response = team.client("editor").get(reverse("media_preview", args=[media_id]))
    assert response["Content-Disposition"] == 'attachment; filename="deck.pdf"'
    assert b"".join(response.streaming_content) == PDF
    assert team.client("outsider").get(reverse("media_preview", args=[media_id])).status_code == 404


def test_a_pdf_goes_to_linkedin_and_is_refused_by_name_elsewhere(team, demo_accounts):
    linkedin = _linkedin(team)
    client = team.client("editor")
    media_id = upload(client, PDF, name="deck.pdf").json()["id"]
    refused = client.post(COMPOSE, {"accounts": [demo_accounts[0].pk], "text": "Deck", "main_media": [media_id],
                                    "when": "draft"})  # fmt: skip
    assert refused.status_code == 400
    assert b"does not take documents; remove deck.pdf" in refused.content
    saved = client.post(COMPOSE, {"accounts": [linkedin.pk], "text": "Deck", "main_media": [media_id],
                                  "when": "draft"})  # fmt: skip
    assert saved.status_code == 302


def test_linkedin_takes_one_document_within_its_limit(team, settings):
    linkedin = _linkedin(team)
    client = team.client("editor")
    first = upload(client, PDF, name="a.pdf").json()["id"]
    second = upload(client, PDF + b"%second\n", name="b.pdf").json()["id"]
    two = client.post(COMPOSE, {"accounts": [linkedin.pk], "text": "Decks", "main_media": [first, second],
                                "when": "draft"})  # fmt: skip
    assert b"LinkedIn documents: at most 1 per post; this one has 2." in two.content
    settings.LINKEDIN_DOCUMENT_MAX_BYTES = 10
    heavy = client.post(COMPOSE, {"accounts": [linkedin.pk], "text": "Deck", "main_media": [first], "when": "draft"})
    assert heavy.status_code == 400
    assert b"LinkedIn documents:" in heavy.content


def test_the_composers_own_upload_box_takes_pdfs_and_names_an_attached_one(team, demo_accounts):
    linkedin = _linkedin(team)
    client = team.client("editor")
    page = client.get(COMPOSE).content.decode()
    box = re.search(r'<input type="file" id="media-input"[^>]*>', page)
    assert box is not None
    assert "application/pdf" in box.group(0).split('accept="', 1)[1].split('"', 1)[0].split(",")
    # The picker offers PDFs while an account whose rules take documents is picked: those are marked.
    marked = set(map(int, re.findall(r'name="accounts" value="(\d+)"[^>]*data-documents', page)))
    assert marked == {linkedin.pk}
    media_id = upload(client, PDF, name="deck.pdf").json()["id"]
    kept = client.post(COMPOSE, {"accounts": [linkedin.pk], "text": "x" * 3001, "main_media": [media_id],
                                "when": "draft"})  # fmt: skip
    assert kept.status_code == 400  # too long for LinkedIn: the form comes back, the PDF still attached
    assert 'Title of deck.pdf <span class="muted small">(PDF;' in kept.content.decode()
