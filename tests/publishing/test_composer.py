"""The composer, the post page and its actions, through the views."""

import io
import struct
import zlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from publishing.models import Media, Post, PostContent, Target
from tests.fixtures import assert_role_gate

COMPOSE = reverse("compose")


def tiny_png(width: int = 3, height: int = 2, shade: int = 0) -> bytes:
    """A valid PNG built with the standard library (no Pillow needed to make test data)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes([shade, 0, 0]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def upload(client, content: bytes, name: str = "pic.png"):
    file = io.BytesIO(content)
    file.name = name
    return client.post(reverse("media_upload"), {"file": file})


def test_compose_is_for_editors(team, demo_accounts):
    assert_role_gate(team, COMPOSE, lowest="editor", object_url=False)


def test_publish_now(team, demo_accounts):
    client = team.client("editor")
    response = client.post(
        COMPOSE,
        {"accounts": [a.id for a in demo_accounts], "text": "Hello", "reply": ["two", "", "three"],
         "first_comment": "see link", "when": "now"},
    )  # fmt: skip
    post = Post.objects.get()
    assert response.url == reverse("post_detail", args=[post.pk])
    assert post.status == Post.Status.SCHEDULED
    assert post.scheduled_at <= timezone.now()
    kinds = list(post.contents.values_list("kind", "text"))
    assert kinds == [("main", "Hello"), ("reply", "two"), ("reply", "three"), ("first_comment", "see link")]
    assert Target.objects.filter(post=post, status="scheduled").count() == 2


def test_schedule_in_the_workspace_time_zone(team, demo_accounts):
    client = team.client("editor")
    day = (timezone.now() + timedelta(days=30)).astimezone(ZoneInfo("Europe/Paris")).date()
    client.post(COMPOSE, {"accounts": [demo_accounts[0].id], "text": "Later", "when": "schedule",
                          "date": day.isoformat(), "time": "09:15"})  # fmt: skip
    post = Post.objects.get()
    local = post.scheduled_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.date(), local.hour, local.minute) == (day, 9, 15)
    assert post.targets.get().next_attempt_at == post.scheduled_at


def test_schedule_errors_are_specific(team, demo_accounts):
    client = team.client("editor")
    base = {"accounts": [demo_accounts[0].id], "text": "x", "when": "schedule"}
    response = client.post(COMPOSE, base)
    assert b"Pick a date and a time." in response.content
    response = client.post(COMPOSE, {**base, "date": "2027-03-28", "time": "02:30"})
    assert b"does not exist" in response.content
    response = client.post(COMPOSE, {**base, "date": "2020-01-01", "time": "10:00"})
    assert b"That time has passed" in response.content
    assert not Post.objects.exists()


def test_too_long_for_a_platform_is_refused_with_the_numbers(team, demo_accounts):
    response = team.client("editor").post(
        COMPOSE, {"accounts": [demo_accounts[0].id], "text": "x" * 501, "when": "now"}
    )
    assert response.status_code == 400
    assert b"Demo network (@alpha): post is 501/500" in response.content
    assert b"shorten it by 1" in response.content
    assert not Post.objects.exists()


def test_override_text_is_what_the_platform_gets(team, demo_accounts):
    response = team.client("editor").post(
        COMPOSE,
        {"accounts": [demo_accounts[0].id], "text": "x" * 501, "override_demo": "Short for demo", "when": "draft"},
    )
    assert response.status_code == 302
    post = Post.objects.get()
    assert post.overrides == {"demo": {"text": "Short for demo"}}
    assert post.status == Post.Status.DRAFT


def test_nothing_selected_or_written(team, demo_accounts):
    response = team.client("editor").post(COMPOSE, {"text": "", "when": "now"})
    assert b"Pick at least one account" in response.content
    assert b"Write something" in response.content


def test_live_check_partial(team, demo_accounts):
    response = team.client("editor").post(
        reverse("compose_check"), {"accounts": [demo_accounts[0].id], "text": "héllo 👋", "when": "draft"}
    )
    assert response.status_code == 200
    assert b"7/500" in response.content
    assert b"<html" not in response.content


def test_queue_uses_posting_slots(team, demo_accounts):
    from publishing.models import PostingSlot

    for weekday in range(7):
        PostingSlot.objects.create(account=demo_accounts[0], weekday=weekday, time="10:00")
    team.client("editor").post(COMPOSE, {"accounts": [demo_accounts[0].id], "text": "Q", "when": "queue"})
    post = Post.objects.get()
    local = post.scheduled_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (10, 0)
    assert post.scheduled_at > timezone.now()


def test_edit_and_reschedule_until_publishing(team, demo_accounts):
    client = team.client("editor")
    client.post(COMPOSE, {"accounts": [demo_accounts[0].id], "text": "v1", "when": "draft"})
    post = Post.objects.get()
    edit = reverse("post_edit", args=[post.pk])
    assert b"v1" in client.get(edit).content
    client.post(edit, {"accounts": [a.id for a in demo_accounts], "text": "v2", "when": "schedule",
                       "date": "2031-05-01", "time": "08:00"})  # fmt: skip
    post.refresh_from_db()
    assert post.contents.get(kind=PostContent.Kind.MAIN).text == "v2"
    assert post.targets.count() == 2
    assert post.status == Post.Status.SCHEDULED
    Target.objects.filter(post=post).update(status="publishing")
    response = client.post(edit, {"accounts": [demo_accounts[0].id], "text": "v3", "when": "draft"})
    assert b"being published right now" in response.content
    assert post.contents.get(kind=PostContent.Kind.MAIN).text == "v2"


def test_post_pages_are_scoped(team, demo_accounts):
    team.client("editor").post(COMPOSE, {"accounts": [demo_accounts[0].id], "text": "mine", "when": "draft"})
    post = Post.objects.get()
    assert_role_gate(team, reverse("post_detail", args=[post.pk]), lowest="viewer")
    assert_role_gate(team, reverse("post_edit", args=[post.pk]), lowest="editor")
    assert_role_gate(
        team, reverse("post_cancel", args=[post.pk]), lowest="editor", method="post", data={"confirm": "1"}
    )
    post.refresh_from_db()
    assert post.status == Post.Status.CANCELED


def test_retry_button_for_failed_targets(team, demo_accounts):
    team.client("editor").post(COMPOSE, {"accounts": [demo_accounts[0].id], "text": "t", "when": "now"})
    target = Target.objects.get()
    Target.objects.filter(pk=target.pk).update(status="failed", error_message="Demo network is having a moment.")
    page = team.client("viewer").get(reverse("post_detail", args=[target.post_id])).content.decode()
    assert "Demo network is having a moment." in page
    assert "Retry" not in page
    assert_role_gate(team, reverse("target_retry", args=[target.pk]), lowest="editor", method="post")
    target.refresh_from_db()
    assert (target.status, target.error_message) == ("scheduled", "")


class TestMedia:
    def test_upload_inspects_and_deduplicates(self, team):
        client = team.client("editor")
        first = upload(client, tiny_png()).json()
        assert (first["width"], first["height"]) == (3, 2)
        again = upload(client, tiny_png(), name="same-bytes.png").json()
        assert again["id"] == first["id"]
        assert Media.objects.count() == 1
        assert Media.objects.get().mime_type == "image/png"

    def test_rejects_what_is_not_an_image(self, team):
        response = upload(team.client("editor"), b"PK\x03\x04 a zip, not an image", name="doc.png")
        assert response.status_code == 400
        assert "is not an image, video or PDF we can read" in response.json()["error"]
        assert not Media.objects.exists()

    def test_rejects_files_over_the_limit(self, team, settings):
        settings.MEDIA_MAX_UPLOAD_BYTES = 10
        response = upload(team.client("editor"), tiny_png())
        assert response.status_code == 400
        assert "larger than" in response.json()["error"]

    def test_viewers_cannot_upload(self, team):
        assert upload(team.client("viewer"), tiny_png()).status_code == 403

    def test_preview_is_scoped_and_signed_urls_expire(self, team, time_machine):
        from publishing.media import signed_media_url

        time_machine.move_to("2026-06-01T12:00:00Z", tick=False)
        media_id = upload(team.client("editor"), tiny_png()).json()["id"]
        assert team.client("viewer").get(reverse("media_preview", args=[media_id])).status_code == 200
        assert team.client("outsider").get(reverse("media_preview", args=[media_id])).status_code == 404
        url = signed_media_url(Media.objects.get(), valid_for=timedelta(minutes=10)).removeprefix(
            "http://127.0.0.1:8000"
        )
        from django.test import Client

        anonymous = Client()
        response = anonymous.get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"\x89PNG")
        assert anonymous.get(url[:-3] + "xyz/").status_code == 404
        time_machine.shift(timedelta(minutes=11))
        assert anonymous.get(url).status_code == 404

    def test_attachments_with_alt_text_reach_the_platform_request(self, team, demo_accounts):
        from publishing.payload import build_request

        client = team.client("editor")
        media_id = upload(client, tiny_png()).json()["id"]
        client.post(COMPOSE, {"accounts": [demo_accounts[0].id], "text": "pic", "main_media": [media_id],
                              f"alt_{media_id}": "A red dot", "when": "now"})  # fmt: skip
        request = build_request(Target.objects.get())
        (item,) = request.main.media
        assert (item.alt_text, item.mime_type, item.width) == ("A red dot", "image/png", 3)
        assert item.open().read().startswith(b"\x89PNG")
        assert "/media/s/" in item.public_url

    def test_another_workspaces_media_cannot_be_attached(self, team, demo_accounts):
        other = upload(team.client("outsider"), tiny_png(shade=9)).json()["id"]
        response = team.client("editor").post(
            COMPOSE, {"accounts": [demo_accounts[0].id], "text": "x", "main_media": [other], "when": "now"}
        )
        assert b"not in this workspace" in response.content
        assert not Post.objects.exists()


@pytest.fixture
def many_posts(team, demo_accounts):
    """Posts spread over a month, each to both accounts."""
    base = datetime(2026, 4, 1, 8, 0, tzinfo=ZoneInfo("UTC"))
    for i in range(60):
        post = Post.objects.create(
            workspace=team.workspace, author=team.users["editor"], scheduled_at=base + timedelta(hours=11 * i),
            status="scheduled",
        )  # fmt: skip
        PostContent.objects.create(post=post, text=f"post {i}")
        for account in demo_accounts:
            Target.objects.create(workspace=team.workspace, post=post, account=account, status="scheduled")
    return base


def test_calendar_month_groups_by_local_day_in_few_queries(team, many_posts, django_assert_max_num_queries):
    client = team.client("viewer")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("calendar"), {"date": "2026-04-15"})
    page = response.content.decode()
    assert "April 2026" in page
    assert page.count('class="post-chip') == 60
    week = client.get(reverse("calendar"), {"date": "2026-04-15", "view": "week"}).content.decode()
    assert "Week of 13 April 2026" in week


def test_post_list_filters_and_paginates_in_few_queries(team, many_posts, demo_accounts, django_assert_max_num_queries):
    client = team.client("viewer")
    with django_assert_max_num_queries(16):
        page = client.get(reverse("posts")).content.decode()
    assert 'Scheduled <span class="tab-count">60</span>' in page
    assert page.count('name="posts"') == 0  # a viewer gets no bulk selection
    page = client.get(reverse("posts"), {"from": "2026-04-01", "to": "2026-04-02"}).content.decode()
    assert 'Scheduled <span class="tab-count">4</span>' in page  # 10:00, 21:00, 08:00 and 19:00 Paris time
    assert page.count("<tr>") == 1 + 4
    page = client.get(reverse("posts"), {"tab": "published", "account": demo_accounts[0].id}).content.decode()
    assert "No published posts match these filters" in page
    page = client.get(reverse("posts"), {"from": "not-a-date"}).content.decode()
    assert "is not a date" in page


def test_reschedule_by_drag_keeps_the_time_of_day(team, demo_accounts):
    client = team.client("editor")
    client.post(COMPOSE, {"accounts": [demo_accounts[0].id], "text": "m", "when": "schedule",
                          "date": "2031-01-10", "time": "07:45"})  # fmt: skip
    post = Post.objects.get()
    url = reverse("post_reschedule", args=[post.pk])
    response = client.post(url, {"date": "2031-07-12"})
    assert response.status_code == 200
    post.refresh_from_db()
    local = post.scheduled_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.date().isoformat(), local.hour, local.minute) == ("2031-07-12", 7, 45)
    assert post.targets.get().next_attempt_at == post.scheduled_at
    assert client.post(url, {"date": "2020-01-01"}).status_code == 409
    assert client.post(url, {"date": "garbage"}).status_code == 400
    assert team.client("viewer").post(url, {"date": "2031-07-13"}).status_code == 403
    assert team.client("outsider").post(url, {"date": "2031-07-13"}).status_code == 404


def test_publishing_admin_pages(team, demo_accounts):
    from accounts.models import User
    from tests.fixtures import login

    team.client("editor").post(COMPOSE, {"accounts": [demo_accounts[0].id], "text": "admin me", "when": "draft"})
    admin = login(User.objects.create_superuser(email="root@example.com", password="x"))
    for name in ("post", "target", "media", "postingslot", "ratebudget", "contentmedia"):
        assert admin.get(reverse(f"admin:publishing_{name}_changelist"), {"q": "a"}).status_code == 200, name
    post = Post.objects.get()
    assert admin.get(reverse("admin:publishing_post_change", args=[post.pk])).status_code == 200
    assert admin.get(reverse("admin:publishing_target_change", args=[post.targets.get().pk])).status_code == 200


def test_preview_shows_the_text_each_platform_gets(team, demo_accounts):
    response = team.client("editor").post(
        reverse("compose_check"),
        {"accounts": [demo_accounts[0].id], "text": "main text", "override_demo": "demo <b>text</b>"},
    )
    assert b"demo &lt;b&gt;text&lt;/b&gt;" in response.content  # escaped, never raw HTML


def test_queue_slots_page(team, demo_accounts):
    from publishing.models import PostingSlot

    account = demo_accounts[0]
    url = reverse("queue_slot_add", args=[account.pk])
    assert_role_gate(team, url, lowest="editor", method="post", data={"weekday": "all", "time": "09:30"})
    assert PostingSlot.objects.filter(account=account).count() == 7
    team.client("editor").post(url, {"weekday": "2", "time": "18:00"})
    page = team.client("viewer").get(reverse("queue_slots")).content.decode()
    assert "Wednesday 18:00" in page
    slot = PostingSlot.objects.get(weekday=2, time="18:00")
    remove = reverse("queue_slot_remove", args=[slot.pk])
    assert team.client("outsider").post(remove).status_code == 404
    assert team.client("viewer").post(remove).status_code == 403
    team.client("editor").post(remove)
    assert not PostingSlot.objects.filter(pk=slot.pk).exists()
    response = team.client("editor").post(url, {"weekday": "9", "time": "nope"}, follow=True)
    assert b"Pick a day and a time" in response.content


def test_platform_options_reach_the_request(team):
    from connections.models import SocialAccount
    from publishing.payload import build_request

    account = SocialAccount.objects.create(
        workspace=team.workspace, platform="mastodon", external_id="m.example:1", username="@ada@m.example",
        instance_url="https://m.example", secrets={"access_token": "t"},
    )  # fmt: skip
    client = team.client("editor")
    page = client.get(COMPOSE).content.decode()
    assert 'name="option_mastodon_visibility"' in page
    client.post(COMPOSE, {"accounts": [account.id], "text": "hi", "when": "draft",
                          "option_mastodon_visibility": "unlisted"})  # fmt: skip
    post = Post.objects.get()
    assert post.overrides == {"mastodon": {"options": {"visibility": "unlisted"}}}
    assert build_request(post.targets.get()).options == {"visibility": "unlisted"}
    edit = client.get(reverse("post_edit", args=[post.pk])).content.decode()
    assert '<option value="unlisted" selected>' in edit
    client.post(reverse("post_edit", args=[post.pk]), {"accounts": [account.id], "text": "hi", "when": "draft",
                                                      "option_mastodon_visibility": "everyone!"})  # fmt: skip
    post.refresh_from_db()
    assert post.overrides == {}  # an unknown value is not stored


def test_a_busy_day_shows_four_posts_and_a_link_to_the_rest(team, demo_accounts):
    base = datetime(2026, 5, 5, 8, 0, tzinfo=ZoneInfo("UTC"))
    for i in range(7):
        post = Post.objects.create(
            workspace=team.workspace, scheduled_at=base + timedelta(minutes=i), status="scheduled"
        )
        PostContent.objects.create(post=post, text=f"busy {i}")
    page = team.client("viewer").get(reverse("calendar"), {"date": "2026-05-05"}).content.decode()
    assert page.count('class="post-chip') == 4
    assert "+3 more" in page
    assert "?from=2026-05-05&amp;to=2026-05-05" in page
    week = team.client("viewer").get(reverse("calendar"), {"date": "2026-05-05", "view": "week"}).content.decode()
    # The week is an hour grid: all seven fall in one hour (10:00 Paris), which shows one.
    assert week.count('class="post-chip') == 1
    assert "+6 more" in week
    slot = week.split('data-date="2026-05-05" data-hour="10"')[1].split("</div>")[0]
    assert slot.count('class="post-chip') == 1


def test_polling_stops_with_one_refresh_once_the_post_settles(team, demo_accounts):
    team.client("editor").post(COMPOSE, {"accounts": [demo_accounts[0].id], "text": "p", "when": "now"})
    post = Post.objects.get()
    url = reverse("post_targets", args=[post.pk])
    client = team.client("viewer")
    live = client.get(url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in live.content.decode()
    assert "HX-Refresh" not in live.headers
    Target.objects.filter(post=post).update(status="published")
    Post.objects.filter(pk=post.pk).update(status="published")
    settled = client.get(url, HTTP_HX_REQUEST="true")
    assert settled.headers["HX-Refresh"] == "true"
    assert "every 2s" not in settled.content.decode()


def test_nothing_typed_is_lost_when_the_composer_comes_back_with_errors(team, demo_accounts):
    client = team.client("editor")
    media_id = upload(client, tiny_png()).json()["id"]
    data = {"accounts": [demo_accounts[0].id], "text": "x" * 600, "reply": ["my reply"], "when": "now"}
    response = client.post(COMPOSE, {**data, "main_media": [media_id], f"alt_{media_id}": "kept alt"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "my reply" in page
    assert f'name="alt_{media_id}" value="kept alt"' in page


def test_editing_a_post_keeps_its_images_and_replies(team, demo_accounts):
    client = team.client("editor")
    media_id = upload(client, tiny_png()).json()["id"]
    client.post(COMPOSE, {"accounts": [demo_accounts[0].id], "text": "pic", "reply": ["r1"],
                          "main_media": [media_id], f"alt_{media_id}": "a dot", "when": "draft"})  # fmt: skip
    post = Post.objects.get()
    page = client.get(reverse("post_edit", args=[post.pk])).content.decode()
    assert f'name="main_media" value="{media_id}"' in page
    assert f'name="alt_{media_id}" value="a dot"' in page
    assert ">r1</textarea>" in page
