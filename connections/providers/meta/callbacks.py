"""Meta's platform callbacks, required for App Review: the deauthorize callback (the user removed
the app) and the data-deletion request callback (the user asked us to delete their data).

Each one names the user by the app-scoped id Meta gave us at connect time (stored on the
account as ``meta_user_id``, beside the app's id as ``meta_app_id``: an id means nothing
without its app), and proves itself with a ``signed_request`` keyed with that app's secret; the
app is the instance's or one a workspace brought, and the secret that verifies says which.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from connections.models import OAuthApp, SocialAccount
from connections.providers.meta import signed_request
from connections.providers.meta.login import APP_ID, USER_ID
from connections.providers.meta.models import DataDeletionRequest
from connections.services import accounts_deauthorized, accounts_erase

log = logging.getLogger(__name__)
DEAUTHORIZED = "The app was removed from this account on Meta's side: reconnect to publish again."


def app_secrets(platform: str) -> dict[str, str]:
    """secret -> app id, for every app of this platform that may have signed a callback."""
    found: dict[str, str] = {}
    client_id, client_secret = settings.PLATFORM_CREDENTIALS.get(platform, (None, None))
    if client_id and client_secret:
        found[client_secret] = client_id
    for app in OAuthApp.objects.filter(platform=platform).only("client_id", "client_secret"):
        if app.client_secret:
            found.setdefault(app.client_secret, app.client_id)
    return found


def verified(platform: str, value: str | None) -> tuple[signed_request.SignedRequest, str]:
    """The request's facts and the id of the app that signed it (BadSignedRequest otherwise)."""
    secrets = app_secrets(platform)
    facts = signed_request.verify(value, secrets)
    return facts, secrets[facts.secret]


def accounts_of(platform: str, *, app_id: str, user_id: str) -> list[SocialAccount]:
    """Every account a consent of this user, with this app, yielded (a Facebook login's Pages
    and Instagram accounts alike: the grant names the platform whose app ran the consent)."""
    matches = SocialAccount.objects.filter(
        grant__platform=platform, **{f"extra__{USER_ID}": user_id, f"extra__{APP_ID}": app_id}
    )
    return list(matches.order_by("pk"))


def deauthorize(platform: str, value: str | None) -> int:
    facts, app_id = verified(platform, value)
    accounts = [
        account
        for account in accounts_of(platform, app_id=app_id, user_id=facts.user_id)
        if account.status != SocialAccount.Status.DISCONNECTED
    ]
    touched = accounts_deauthorized(accounts=accounts, reason=DEAUTHORIZED)
    log.info("%s deauthorize callback: %d account(s), %d consent(s)", platform, len(accounts), touched)
    return len(accounts)


def deletion_request(platform: str, value: str | None) -> DataDeletionRequest:
    """Erase at once (a few rows) and record the outcome the status page shows. A user we hold
    nothing about still gets a completed request: that is the true answer."""
    facts, app_id = verified(platform, value)
    with transaction.atomic():
        request = DataDeletionRequest.objects.create(platform=platform)
        erased = accounts_erase(accounts=accounts_of(platform, app_id=app_id, user_id=facts.user_id))
        request.accounts_erased = erased
        request.status = DataDeletionRequest.Status.COMPLETED
        request.completed_at = timezone.now()
        request.save(update_fields=["accounts_erased", "status", "completed_at"])
    log.info("%s data deletion %s: %d account(s) erased", platform, request.confirmation_code, erased)
    return request


def status_url(request: DataDeletionRequest) -> str:
    path = reverse("meta_data_deletion_status", args=[request.confirmation_code])
    return f"{settings.SITE_URL.rstrip('/')}{path}"
