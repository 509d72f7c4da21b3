"""The Accounts page's "configured" flags, read in one query, agree with is_configured."""

import pytest

from connections import services
from connections.models import OAuthApp
from connections.registry import enabled_providers

pytestmark = pytest.mark.django_db


def test_configured_platforms_agrees_with_is_configured(team, settings, django_assert_max_num_queries):
    providers = enabled_providers()
    with_app = next(p for p in providers if p.needs_app_credentials and not p.asks_for_instance)
    OAuthApp.objects.create(workspace=team.workspace, platform=with_app.id, client_id="id", client_secret="s")
    with django_assert_max_num_queries(1):
        configured = services.configured_platforms(workspace=team.workspace, providers=providers)
    expected = {p.id for p in providers if services.is_configured(workspace=team.workspace, provider=p)}
    assert configured == expected
    assert with_app.id in configured
    keyless = [
        p for p in providers
        if p.needs_app_credentials and not p.asks_for_instance and p is not with_app
        and not all(settings.PLATFORM_CREDENTIALS.get(p.id, (None, None)))
    ]  # fmt: skip
    assert keyless, "some platform has no keys in the test settings"
    assert not any(p.id in configured for p in keyless)
