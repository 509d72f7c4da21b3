"""The calendar's filters, its chip preview (with the reschedule form), and composing on a day."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from connections.models import SocialAccount
from publishing.models import ContentMedia, Media, Post, PostContent, Target

PARIS = ZoneInfo("Europe/Paris")
CALENDAR = reverse("calendar")


def _post(team, accounts, text, at, status="scheduled"):
    post = Post.objects.create(workspace=team.workspace, status=status, scheduled_at=at)
    PostContent.objects.create(post=post, text=text)
    for account in accounts:
        Target.objects.create(workspace=team.workspace, post=post, account=account, status=status, due_at=at)
    return post


@pytest.fixture
def two_networks(team, demo_accounts):
    """Posts on 5 May 2031: one to each Demo account, one to an account on another network."""
    other = SocialAccount.objects.create(workspace=team.workspace, platform="bluesky", external_id="did:x",
                                         username="sky.example")  # fmt: skip
    at = datetime(2031, 5, 5, 10, 0, tzinfo=PARIS)
    return {  # an hour apart: the week grid shows one post per hour
        "alpha": _post(team, demo_accounts[:1], "for alpha", at),
        "beta": _post(team, demo_accounts[1:], "for beta", at.replace(hour=11)),
        "sky": _post(team, [other], "for the sky", at.replace(hour=12)),
        "other": other,
    }


@pytest.mark.parametrize("view", ["month", "week"])
def test_filter_by_account_or_network(team, demo_accounts, two_networks, view):
    client = team.client("viewer")

    def shown(**only):
        page = client.get(CALENDAR, {"date": "2031-05-05", "view": view, **only}).content.decode()
        return {name for name in ("alpha", "beta", "sky") if f"for {name if name != 'sky' else 'the sky'}" in page}

    assert shown() == {"alpha", "beta", "sky"}
    assert shown(account=demo_accounts[0].id) == {"alpha"}
    assert shown(platform="bluesky") == {"sky"}
    assert shown(platform="demo", account=demo_accounts[1].id) == {"beta"}
    assert shown(platform="demo", account=two_networks["other"].id) == set()  # both must hold
    # Values that name nothing are ignored, not an error.
    assert shown(platform="<script>", account="²") == {"alpha", "beta", "sky"}


def test_the_calendars_links_keep_the_filter(team, demo_accounts, two_networks):
    page = team.client("viewer").get(CALENDAR, {"date": "2031-05-05", "platform": "bluesky"}).content.decode()
    assert 'href="?view=month&amp;date=2031-04-01&amp;platform=bluesky"' in page
    assert 'href="?view=week&amp;date=2031-05-05&amp;platform=bluesky"' in page
    assert '<option value="bluesky" selected>' in page


def test_editors_get_a_link_to_write_on_each_day(team):
    editor = team.client("editor").get(CALENDAR, {"date": "2031-05-05"}).content.decode()
    assert f'href="{reverse("compose")}?date=2031-05-05" aria-label="New post on Monday 5 May"' in editor
    assert 'data-compose-url="/posts/new/"' in editor
    week = team.client("editor").get(CALENDAR, {"date": "2031-05-05", "view": "week"}).content.decode()
    assert week.count('class="calendar-add"') == 7
    viewer = team.client("viewer").get(CALENDAR, {"date": "2031-05-05"}).content.decode()
    assert "calendar-add" not in viewer
    assert "data-compose-url" not in viewer


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"date": "2031-05-05", "time": "10:00"}, ("schedule", date(2031, 5, 5), time(10, 0))),
        ({"date": "2031-05-05"}, ("schedule", date(2031, 5, 5), time(9, 0))),
        ({"date": "2031-02-30"}, ("now", None, None)),
        ({"date": "2031-05-05", "time": "25:00"}, ("now", None, None)),
        ({"date": "0001-01-01"}, ("now", None, None)),
    ],
)
def test_compose_opens_at_the_day_and_hour_picked(team, demo_accounts, query, expected):
    form = team.client("editor").get(reverse("compose"), query).context["form"]
    assert (form["when"].value(), form["date"].value(), form["time"].value()) == expected


class TestPreview:
    def test_it_shows_text_time_accounts_and_first_image(self, team, demo_accounts, django_assert_max_num_queries):
        post = _post(team, demo_accounts, "Launch day\nwith two lines", datetime(2031, 5, 5, 10, 0, 30, tzinfo=PARIS))
        media = Media.objects.create(workspace=team.workspace, file="media/a.png", sha256="a" * 64,
                                     original_name="a.png", mime_type="image/png", size=10)  # fmt: skip
        ContentMedia.objects.create(content=post.contents.get(), media=media)
        client = team.client("viewer")
        with django_assert_max_num_queries(12):
            page = client.get(reverse("post_preview", args=[post.pk])).content.decode()
        assert "Launch day\nwith two lines" in page
        assert "Mon 5 May 2031, 10:00:30" in page
        assert "Demo network · @alpha — Scheduled" in page
        assert reverse("media_preview", args=[media.pk]) in page
        assert "Reschedule" not in page  # a viewer cannot move it

    def test_an_editor_gets_the_reschedule_form_for_a_scheduled_post(self, team, demo_accounts):
        post = _post(team, demo_accounts[:1], "x", datetime(2031, 5, 5, 10, 0, 30, tzinfo=PARIS))
        page = team.client("editor").get(reverse("post_preview", args=[post.pk])).content.decode()
        assert f'action="{reverse("post_reschedule", args=[post.pk])}"' in page
        assert 'value="2031-05-05"' in page
        assert 'value="10:00:30"' in page
        done = _post(team, demo_accounts[:1], "y", datetime(2031, 5, 5, 10, 0, tzinfo=PARIS), status="published")
        assert "Reschedule" not in team.client("editor").get(reverse("post_preview", args=[done.pk])).content.decode()

    def test_anothers_post_is_not_found(self, team, demo_accounts):
        post = _post(team, demo_accounts[:1], "x", datetime(2031, 5, 5, 10, 0, tzinfo=PARIS))
        assert team.client("outsider").get(reverse("post_preview", args=[post.pk])).status_code == 404


def test_moving_tells_the_chip_its_new_time(team, demo_accounts):
    post = _post(team, demo_accounts[:1], "x", datetime(2031, 5, 5, 10, 0, tzinfo=PARIS))
    response = team.client("editor").post(reverse("post_reschedule", args=[post.pk]),
                                          {"date": "2031-05-07", "time": "08:15:05"})  # fmt: skip
    assert response.status_code == 200
    assert response["X-Post-Clock"] == "08:15:05"
    post.refresh_from_db()
    assert post.scheduled_at == datetime(2031, 5, 7, 8, 15, 5, tzinfo=PARIS)
