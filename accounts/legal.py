"""The public pages platform developer consoles ask for: privacy policy, terms, data deletion.

Stable URLs (/privacy/, /terms/, /data-deletion/), no sign-in. An operator's own text (a
LegalPage in Django admin) replaces the default, which describes what this software stores, why,
for how long (from the retention settings, so the text cannot drift from what the jobs do) and
how to delete it; PRIVACY_POLICY_URL / TERMS_URL / DATA_DELETION_INSTRUCTIONS_URL send visitors
to the operator's own pages instead.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts.models import LegalPage

Slug = LegalPage.Slug


def _page(request: HttpRequest, slug: str) -> HttpResponse:
    elsewhere = {Slug.PRIVACY: settings.PRIVACY_POLICY_URL, Slug.TERMS: settings.TERMS_URL,
                 Slug.DATA_DELETION: settings.DATA_DELETION_INSTRUCTIONS_URL}.get(Slug(slug))  # fmt: skip
    if elsewhere:
        return redirect(elsewhere)
    custom = LegalPage.objects.filter(slug=slug).first()
    context = {
        "custom": custom,
        "title": custom.title if custom else Slug(slug).label,
        "slug": slug,
        "retention": {
            "audit": settings.AUDIT_RETENTION_DAYS,
            "notifications": settings.NOTIFICATION_RETENTION_DAYS,
            "deliveries": settings.WEBHOOK_DELIVERY_RETENTION_DAYS,
            "uploads": settings.MEDIA_UPLOAD_EXPIRE_HOURS,
            "exports": settings.EXPORT_RETENTION_DAYS,
            "grace": settings.WORKSPACE_DELETION_GRACE_DAYS,
        },
        "site_url": settings.SITE_URL,
    }
    return render(request, "accounts/legal.html", context)


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return _page(request, Slug.PRIVACY)


@require_GET
def terms(request: HttpRequest) -> HttpResponse:
    return _page(request, Slug.TERMS)


@require_GET
def data_deletion(request: HttpRequest) -> HttpResponse:
    return _page(request, Slug.DATA_DELETION)
