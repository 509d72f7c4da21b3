"""A video post's preview: the library's cover frame in the player's frame, 9:16 for TikTok, a
YouTube Short and an Instagram Reel, 16:9 for a landscape YouTube video, with a play badge and
the duration (the composer's live panel and the approval queue draw the same partial)."""

import re

import pytest
from django.urls import reverse

from connections.models import SocialAccount
from publishing.models import Media

CHECK = reverse("compose_check")


def _video(team, name: str, width: int, height: int, seconds: float = 42) -> Media:
    return Media.objects.create(workspace=team.workspace, file=f"media/{name}", sha256=name.ljust(64, "0"),
                                original_name=name, mime_type="video/mp4", size=5_000_000, kind="video",
                                width=width, height=height, duration_s=seconds, video_codec="h264",
                                audio_codec="aac", fps=30, cover=f"covers/{name}.jpg")  # fmt: skip


def _account(team, platform: str) -> SocialAccount:
    return SocialAccount.objects.create(workspace=team.workspace, platform=platform, external_id=f"{platform}-1",
                                        username=f"@{platform}", display_name=platform.title())  # fmt: skip


def _frames(page: str) -> dict[int, str]:
    """Each account's preview section: its video's frame markup."""
    found = {}
    for section in page.split('data-account="')[1:]:
        account_id = int(section.split('"', 1)[0])
        match = re.search(r'<div class="pv-video[^"]*" data-video-frame="[^"]*">.*?</div>', section, re.S)
        found[account_id] = match.group(0) if match else ""
    return found


@pytest.mark.parametrize(
    ("platform", "options", "size", "frame", "letterboxed"),
    [
        ("tiktok", {}, (1080, 1920), "portrait", False),
        ("tiktok", {}, (1920, 1080), "portrait", True),  # TikTok plays a landscape video inside 9:16
        ("youtube", {"option_youtube_format": "short"}, (1080, 1920), "portrait", False),
        ("youtube", {"option_youtube_format": "video"}, (1920, 1080), "landscape", False),
        ("instagram", {"option_instagram_format": "reel"}, (1080, 1920), "portrait", False),
    ],
)
def test_a_video_post_shows_its_cover_in_the_players_frame(team, platform, options, size, frame, letterboxed):
    account, video = _account(team, platform), _video(team, "clip.mp4", *size)
    data = {"accounts": [account.id], "text": "Behind the scenes", "main_media": [video.id], "when": "draft",
            **options}  # fmt: skip
    response = team.client("editor").post(CHECK, data)
    assert response.status_code == 200
    shown = _frames(response.content.decode())[account.id]
    assert f'data-video-frame="{frame}"' in shown
    assert f"pv-video-{frame}" in shown
    assert ("pv-video-letterboxed" in shown) is letterboxed
    assert f'<img src="{reverse("media_cover", args=[video.id])}" alt="Cover frame of clip.mp4"' in shown
    assert '<span class="pv-play" aria-hidden="true"></span>' in shown
    assert '<span class="sr-only">Video, </span>0:42' in shown


def test_one_post_to_several_networks_frames_the_video_for_each(team):
    tiktok, youtube = _account(team, "tiktok"), _account(team, "youtube")
    video = _video(team, "wide.mp4", 1920, 1080, seconds=125)
    data = {"accounts": [tiktok.id, youtube.id], "text": "Trip", "main_media": [video.id], "when": "draft",
            "option_youtube_format": "video"}  # fmt: skip
    frames = _frames(team.client("editor").post(CHECK, data).content.decode())
    assert 'data-video-frame="portrait"' in frames[tiktok.id]
    assert 'data-video-frame="landscape"' in frames[youtube.id]
    assert "2:05" in frames[youtube.id]


def test_a_video_whose_cover_is_not_made_yet_is_framed_without_a_broken_image(team):
    account, video = _account(team, "tiktok"), _video(team, "big.mp4", 1080, 1920)
    Media.objects.filter(pk=video.pk).update(cover="")
    data = {"accounts": [account.id], "text": "Big", "main_media": [video.id], "when": "draft"}
    shown = _frames(team.client("editor").post(CHECK, data).content.decode())[account.id]
    assert 'data-video-frame="portrait"' in shown
    assert "<img" not in shown, "the cover URL would answer with the video file"
    assert "big.mp4: the cover frame is on its way" in shown


def test_an_image_post_has_no_video_frame(team):
    account = _account(team, "tiktok")
    photo = Media.objects.create(workspace=team.workspace, file="media/a.jpg", sha256="p" * 64, original_name="a.jpg",
                                 mime_type="image/jpeg", size=10, width=1080, height=1920)  # fmt: skip
    data = {"accounts": [account.id], "text": "Photos", "main_media": [photo.id], "when": "draft"}
    page = team.client("editor").post(CHECK, data).content.decode()
    assert "pv-video" not in page
    assert f'src="{reverse("media_preview", args=[photo.id])}"' in page


def test_previews_built_outside_the_composer_frame_the_video_too(team):
    """network_previews is what the approval queue draws with checks.html."""
    from publishing.inputs import Attachment, PartInput, PostInput, When
    from publishing.rules import post_plan
    from publishing.views import network_previews

    account, video = _account(team, "youtube"), _video(team, "short.mp4", 1080, 1920, seconds=30)
    data = PostInput(parts=[PartInput("Short", attachments=(Attachment(video.id),))], account_ids=[account.id],
                     overrides={"youtube": {"options": {"format": "short"}}}, when=When.draft())  # fmt: skip
    plan = post_plan(workspace=team.workspace, data=data)
    [preview] = network_previews(team.workspace, data.parts, plan.checks)
    assert preview.video is not None
    assert (preview.video.frame, preview.video.duration, preview.video.letterboxed) == ("portrait", "0:30", False)
    assert preview.video.url == reverse("media_cover", args=[video.id])
    assert preview.images == [], "the video is drawn as a video, not among the images"
