"""The Posts list: tabs with counts, keyset pages, thumbnails, and bulk actions through the services."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from publishing.models import ContentMedia, Media, Post, PostContent, Target, TargetPart
from tests.publishing.test_scale import built_rows

PARIS = ZoneInfo("Europe/Paris")
POSTS = reverse("posts")
BULK = reverse("post_bulk")


def _post(team, accounts, status, at, text="", target_status=None):
    post = Post.objects.create(workspace=team.workspace, status=status, scheduled_at=at)
    PostContent.objects.create(post=post, text=text or f"{status} at {at}")
    for account in accounts:
        Target.objects.create(workspace=team.workspace, post=post, account=account,
                              status=target_status or status, due_at=at)  # fmt: skip
    return post


@pytest.fixture
def spread(team, demo_accounts):
    """120 scheduled posts an hour apart from 2031-01-01 09:00 Paris, plus a few of each other kind."""
    start = datetime(2031, 1, 1, 9, 0, tzinfo=PARIS)
    scheduled = [_post(team, demo_accounts[:1], "scheduled", start + timedelta(hours=i)) for i in range(120)]
    others = {
        "draft": [_post(team, demo_accounts[:1], "draft", None, text="a draft") for _ in range(3)],
        "published": [_post(team, demo_accounts, "published", start - timedelta(days=d)) for d in (1, 2)],
        "failed": [_post(team, demo_accounts[:1], "failed", start - timedelta(days=3))],
        "partially_published": [
            _post(team, demo_accounts[:1], "partially_published", start - timedelta(days=4), target_status="failed")
        ],
        "canceled": [_post(team, demo_accounts[:1], "canceled", start + timedelta(days=30))],
    }
    return scheduled, others


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<a href="/posts/(\d+)/">', page)]


def _link(page: str, label: str) -> str:
    match = re.search(rf'href="\?([^"]+)">{label}</a>', page)
    assert match, f"no {label} link"
    return "?" + match.group(1).replace("&amp;", "&")


def test_tabs_count_each_status_and_show_only_their_own(team, spread):
    scheduled, others = spread
    page = team.client("viewer").get(POSTS).content.decode()
    for label, count in (("Scheduled", 120), ("Drafts", 3), ("Published", 2), ("Failed", 2), ("Canceled", 1)):
        assert f'{label} <span class="tab-count">{count}</span>' in page
    assert _ids(page) == [p.pk for p in scheduled[:50]]  # soonest first
    drafts = _ids(team.client("viewer").get(POSTS, {"tab": "drafts"}).content.decode())
    assert drafts == sorted((p.pk for p in others["draft"]), reverse=True)  # newest first
    failed = _ids(team.client("viewer").get(POSTS, {"tab": "failed"}).content.decode())
    assert failed == [others["failed"][0].pk, others["partially_published"][0].pk]  # latest first, partial too
    # An old link that filtered by one status opens the tab holding it.
    assert _ids(team.client("viewer").get(POSTS, {"status": "canceled"}).content.decode()) == [others["canceled"][0].pk]


def test_pages_follow_the_last_row_not_an_offset(team, spread):
    scheduled, _ = spread
    client = team.client("viewer")
    first = client.get(POSTS).content.decode()
    with CaptureQueriesContext(connection) as queries, built_rows() as rows:
        second = client.get(POSTS + _link(first, "Later")).content.decode()
    assert _ids(second) == [p.pk for p in scheduled[50:100]]
    assert not any("OFFSET" in q["sql"] for q in queries.captured_queries)
    assert rows["Post"] == rows["Target"] == rows["PostContent"] == 0
    third = client.get(POSTS + _link(second, "Later")).content.decode()
    assert _ids(third) == [p.pk for p in scheduled[100:]]
    assert ">Later</a>" not in third
    # Back from the last page lands on exactly the second one, and from there on the first.
    back = client.get(POSTS + _link(third, "Earlier")).content.decode()
    assert _ids(back) == _ids(second)
    assert _ids(client.get(POSTS + _link(back, "Earlier")).content.decode()) == _ids(first)
    assert ">Earlier</a>" not in first


def test_a_post_scheduled_meanwhile_does_not_shift_the_next_page(team, spread, demo_accounts):
    scheduled, _ = spread
    client = team.client("viewer")
    later = _link(client.get(POSTS).content.decode(), "Later")
    _post(team, demo_accounts[:1], "scheduled", datetime(2030, 12, 31, 9, 0, tzinfo=PARIS))  # before them all
    assert _ids(client.get(POSTS + later).content.decode())[0] == scheduled[50].pk


@pytest.mark.parametrize("cursor", ["after=abc", "after=1.2.3", "before=99999999999999999999.1", "after=-5.1"])
def test_a_broken_page_link_shows_the_first_page(team, spread, cursor):
    scheduled, _ = spread
    response = team.client("viewer").get(POSTS + "?" + cursor)
    assert response.status_code == 200
    page = response.content.decode()
    assert _ids(page)[0] == scheduled[0].pk
    assert "That page link is incomplete" in page


def test_list_queries_are_bounded_however_many_posts(team, spread, django_assert_max_num_queries):
    client = team.client("editor")
    with django_assert_max_num_queries(16):
        client.get(POSTS)
    with django_assert_max_num_queries(16):
        client.get(POSTS, {"tab": "published", "account": "1", "from": "2030-01-01"})


def test_rows_show_a_thumbnail_of_the_first_image(team, demo_accounts):
    post = _post(team, demo_accounts[:1], "scheduled", datetime(2031, 1, 1, 9, 0, tzinfo=PARIS))
    main = post.contents.get()
    for position, name in enumerate(("a.png", "b.png")):
        media = Media.objects.create(workspace=team.workspace, file=f"media/{name}", sha256=name * 10,
                                     original_name=name, mime_type="image/png", size=10)  # fmt: skip
        ContentMedia.objects.create(content=main, media=media, position=position)
    first = Media.objects.get(original_name="a.png")
    page = team.client("viewer").get(POSTS).content.decode()
    assert f'<img class="thumb" src="{reverse("media_preview", args=[first.pk])}"' in page
    assert "+1 more" in page


class TestBulk:
    def test_cancel_asks_first_then_cancels_through_the_service(self, team, spread):
        scheduled, _ = spread
        chosen = [p.pk for p in scheduled[:3]]
        data = {"action": "cancel", "posts": chosen, "next": "/posts/?tab=scheduled"}
        ask = team.client("editor").post(BULK, data)
        assert ask.status_code == 200
        page = ask.content.decode()
        assert "Cancel 3 posts?" in page
        assert page.count('name="posts"') == 3  # the selection rides along with the confirmation
        assert not Post.objects.filter(status="canceled", pk__in=chosen).exists()
        done = team.client("editor").post(BULK, {**data, "confirm": "1"}, follow=True)
        assert done.redirect_chain[-1][0] == "/posts/?tab=scheduled"
        assert "3 posts canceled." in done.content.decode()
        assert set(Target.objects.filter(post_id__in=chosen).values_list("status", flat=True)) == {"canceled"}

    def test_reschedule_keeps_each_posts_time_of_day_or_takes_the_one_given(self, team, spread):
        scheduled, _ = spread
        a, b = scheduled[0], scheduled[5]  # 09:00 and 14:00 Paris
        data = {"action": "reschedule", "posts": [a.pk, b.pk], "date": "2031-06-10", "confirm": "1"}
        team.client("editor").post(BULK, data)
        a.refresh_from_db()
        b.refresh_from_db()
        assert a.scheduled_at == datetime(2031, 6, 10, 9, 0, tzinfo=PARIS)  # summer time: still 09:00 local
        assert b.scheduled_at == datetime(2031, 6, 10, 14, 0, tzinfo=PARIS)
        team.client("editor").post(BULK, {**data, "time": "07:30:15"})
        a.refresh_from_db()
        assert a.scheduled_at == datetime(2031, 6, 10, 7, 30, 15, tzinfo=PARIS)
        assert Target.objects.get(post=a).due_at == a.scheduled_at

    def test_a_bad_day_changes_nothing_and_says_why(self, team, spread):
        scheduled, _ = spread
        before = scheduled[0].scheduled_at
        page = team.client("editor").post(BULK, {"action": "reschedule", "posts": [scheduled[0].pk],
                                                 "date": "2031-02-30", "confirm": "1"}, follow=True)  # fmt: skip
        assert "Give the date as YYYY-MM-DD" in page.content.decode()
        scheduled[0].refresh_from_db()
        assert scheduled[0].scheduled_at == before

    def test_delete_removes_what_never_went_out_and_keeps_the_published(self, team, spread):
        scheduled, others = spread
        draft, published = others["draft"][0], others["published"][0]
        TargetPart.objects.create(target=published.targets.first(), position=0, kind="main", status="published")
        data = {"action": "delete", "posts": [draft.pk, scheduled[0].pk, published.pk], "confirm": "1"}
        page = team.client("editor").post(BULK, data, follow=True).content.decode()
        assert "2 posts deleted. 1 not: Part of this post is published" in page
        assert not Post.objects.filter(pk__in=[draft.pk, scheduled[0].pk]).exists()
        assert Post.objects.filter(pk=published.pk).exists()

    def test_others_posts_and_viewers_are_refused(self, team, spread, demo_accounts):
        scheduled, _ = spread
        theirs = Post.objects.create(workspace=team.other_workspace, status="draft")
        data = {"action": "delete", "posts": [theirs.pk], "confirm": "1"}
        page = team.client("editor").post(BULK, data, follow=True).content.decode()
        assert "None of the selected posts is in this workspace" in page
        assert Post.objects.filter(pk=theirs.pk).exists()
        assert team.client("viewer").post(BULK, {**data, "posts": [scheduled[0].pk]}).status_code == 403
        assert Post.objects.filter(pk=scheduled[0].pk).exists()

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"action": "explode", "posts": ["1"]}, "Pick what to do"),
            ({"action": "cancel"}, "Select at least one post"),
            ({"action": "cancel", "posts": [str(i) for i in range(1, 60)]}, "at most 50 posts"),
        ],
    )
    def test_bad_requests_get_a_clear_message(self, team, data, message):
        page = team.client("editor").post(BULK, data, follow=True).content.decode()
        assert message in page

    def test_the_confirmation_reads_the_selection_in_few_queries(self, team, spread, django_assert_max_num_queries):
        scheduled, _ = spread
        client = team.client("editor")
        with django_assert_max_num_queries(10):
            page = client.post(BULK, {"action": "cancel", "posts": [p.pk for p in scheduled[:50]]})
        assert "and 40 more" in page.content.decode()

    def test_the_next_address_stays_on_this_site(self, team, spread):
        data = {"action": "cancel", "posts": [spread[0][0].pk], "confirm": "1", "next": "https://evil.example/"}
        assert team.client("editor").post(BULK, data).url == POSTS


@pytest.mark.parametrize("micro", [0, 1, 123456, 999999])
def test_a_cursor_keeps_the_exact_microsecond(micro):
    from publishing.listing import Cursor

    at = datetime(2031, 1, 1, 9, 0, 0, micro, tzinfo=ZoneInfo("UTC"))
    assert Cursor.decode(Cursor(id=7, at=at).encode(), by_time=True) == Cursor(id=7, at=at)


def test_tab_counts_stop_at_a_cap(team, spread, monkeypatch, django_assert_max_num_queries):
    """A count reads at most cap + 1 rows, however many posts the tab holds."""
    from publishing import listing

    monkeypatch.setattr(listing, "COUNT_CAP", 100)
    client = team.client("viewer")
    with CaptureQueriesContext(connection) as queries:
        page = client.get(POSTS).content.decode()
    assert 'Scheduled <span class="tab-count">100+</span>' in page  # 120 of them
    assert 'Drafts <span class="tab-count">3</span>' in page
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"] and "publishing_post" in q["sql"]]
    assert len(counts) == 5
    assert all("LIMIT 101" in sql for sql in counts)
