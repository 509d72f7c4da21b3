"""Times are shown and read in the workspace's zone (or the user's own), seconds included."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from accounts.templatetags.when import clock, from_now
from publishing.models import Post, PostContent, Target
from tests.fixtures import PASSWORD

BERLIN = ZoneInfo("Europe/Berlin")
COMPOSE = reverse("compose")


@pytest.fixture
def berlin(team):
    team.workspace.timezone = "Europe/Berlin"
    team.workspace.save()
    return team


def _text(response) -> str:
    """The page as a reader sees it: tags dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def _schedule(client, account, day: str, at: str = "19:04:30") -> Post:
    response = client.post(COMPOSE, {"accounts": [account.id], "text": "Tz check", "when": "schedule",
                                     "date": day, "time": at})  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    return Post.objects.get()


@pytest.mark.parametrize("day", ["2031-01-14", "2031-07-15"], ids=["winter", "summer"])
def test_every_page_shows_the_time_that_was_typed(berlin, demo_accounts, day):
    client = berlin.client("editor")
    post = _schedule(client, demo_accounts[0], day)
    local = post.scheduled_at.astimezone(BERLIN)
    assert (local.hour, local.minute, local.second) == (19, 4, 30)
    assert post.scheduled_at.astimezone(ZoneInfo("UTC")).hour == (18 if day.endswith("01-14") else 17)

    pages = {
        "post": reverse("post_detail", args=[post.pk]),
        "calendar": f"{reverse('calendar')}?date={day}",
        "week": f"{reverse('calendar')}?date={day}&view=week",
        "list": reverse("posts"),
    }
    for name, url in pages.items():
        html = client.get(url).content.decode()
        assert "19:04:30" in html, name
        assert "Europe/Berlin" in html, name
    edit = client.get(reverse("post_edit", args=[post.pk])).content.decode()
    assert 'value="19:04:30"' in edit
    assert f'value="{day}"' in edit
    assert 'step="1"' in edit


def test_saving_an_untouched_edit_form_keeps_the_seconds(berlin, demo_accounts):
    client = berlin.client("editor")
    post = _schedule(client, demo_accounts[0], "2031-03-02")
    before = post.scheduled_at
    form = client.get(reverse("post_edit", args=[post.pk])).context["form"]
    data = {name: form[name].value() for name in ("text", "when", "date", "time")}
    data["time"] = data["time"].isoformat()
    data["date"] = data["date"].isoformat()
    data["accounts"] = [demo_accounts[0].id]
    assert client.post(reverse("post_edit", args=[post.pk]), data).status_code == 302
    post.refresh_from_db()
    assert post.scheduled_at == before


def test_drag_to_a_summer_day_keeps_the_wall_clock_time_with_seconds(berlin, demo_accounts):
    client = berlin.client("editor")
    post = _schedule(client, demo_accounts[0], "2031-01-14")
    response = client.post(reverse("post_reschedule", args=[post.pk]), {"date": "2031-07-15"})
    assert response.status_code == 200
    assert "19:04:30" in response.content.decode()
    assert "Europe/Berlin" in response.content.decode()
    post.refresh_from_db()
    assert post.scheduled_at == datetime(2031, 7, 15, 19, 4, 30, tzinfo=BERLIN)
    html = client.get(reverse("calendar"), {"date": "2031-07-15"}).content.decode()
    assert "19:04:30" in html


def test_a_users_own_zone_wins_for_showing_and_typing(berlin, demo_accounts):
    editor = berlin.users["editor"]
    client = berlin.client("editor")
    response = client.post(reverse("preferences"), {"name": "Ed", "timezone": "america/new york"})
    assert response.status_code == 302
    editor.refresh_from_db()
    assert editor.timezone == "America/New_York"
    post = _schedule(client, demo_accounts[0], "2031-01-14", "13:04:30")
    assert post.scheduled_at == datetime(2031, 1, 14, 13, 4, 30, tzinfo=ZoneInfo("America/New_York"))
    assert "13:04:30" in client.get(reverse("post_detail", args=[post.pk])).content.decode()
    # Teammates without a zone of their own see the workspace's.
    assert "19:04:30" in berlin.client("viewer").get(reverse("post_detail", args=[post.pk])).content.decode()


