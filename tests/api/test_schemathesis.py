"""Schemathesis against the live server's own OpenAPI document, on a seeded workspace: no input
yields a 5xx, and every answer matches what the document promises (bodies, content types).

Bounded: a few examples per operation, positive and negative, derandomised so CI is repeatable."""

from datetime import timedelta

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from accounts.models import Plan
from publishing.inputs import PartInput, PostInput, When
from publishing.models import PostingSlot
from publishing.services import post_create
from tests.api.conftest import make_key

EXAMPLES = 6


@pytest.fixture
def seeded(team, demo_accounts, settings, tmp_path):
    Plan.objects.update(api_requests_per_minute=None)  # the run makes far more than a minute's requests
    settings.MEDIA_ROOT, settings.MEDIA_UPLOAD_TEMP_DIR = tmp_path / "media", tmp_path / "uploads"
    editor = team.membership("editor")
    for when in (When.draft(), When.at(timezone.now() + timedelta(days=2))):
        post_create(
            actor=editor, data=PostInput(parts=[PartInput("seed")], account_ids=[demo_accounts[0].id], when=when)
        )
    from datetime import time

    PostingSlot.objects.create(account=demo_accounts[0], weekday=2, time=time(10))
    key = make_key(team.workspace)
    _seed_the_other_resources(team, key, editor)
    return key


def _seed_the_other_resources(team, key, editor):
    """One of each thing the other resources show, so their reads have something to answer with."""
    from django.core.files.base import ContentFile

    from api.models import ApiKey
    from connections.models import ConnectSession, OAuthApp
    from publishing.media import media_store
    from tests.publishing.test_media import phone_photo
    from webhooks.services import endpoint_create

    OAuthApp.objects.create(workspace=team.workspace, platform="oauth2-test", client_id="c", client_secret="s")
    ConnectSession.objects.create(
        workspace=team.workspace, platform="demo", api_key_id=ApiKey.objects.get(prefix=key[:16]).pk,
        return_to="https://app.example/done", redirect_uri="http://127.0.0.1:8000/connections/callback/demo/",
        status=ConnectSession.Status.SELECTING,
        secrets={"pending": [{"profile": {"external_id": "x", "username": "@x", "display_name": "X", "avatar_url": "",
                                          "profile_url": ""}, "secrets": {}, "extra": {}}]},
    )  # fmt: skip
    media_store(actor=editor, upload=ContentFile(phone_photo(), name="seed.jpg"))
    endpoint_create(actor=team.membership("admin"), url="https://hooks.example/pw")


@pytest.mark.django_db(transaction=True)
def test_the_api_keeps_its_own_promises(live_server, seeded):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            def run(case):
                case.call_and_validate(
                    base_url=live_server.url, headers={"Authorization": f"Bearer {seeded}"}, checks=checks
                )

            try:
                run()
            except Exception as exc:  # collect every operation's failure, not just the first
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
