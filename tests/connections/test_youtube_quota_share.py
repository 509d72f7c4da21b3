"""One workspace's share of a Google project's YouTube quota (YOUTUBE_WORKSPACE_QUOTA_SHARE): a
workspace past it waits for midnight Pacific, the others still post, and admins see both."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from config.env import EnvError
from connections.errors import ErrorClass, ProviderError
from connections.providers.base import MemoryUploads
from connections.providers.youtube import api as youtube_api
from connections.providers.youtube.conf import workspace_share
from connections.registry import get_provider
from tests.connections.publishing import part_request
from tests.connections.test_youtube import _small_chunks, video_request  # noqa: F401 (a fixture)
from tests.connections.youtube_api import ACCESS, CHANNEL_ID, FakeYouTube, account

NOON_IN_LOS_ANGELES = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


def upload(workspace_id: int | None):
    """One video through publish_part for a channel of that workspace (same Google project)."""
    request, uploads = video_request(), MemoryUploads()
    state = dataclasses.replace(account(), workspace_id=workspace_id)
    return get_provider("youtube").publish_part(account=state, request=request, part=part_request(request, 0, [],
                                                uploads=uploads))  # fmt: skip


@pytest.mark.parametrize(
    ("value", "share"), [("1", 1.0), ("0.25", 0.25), ("2500", 2500.0)]
)  # fmt: skip
def test_the_share_is_a_fraction_or_a_number_of_units(value, share):
    assert workspace_share(value) == share


@pytest.mark.parametrize("value", ["0", "-0.5", "abc", "1.5", "nan", "inf", ""])
def test_a_share_that_means_nothing_is_refused_at_start(value):
    with pytest.raises(EnvError, match="YOUTUBE_WORKSPACE_QUOTA_SHARE"):
        workspace_share(value)


def test_the_default_share_is_the_whole_project(settings, monkeypatch):
    from connections.providers.youtube.conf import settings_from_env

    monkeypatch.delenv("YOUTUBE_WORKSPACE_QUOTA_SHARE", raising=False)
    assert settings_from_env(testing=True)["YOUTUBE_WORKSPACE_QUOTA_SHARE"] == 1.0
    settings.YOUTUBE_QUOTA_UNITS_PER_DAY = 10_000
    settings.YOUTUBE_WORKSPACE_QUOTA_SHARE = 1.0
    assert youtube_api.workspace_budget() == 10_000
    settings.YOUTUBE_WORKSPACE_QUOTA_SHARE = 0.25
    assert youtube_api.workspace_budget() == 2_500
    settings.YOUTUBE_WORKSPACE_QUOTA_SHARE = 4_000.0
    assert youtube_api.workspace_budget() == 4_000
    settings.YOUTUBE_WORKSPACE_QUOTA_SHARE = 50_000.0
    assert youtube_api.workspace_budget() == 10_000, "never more than the project has"


def test_a_workspace_past_its_share_waits_for_midnight_pacific_while_another_still_uploads(db, settings, time_machine):
    time_machine.move_to(NOON_IN_LOS_ANGELES, tick=False)
    settings.YOUTUBE_QUOTA_UNITS_PER_DAY = 10_000
    settings.YOUTUBE_WORKSPACE_QUOTA_SHARE = 0.25  # 2,500 units a workspace
    fake = FakeYouTube()
    fake.install()
    upload(1)  # 1,600 for the upload and 1 to read its processing
    with pytest.raises(ProviderError) as caught:
        upload(1)  # 1,601 + 1,600 would pass 2,500
    assert (caught.value.error_class, caught.value.retry_after) == (ErrorClass.RATE, 12 * 3600)
    assert caught.value.code == "quota_budget"
    assert caught.value.message.startswith("This workspace's share of the YouTube quota used today: 1,601 / 2,500")
    assert len(fake.inits) == 1, "the second upload is not started"

    upload(2)  # another workspace on the same project has its own share
    assert len(fake.inits) == 2
    assert youtube_api.quota_used("p-test") == 3_202, "the project counts every workspace's units"
    assert youtube_api.workspace_used(youtube_api.Ledger("p-test", "1")) == 1_601, "the refused one spent nothing"
    assert youtube_api.workspace_used(youtube_api.Ledger("p-test", "2")) == 1_601


def test_a_share_in_units_and_the_projects_own_budget_both_hold(db, settings, time_machine):
    time_machine.move_to(NOON_IN_LOS_ANGELES, tick=False)
    settings.YOUTUBE_QUOTA_UNITS_PER_DAY = 4_000
    settings.YOUTUBE_WORKSPACE_QUOTA_SHARE = 2_000.0
    FakeYouTube().install()
    upload(1)
    upload(2)
    with pytest.raises(ProviderError) as caught:
        upload(3)  # its share is untouched, but the project has 798 left
    assert caught.value.message.startswith("YouTube quota used today: 3,202 / 4,000")
    assert youtube_api.workspace_used(youtube_api.Ledger("p-test", "3")) == 0, "nothing taken from the share either"


def test_with_the_default_share_one_workspace_may_use_the_whole_project(db, settings, time_machine):
    time_machine.move_to(NOON_IN_LOS_ANGELES, tick=False)
    settings.YOUTUBE_QUOTA_UNITS_PER_DAY = 3_300
    settings.YOUTUBE_WORKSPACE_QUOTA_SHARE = 1.0
    FakeYouTube().install()
    upload(1)
    upload(1)
    with pytest.raises(ProviderError) as caught:
        upload(1)
    assert caught.value.message.startswith("YouTube quota used today: 3,202 / 3,300")


def test_analytics_stops_at_the_workspaces_share_too(db, settings):
    settings.YOUTUBE_QUOTA_UNITS_PER_DAY = 10_000
    settings.YOUTUBE_WORKSPACE_QUOTA_SHARE = 1_000.0
    provider, state = get_provider("youtube"), dataclasses.replace(account(), workspace_id=1)
    youtube_api.quota_spend(youtube_api.Ledger("p-test", "1"), 790)
    assert provider.metrics_hold(account=state, reserve=0.2) is None
    youtube_api.quota_spend(youtube_api.Ledger("p-test", "1"), 10)  # 800 of its 1,000
    assert provider.metrics_hold(account=state, reserve=0.2) is not None
    other = dataclasses.replace(account(), workspace_id=2)
    assert provider.metrics_hold(account=other, reserve=0.2) is None


def _post_video(workspace, membership, capture):
    """A YouTube video post published now through the engine, from a channel of ``workspace``."""
    from django.core.files.base import ContentFile

    from connections.providers.base import Connection, Profile
    from connections.services import account_save
    from publishing import engine
    from publishing.media import media_store
    from publishing.services import Attachment, PartInput, PostInput, When, post_create
    from tests.publishing.test_media import make_video

    state = account()
    connection = Connection(profile=Profile(external_id=state.external_id, username=state.username),
                            secrets=dict(state.secrets))  # fmt: skip
    saved = account_save(workspace=workspace, platform="youtube", connection=connection, user=None)
    video = media_store(actor=membership, upload=ContentFile(make_video(seconds=1), name="clip.mp4"))
    data = PostInput(parts=[PartInput(text="My video", attachments=(Attachment(media_id=video.id),))],
                     account_ids=[saved.id], when=When.now(),
                     overrides={"youtube": {"options": {"privacy": "public", "made_for_kids": "no"}}})  # fmt: skip
    post = post_create(actor=membership, data=data)
    with capture(execute=True):
        engine.targets_claim_due()
    return post.targets.get()


def test_the_engine_holds_a_post_past_the_share_until_the_reset_while_another_workspace_posts(
    team, settings, time_machine, django_capture_on_commit_callbacks
):
    from accounts.models import Membership
    from publishing.models import Target

    time_machine.move_to(NOON_IN_LOS_ANGELES, tick=False)
    settings.YOUTUBE_QUOTA_UNITS_PER_DAY = 10_000
    settings.YOUTUBE_WORKSPACE_QUOTA_SHARE = 0.2  # 2,000 units a workspace
    fake = FakeYouTube()
    fake.install()
    youtube_api.quota_spend(youtube_api.Ledger("p-test", str(team.workspace.id)), 1_000)

    held = _post_video(team.workspace, team.membership("editor"), django_capture_on_commit_callbacks)
    assert held.status == Target.Status.RETRY_WAIT, "waiting, not failed"
    assert (held.error_class, held.error_code) == ("rate", "quota_budget")
    assert "share of the YouTube quota used today: 1,000 / 2,000" in held.error_message
    assert held.next_attempt_at >= NOON_IN_LOS_ANGELES + timedelta(hours=12), "not before midnight Pacific"
    assert fake.inits == []

    other = Membership.objects.get(workspace=team.other_workspace, user=team.users["outsider"])
    sent = _post_video(team.other_workspace, other, django_capture_on_commit_callbacks)
    assert sent.status in (Target.Status.PUBLISHED, Target.Status.PROCESSING), sent.error_message
    assert len(fake.inits) == 1, "the other workspace's share is its own"
    held.refresh_from_db()
    assert held.status == Target.Status.RETRY_WAIT


def test_admins_see_the_projects_quota_and_the_workspaces_share(team, settings):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save

    settings.YOUTUBE_QUOTA_UNITS_PER_DAY = 10_000
    settings.YOUTUBE_WORKSPACE_QUOTA_SHARE = 0.5
    profile = Profile(external_id=CHANNEL_ID, username="@jane")
    connection = Connection(profile=profile, secrets={"access_token": ACCESS, "quota_project": "p-test"},
                            extra={"quota_project": "p-test"})  # fmt: skip
    saved = account_save(workspace=team.workspace, platform="youtube", user=None, connection=connection)
    youtube_api.quota_spend(youtube_api.Ledger("p-test"), 6_000)  # other workspaces' units: the project's alone
    youtube_api.quota_spend(youtube_api.Ledger("p-test", str(saved.workspace_id)), 400)
    page = team.client("admin").get(reverse("connections")).content.decode()
    assert "YouTube quota used today: 6,400 / 10,000 units (3,600 left)." in page
    assert "This workspace&#x27;s share: 400 / 5,000 units (4,600 left)." in page
    assert "YouTube quota used today" not in team.client("viewer").get(reverse("connections")).content.decode()


def test_waiting_for_the_share_spends_no_attempt_however_often_it_waits(
    team, settings, time_machine, django_capture_on_commit_callbacks
):
    """Nothing reaches YouTube while the share is used up, so the waits are not attempts: a post
    held through more rounds than PUBLISH_MAX_ATTEMPTS is still waiting, not failed."""
    from publishing import engine
    from publishing.models import Target

    time_machine.move_to(NOON_IN_LOS_ANGELES, tick=False)
    settings.YOUTUBE_QUOTA_UNITS_PER_DAY = 10_000
    settings.YOUTUBE_WORKSPACE_QUOTA_SHARE = 0.2
    settings.PUBLISH_MAX_ATTEMPTS = 2
    fake = FakeYouTube()
    fake.install()
    youtube_api.quota_spend(youtube_api.Ledger("p-test", str(team.workspace.id)), 2_000)

    held = _post_video(team.workspace, team.membership("editor"), django_capture_on_commit_callbacks)
    for _ in range(settings.PUBLISH_MAX_ATTEMPTS + 2):
        Target.objects.filter(pk=held.pk).update(next_attempt_at=NOON_IN_LOS_ANGELES)  # due again at once
        with django_capture_on_commit_callbacks(execute=True):
            engine.targets_claim_due()
    held.refresh_from_db()
    assert held.status == Target.Status.RETRY_WAIT, held.error_message
    assert held.parts.get().attempts == 0
    assert held.attempts == 1, "the first start counted; the starts after each wait did not"
    assert fake.inits == []
