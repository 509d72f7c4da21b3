"""List views stay bounded however many posts there are: queries, rows built, no secrets read."""

from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models.signals import post_init
from django.urls import reverse

from connections import vault
from connections.models import SocialAccount
from publishing.models import Post, PostContent, Target

PARIS = ZoneInfo("Europe/Paris")


@contextmanager
def built_rows():
    """How many model instances each query built, by model: the rows a view really read."""
    counts: Counter = Counter()

    def count(sender, **kwargs):
        counts[sender.__name__] += 1

    post_init.connect(count)
    try:
        yield counts
    finally:
        post_init.disconnect(count)


@pytest.fixture
def crowded_month(team, demo_accounts):
    """300 posts on 5 May 2026 at 09:00-13:59 Paris, and one on each other day of May."""
    posts = [
        Post(workspace=team.workspace, status="scheduled",
             scheduled_at=datetime(2026, 5, 5, 9, 0, tzinfo=PARIS) + timedelta(minutes=i))
        for i in range(300)
    ] + [
        Post(workspace=team.workspace, status="scheduled", scheduled_at=datetime(2026, 5, d, 12, 0, tzinfo=PARIS))
        for d in range(1, 32) if d != 5
    ]  # fmt: skip
    Post.objects.bulk_create(posts)
    PostContent.objects.bulk_create([PostContent(post=p, text=f"post {p.pk}") for p in posts])
    Target.objects.bulk_create(
        [Target(workspace=team.workspace, post=p, account=a, status="scheduled") for p in posts for a in demo_accounts]
    )
    return posts


def _no_decryption(monkeypatch):
    def refuse(ciphertext):
        raise AssertionError("a list view decrypted an account secret")

    monkeypatch.setattr(vault, "decrypt", refuse)


def test_month_reads_the_chips_it_shows_and_a_count(team, crowded_month, monkeypatch, django_assert_max_num_queries):
    _no_decryption(monkeypatch)
    client = team.client("viewer")
    with built_rows() as rows, django_assert_max_num_queries(10):
        page = client.get(reverse("calendar"), {"date": "2026-05-05"}).content.decode()
    assert "+296 more" in page
    day = page.split('data-date="2026-05-05"')[1].split('data-date="2026-05-06"')[0]
    assert day.count('class="post-chip') == 4
    # 4 chips on the busy day, 1 on each of the 30 others, read as values: no models built
    # but the two accounts of the filter's choices.
    assert rows["Post"] == rows["Target"] == 0
    assert rows["SocialAccount"] == 2


def test_week_is_an_hour_grid_with_a_cap_per_slot(team, crowded_month, monkeypatch, django_assert_max_num_queries):
    _no_decryption(monkeypatch)
    client = team.client("viewer")
    with built_rows() as rows, django_assert_max_num_queries(10):
        page = client.get(reverse("calendar"), {"date": "2026-05-05", "view": "week"}).content.decode()
    # 09:00-13:59 on the 5th: 60 posts per hour, one shown each; 12:00 on the other days.
    for hour in range(9, 14):
        slot = page.split(f'data-date="2026-05-05" data-hour="{hour}"')[1].split("</div>")[0]
        assert slot.count('class="post-chip') == 1
        assert "+59 more" in slot
    # Chips are read as plain values: no model instance per post, text, target or account.
    assert rows["Post"] == rows["Target"] == rows["PostContent"] == 0
    assert rows["SocialAccount"] == 2  # the filter's choices
    assert len(page.encode()) < 100_000


def test_more_in_a_week_slot_loads_that_hours_other_chips(
    team, crowded_month, monkeypatch, django_assert_max_num_queries
):
    _no_decryption(monkeypatch)
    client = team.client("viewer")
    week = client.get(reverse("calendar"), {"date": "2026-05-05", "view": "week"}).content.decode()
    # The slot's "+N more" is loaded by calendar.js from the grid's hour address and the slot's own
    # date and hour (not repeated in each of 168 links); its href is the day's list without script.
    assert f'data-hour-url="{reverse("calendar_hour")}"' in week
    slot = week[week.index('data-date="2026-05-05" data-hour="10"') :].split("</div>", 1)[0]
    assert f'href="{reverse("posts")}?from=2026-05-05&amp;to=2026-05-05" data-more>+59 more</a>' in slot
    with built_rows() as rows, django_assert_max_num_queries(8):
        page = client.get(reverse("calendar_hour"), {"date": "2026-05-05", "hour": "10"}).content.decode()
    # 10:00-10:59 holds posts 60-119; the grid showed the first, this loads the next 30.
    shown = [p for p in crowded_month if f'href="{reverse("post_detail", args=[p.pk])}"' in page]
    assert shown == crowded_month[61:91]
    assert "+29 more in the post list" in page
    assert rows["Post"] == rows["Target"] == rows["PostContent"] == 0


