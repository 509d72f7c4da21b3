"""A TikTok video longer than the creator may post is refused by POST /posts when scheduled."""

import json
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from publishing.models import Post
from tests.api.conftest import assert_problem
from tests.connections.test_tiktok_schedule import INFO_URL, _clip, _fresh_cache, _tiktok  # noqa: F401 (a fixture)
from tests.connections.tiktok_api import creator_info, ok

pytestmark = pytest.mark.django_db


def test_the_api_refuses_a_too_long_video_at_schedule_with_a_422_naming_the_limit(api, keys, team):
    responses.add(responses.POST, INFO_URL, body=json.dumps(ok(creator_info(max_video_post_duration_sec=600))))
    account, long_clip, short_clip = _tiktok(team), _clip(team, 601, "long.mp4"), _clip(team, 599, "short.mp4")
    at = (timezone.now() + timedelta(days=1)).replace(microsecond=0).isoformat()

    def body(media):
        return {"containers": [{"text": "Clip", "media": [{"media_id": media.id}]}], "accounts": [account.id],
                "scheduled_at": at, "config": {"tiktok": {"options": {"privacy_level": "SELF_ONLY"}}}}  # fmt: skip

    problem = assert_problem(api.post("/posts", keys.write, body(long_clip)), 422, "POSTWRIGHT/VALIDATION")
    [error] = [e for e in problem["errors"] if "TikTok" in e["message"]]
    assert error["field"].startswith("containers[0]")
    assert "at most 600 seconds" in error["message"]
    assert "long.mp4 is 601 seconds" in error["message"]
    assert not Post.objects.exists()

    response = api.post("/posts", keys.write, body(short_clip))
    assert response.status_code == 201, response.content
    assert Post.objects.get().status == Post.Status.SCHEDULED