def test_unknown_zone_preference_is_refused(berlin):
    response = berlin.client("editor").post(reverse("preferences"), {"name": "", "timezone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "Mars/Olympus is not a time zone we know" in response.content.decode()
    assert User.objects.get(pk=berlin.users["editor"].pk).timezone == ""


def test_signup_starts_the_workspace_in_the_browsers_zone(client, db):
    client.cookies["browser_tz"] = "Asia/Kolkata"
    client.post(reverse("account_signup"), {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD})
    assert Membership.objects.get(user__email="new@example.com").workspace.timezone == "Asia/Kolkata"


def test_signup_ignores_a_zone_it_does_not_know(client, db):
    client.cookies["browser_tz"] = "Nowhere/Land"
    client.post(reverse("account_signup"), {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD})
    assert Membership.objects.get(user__email="new@example.com").workspace.timezone == "UTC"


def test_new_workspace_form_offers_the_browsers_zone_and_searches_names(team):
    client = team.client("owner")
    client.cookies["browser_tz"] = "America/Sao_Paulo"
    html = client.get(reverse("workspace_create")).content.decode()
    assert 'value="America/Sao_Paulo"' in html
    assert '<option value="Europe/Berlin">' in html
    assert 'list="id_timezone-zones"' in html


def test_clock_and_from_now_words(time_machine):
    time_machine.move_to(datetime(2031, 1, 14, 12, 0, tzinfo=ZoneInfo("UTC")), tick=False)
    with timezone.override(BERLIN):
        assert clock(datetime(2031, 1, 14, 18, 4, tzinfo=ZoneInfo("UTC"))) == "19:04"
        assert clock(datetime(2031, 1, 14, 18, 4, 30, tzinfo=ZoneInfo("UTC"))) == "19:04:30"
    now = timezone.now()
    assert from_now(now + timedelta(seconds=30)) == "in 30 s"
    assert from_now(now + timedelta(minutes=125)) == "in 2 h 5 min"
    assert from_now(now - timedelta(minutes=3)) == "3 min ago"
    assert from_now(now + timedelta(days=2)) == "in 2 days"


def test_calendar_groups_by_the_viewers_local_day(berlin, demo_accounts):
    # 23:30 Berlin on the 14th is 22:30 UTC: it belongs to the 14th, not the 15th or 13th.
    at = datetime(2031, 1, 14, 23, 30, tzinfo=BERLIN)
    post = Post.objects.create(workspace=berlin.workspace, status="scheduled", scheduled_at=at)
    PostContent.objects.create(post=post, text="late")
    Target.objects.create(workspace=berlin.workspace, post=post, account=demo_accounts[0], status="scheduled")
    html = berlin.client("viewer").get(reverse("calendar"), {"date": "2031-01-14"}).content.decode()
    cell = html.split('data-date="2031-01-14"')[1].split('data-date="2031-01-15"')[0]
    assert "23:30" in cell


def test_words_people_use_on_the_post_page(berlin, demo_accounts, time_machine):
    time_machine.move_to(datetime(2031, 1, 14, 12, 0, tzinfo=BERLIN), tick=False)
    client = berlin.client("editor")
    post = _schedule(client, demo_accounts[0], "2031-01-14", "12:30:00")
    page = _text(client.get(reverse("post_detail", args=[post.pk])))
    assert "Scheduled for Tue 14 Jan, 12:30 (in 30 min)" in page
    # Targets on their way: the header says so too, not "Scheduled".
    target = post.targets.get()
    Target.objects.filter(pk=target.pk).update(status="publishing")
    page = client.get(reverse("post_detail", args=[post.pk])).content.decode()
    assert 'status-publishing">Publishing</span></h1>' in page
    assert 'id="post-status">Publishing<' in page
    assert "Scheduled for" not in page
    Target.objects.filter(pk=target.pk).update(
        status="retry_wait", next_attempt_at=timezone.now() + timedelta(seconds=30)
    )
    assert "next try in 30 s" in client.get(reverse("post_detail", args=[post.pk])).content.decode()
    # Published: when it went out, not "Due".
    finished = datetime(2031, 1, 14, 12, 30, 2, tzinfo=BERLIN)
    Target.objects.filter(pk=target.pk).update(status="published", finished_at=finished)
    Post.objects.filter(pk=post.pk).update(status="published")
    page = _text(client.get(reverse("post_detail", args=[post.pk])))
    assert "Published Tue 14 Jan, 12:30:02 (scheduled for 12:30)" in page
    assert "Due " not in page


def test_the_live_check_does_not_call_an_empty_post_ready(berlin, demo_accounts):
    client = berlin.client("editor")
    check = reverse("compose_check")
    empty = client.post(check, {"accounts": [demo_accounts[0].id], "text": "  ", "when": "now"}).content.decode()
    assert "Nothing to post yet" in empty
    assert "Ready" not in empty
    written = client.post(check, {"accounts": [demo_accounts[0].id], "text": "Hi", "when": "now"}).content.decode()
    assert "Ready to post" in written


def test_admin_and_commands_say_oauth_apps_in_the_plural():
    from connections.models import OAuthApp

    assert OAuthApp._meta.verbose_name_plural == "OAuth apps (bring your own keys)"