def test_more_in_a_week_slot_keeps_the_filter_and_the_workspace(team, crowded_month):
    url = reverse("calendar_hour")
    viewer = team.client("viewer")
    assert viewer.get(url, {"date": "2026-05-05", "hour": "9"}).content.decode().count('class="post-chip') == 30
    # None of the crowded posts goes to Bluesky; the outsider's own workspace has none of them.
    assert (
        'class="post-chip'
        not in viewer.get(url, {"date": "2026-05-05", "hour": "9", "platform": "bluesky"}).content.decode()
    )
    outsider = team.client("outsider").get(url, {"date": "2026-05-05", "hour": "9"})
    assert outsider.status_code == 200
    assert 'class="post-chip' not in outsider.content.decode()


@pytest.mark.parametrize("hour", ["24", "x", "", "-1"])
def test_more_in_a_week_slot_wants_an_hour_of_the_day(team, hour):
    response = team.client("viewer").get(reverse("calendar_hour"), {"date": "2026-05-05", "hour": hour})
    assert response.status_code == 400
    assert response.content.decode() == "Pick an hour from 0 to 23."


def test_post_list_pages_read_one_page(team, crowded_month, monkeypatch, django_assert_max_num_queries):
    _no_decryption(monkeypatch)
    client = team.client("viewer")
    with built_rows() as rows, django_assert_max_num_queries(16):
        page = client.get(reverse("posts")).content.decode()
    assert 'Scheduled <span class="tab-count">330</span>' in page
    assert page.count("<tr>") == 1 + 50
    assert rows["Post"] == rows["Target"] == rows["PostContent"] == 0  # rows read as values


def test_admin_post_and_target_lists_do_not_query_per_row(
    team, crowded_month, monkeypatch, django_assert_max_num_queries
):
    _no_decryption(monkeypatch)
    from accounts.models import User

    admin = User.objects.create_superuser(email="root@example.com", password="x")
    from tests.fixtures import login

    client = login(admin)
    with django_assert_max_num_queries(12), built_rows() as rows:
        page = client.get("/admin/publishing/post/").content.decode()
    assert "post " in page  # each row names its post by its text, read in the list's own query
    assert rows["Post"] <= 100  # one page of the 330, not all of them
    assert rows["Target"] == rows["PostContent"] == 0
    with django_assert_max_num_queries(12), built_rows() as rows:
        assert client.get("/admin/publishing/target/").status_code == 200
    assert rows["Target"] <= 100
    assert rows["Post"] <= 100
    assert rows["SocialAccount"] <= 100
    assert SocialAccount.objects.count() == 2


def test_a_chip_names_its_time_status_text_and_networks(team, demo_accounts):
    """Chips are built from plain values now: each still shows what the included template did."""
    post = Post.objects.create(workspace=team.workspace, status="scheduled",
                               scheduled_at=datetime(2026, 5, 5, 9, 0, 30, tzinfo=PARIS))  # fmt: skip
    PostContent.objects.create(post=post, text="A <b>bold</b> plan " + "x" * 60)
    for account in demo_accounts:  # two accounts on one network: the network is named once
        Target.objects.create(workspace=team.workspace, post=post, account=account, status="scheduled")
    done = Post.objects.create(workspace=team.workspace, status="published",
                               scheduled_at=datetime(2026, 5, 6, 9, 0, tzinfo=PARIS))  # fmt: skip
    for role, draggable in (("editor", 1), ("viewer", 0)):
        page = team.client(role).get(reverse("calendar"), {"date": "2026-05-05"}).content.decode()
        chip = page.split(f'href="/posts/{post.pk}/"')[1].split("</a>")[0]
        assert '<time datetime="2026-05-05T09:00:30+02:00">09:00:30</time>' in chip
        assert '<span class="sr-only">Scheduled:</span>' in chip
        assert "A &lt;b&gt;bold&lt;/b&gt; plan xxx" in chip
        assert "…" in chip
        assert ">Demo network</span>" in chip
        assert page.count("draggable=") == draggable  # only a scheduled post, only for editors
        done_chip = page.split(f'href="/posts/{done.pk}/"')[1].split("</a>")[0]
        assert "Published:" in done_chip
        assert "(media only)" in done_chip
