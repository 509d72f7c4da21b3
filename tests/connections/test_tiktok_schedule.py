"""TikTok's longest video (creator_info's max_video_post_duration_sec) is checked by the services
when a post is scheduled, not only at upload (the REST API: tests/api/test_tiktok_duration.py)."""

import dataclasses
import json
from datetime import timedelta

import pytest
import requests
import responses
from django.core.cache import cache
from django.utils import timezone

from publishing.models import Post
from tests.connections.tiktok_api import ACCESS, OPEN, OPEN_ID, creator_info, failure, ok

INFO_URL = f"{OPEN}/post/publish/creator_info/query/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # creator_info is kept a minute, and its last answer a month
    yield
    cache.clear()


def _tiktok(team):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save

    connection = Connection(profile=Profile(external_id=OPEN_ID, username="@jane"), secrets={"access_token": ACCESS})
    return account_save(workspace=team.workspace, platform="tiktok", connection=connection, user=None)


def _clip(team, seconds: float, name: str = "clip.mp4"):
    from publishing.models import Media

    return Media.objects.create(workspace=team.workspace, file=f"media/{name}", sha256=name.ljust(64, "0"),
                                original_name=name, mime_type="video/mp4", size=5_000_000, kind="video",
                                width=1080, height=1920, duration_s=seconds, video_codec="h264", audio_codec="aac",
                                fps=30)  # fmt: skip


def _input(account, media, *, mode: str = "direct"):
    from publishing.inputs import Attachment, PartInput, PostInput, When

    options = {"post_mode": mode, "privacy_level": "SELF_ONLY"} if mode == "direct" else {"post_mode": mode}
    return PostInput(parts=[PartInput("Clip", attachments=(Attachment(media.id),))], account_ids=[account.id],
                     overrides={"tiktok": {"options": options}},
                     when=When.at(timezone.now() + timedelta(days=1)))  # fmt: skip


def _media_problems(exc) -> list[str]:
    from publishing.inputs import problems_of

    return [p.message for p in problems_of(exc) if p.code == "media"]


def test_a_video_longer_than_the_creator_may_post_is_refused_when_scheduled(team):
    from django.core.exceptions import ValidationError

    from publishing.services import post_create

    responses.add(responses.POST, INFO_URL, body=json.dumps(ok(creator_info(max_video_post_duration_sec=60))))
    account, clip = _tiktok(team), _clip(team, 75)
    with pytest.raises(ValidationError) as caught:
        post_create(actor=team.membership("editor"), data=_input(account, clip))
    [message] = _media_problems(caught.value)
    assert "at most 60 seconds" in message
    assert "max_video_post_duration_sec" in message
    assert "clip.mp4 is 75 seconds" in message
    assert not Post.objects.exists()


def test_a_video_within_the_limit_is_scheduled(team):
    from publishing.services import post_create

    responses.add(responses.POST, INFO_URL, body=json.dumps(ok(creator_info(max_video_post_duration_sec=60))))
    account, clip = _tiktok(team), _clip(team, 60)
    post = post_create(actor=team.membership("editor"), data=_input(account, clip))
    assert post.status == Post.Status.SCHEDULED
    assert len(responses.calls) == 1  # creator_info, asked once, with the account's token
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS}"
    # The post is saved in a transaction (its accounts locked for the queue): TikTok gets seconds.
    assert responses.calls[0].request.req_kwargs["timeout"] == (3.0, 5.0)


@pytest.mark.parametrize(
    "answer",
    [{"status": 500, "body": json.dumps(failure("internal_error", "down"))}, {"body": requests.ReadTimeout()}],
)
def test_when_tiktok_cannot_answer_the_last_creator_info_kept_still_refuses(team, time_machine, answer):
    from django.core.exceptions import ValidationError

    from publishing.services import post_create, post_validate

    account = _tiktok(team)
    responses.add(responses.POST, INFO_URL, body=json.dumps(ok(creator_info(max_video_post_duration_sec=180))))
    assert post_validate(actor=team.membership("editor"), data=_input(account, _clip(team, 120, "a.mp4"))) == []
    responses.replace(responses.POST, INFO_URL, **answer)
    time_machine.move_to(timezone.now() + timedelta(minutes=5))  # the minute's copy has expired
    with pytest.raises(ValidationError) as caught:
        post_create(actor=team.membership("editor"), data=_input(account, _clip(team, 200, "b.mp4")))
    assert "at most 180 seconds" in _media_problems(caught.value)[0]


def test_with_no_creator_info_at_all_the_upload_decides(team):
    from publishing.services import post_create

    responses.add(responses.POST, INFO_URL, status=503, body=json.dumps(failure("internal_error", "down")))
    account, clip = _tiktok(team), _clip(team, 900)
    post = post_create(actor=team.membership("editor"), data=_input(account, clip))
    assert post.status == Post.Status.SCHEDULED  # publish_part asks creator_info again and refuses it then


def test_a_draft_for_the_inbox_is_not_limited_here_and_asks_nothing(team):
    from publishing.services import post_create

    account, clip = _tiktok(team), _clip(team, 900)
    post = post_create(actor=team.membership("editor"), data=_input(account, clip, mode="inbox"))
    assert post.status == Post.Status.SCHEDULED
    assert len(responses.calls) == 0


def test_a_too_long_video_is_refused_when_queued_and_a_fitting_one_takes_the_slot(team):
    from datetime import time

    from django.core.exceptions import ValidationError

    from publishing.inputs import When
    from publishing.models import PostingSlot
    from publishing.services import post_create

    responses.add(responses.POST, INFO_URL, body=json.dumps(ok(creator_info(max_video_post_duration_sec=60))))
    account = _tiktok(team)
    PostingSlot.objects.create(account=account, weekday=0, time=time(9))
    queued = dataclasses.replace(_input(account, _clip(team, 61, "long.mp4")), when=When.next_slot())
    with pytest.raises(ValidationError) as caught:
        post_create(actor=team.membership("editor"), data=queued)
    assert "at most 60 seconds" in _media_problems(caught.value)[0]
    fitting = dataclasses.replace(_input(account, _clip(team, 59, "short.mp4")), when=When.next_slot())
    post = post_create(actor=team.membership("editor"), data=fitting)
    assert post.status == Post.Status.SCHEDULED
    assert post.scheduled_at is not None
