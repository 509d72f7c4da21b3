"""The public privacy, terms and data-deletion pages: stable URLs, no sign-in, a default text that
follows the retention settings, and the operator's own text (escaped) when they write one."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import LegalPage

pytestmark = pytest.mark.django_db
PAGES = ["/privacy/", "/terms/", "/data-deletion/"]


@pytest.mark.parametrize("path", PAGES)
def test_the_pages_are_public_at_stable_urls(path):
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_the_default_privacy_text_follows_the_retention_settings(settings):
    settings.AUDIT_RETENTION_DAYS = 45
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 12
    page = Client().get(reverse("privacy")).content.decode()
    assert "Security and access logs: 45 days." in page
    assert "Webhook delivery logs: 12 days." in page
    assert reverse("data_deletion") in page


def test_the_deletion_page_describes_the_paths_that_exist(settings):
    settings.WORKSPACE_DELETION_GRACE_DAYS = 3
    page = Client().get(reverse("data_deletion")).content.decode()
    assert "<em>Delete your account</em>" in page
    assert "for 3 days any owner can undo it" in page
    assert reverse("account_delete") == "/me/delete/"  # what the account menu links to


def test_an_operators_own_text_replaces_the_default_and_is_escaped():
    LegalPage.objects.create(slug="privacy", title="Our privacy policy",
                             body="We keep little.\n\n<script>alert(1)</script> See https://example.com/p")  # fmt: skip
    page = Client().get("/privacy/").content.decode()
    assert "Our privacy policy" in page
    assert "We keep little." in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert '<a href="https://example.com/p"' in page
    assert "Security and access logs" not in page


def test_every_page_links_to_them(team):
    assert b'href="/privacy/"' in Client().get(reverse("account_login")).content
    assert b'href="/data-deletion/"' in team.client("viewer").get(reverse("posts")).content
