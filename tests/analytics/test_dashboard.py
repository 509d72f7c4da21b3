"""The Analytics page: numbers grouped by day in the workspace's zone, filters, isolation, a fixed
number of queries, and streamed exports."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from analytics import queries
from connections.registry import get_provider
from connections.services import account_save
from tests.analytics.factories import followers_at, published_post

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def berlin(team):
    team.workspace.timezone = "Europe/Berlin"
    team.workspace.save()
    return team


def other_account(team):
    demo = get_provider("demo")
    return account_save(
        workspace=team.other_workspace, platform="demo", user=team.users["outsider"],
        connection=demo.connect_with_form(data={"identifier": "elsewhere", "display_name": "E"}),
    )  # fmt: skip


def table(html: str, name: str) -> str:
    start = html.index(f'data-table="{name}"')
    return html[start : html.index("</table>", start)]


def test_a_workspace_without_numbers_says_so_in_words(team, clock):
    response = team.client("viewer").get("/analytics/")
    assert response.status_code == 200
    assert b"No data in this range" in response.content
    assert b"<canvas" not in response.content


def test_the_page_shows_totals_charts_and_tables_of_the_range(berlin, demo_accounts, clock):
    alpha, beta = demo_accounts
    published_post(berlin.workspace, alpha, NOW - timedelta(days=2), likes=10, reposts=2, views=100)
    published_post(berlin.workspace, beta, NOW - timedelta(days=2), likes=3, replies=1)
    published_post(berlin.workspace, alpha, NOW - timedelta(days=40), likes=999)  # outside 30 days
    response = berlin.client("viewer").get("/analytics/", {"range": "30d"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-stat="posts">2<' in html
    assert 'data-stat="engagement">16<' in html
    assert "12.0 % of views" in html  # 12 engagement on the parts with views / 100 views
    assert '<canvas id="chart-posts"' in html
    assert 'id="chart-posts-data"' in html
    day = (NOW - timedelta(days=2)).date().isoformat()
    assert f'<tr><th scope="row">{day}</th><td>2</td><td>16</td><td>100</td></tr>' in table(html, "chart-posts")
    chart = response.context["charts"]["posts"]
    assert chart["labels"][-3] == day
    assert chart["datasets"][0]["data"][-3] == 2
    assert len(chart["labels"]) == 30


def test_a_post_at_2330_utc_counts_on_the_next_day_in_berlin(berlin, demo_accounts, clock):
    published_post(berlin.workspace, demo_accounts[0], datetime(2026, 3, 10, 23, 30, tzinfo=UTC), likes=5)
    response = berlin.client("viewer").get("/analytics/", {"range": "custom", "from": "2026-03-01", "to": "2026-03-20"})
    rows = table(response.content.decode(), "chart-posts")
    assert '<th scope="row">2026-03-11</th><td>1</td><td>5</td>' in rows
    assert '<th scope="row">2026-03-10</th><td>0</td><td>0</td>' in rows
    heat = dict(response.context["heat"])
    assert heat["Wed"][0].posts == 1
    assert heat["Wed"][0].average == 5


def test_a_custom_range_is_inclusive_in_the_zone_and_a_bad_one_falls_back(berlin, demo_accounts, clock):
    published_post(berlin.workspace, demo_accounts[0], datetime(2026, 3, 1, 22, 59, tzinfo=UTC), likes=1)  # 23:59 there
    published_post(berlin.workspace, demo_accounts[0], datetime(2026, 3, 1, 23, 0, tzinfo=UTC), likes=1)  # 2 March
    client = berlin.client("viewer")
    response = client.get("/analytics/", {"range": "custom", "from": "2026-02-01", "to": "2026-03-01"})
    assert response.context["totals"].posts == 1
    response = client.get("/analytics/", {"range": "custom", "from": "2026-03-05", "to": "2026-03-01"})
    assert response.status_code == 200
    assert response.context["filters"].preset == "30d"
    assert b"The range must start before it ends" in response.content
    assert client.get("/analytics/", {"range": "nonsense"}).context["filters"].preset == "30d"


def test_twelve_months_are_charted_by_week(team, demo_accounts, clock):
    response = team.client("viewer").get("/analytics/", {"range": "12m"})
    labels = response.context["charts"]["posts"]["labels"]
    assert labels[0].startswith("Week of")
    assert 52 <= len(labels) <= 54


def test_filters_by_account_and_platform(team, demo_accounts, clock):
    alpha, beta = demo_accounts
    published_post(team.workspace, alpha, NOW - timedelta(days=1), likes=4)
    published_post(team.workspace, beta, NOW - timedelta(days=1), likes=7)
    client = team.client("viewer")
    assert client.get("/analytics/", {"account": beta.pk}).context["totals"].engagement == 7
    assert client.get("/analytics/", {"platform": "demo"}).context["totals"].engagement == 11
    platforms = client.get("/analytics/").context["platforms"]
    assert [(row.name, row.totals.posts, row.totals.engagement) for row in platforms] == [("Demo network", 2, 11)]


def test_another_workspaces_account_is_a_404_never_its_numbers(team, demo_accounts, clock):
    theirs = other_account(team)
    published_post(team.other_workspace, theirs, NOW - timedelta(days=1), likes=50, text="Their secret post")
    client = team.client("viewer")
    assert client.get("/analytics/", {"account": theirs.pk}).status_code == 404
    assert client.get("/analytics/", {"account": "x"}).status_code == 404
    assert client.get("/analytics/export/posts", {"account": theirs.pk}).status_code == 404
    page = client.get("/analytics/")
    assert page.context["totals"].posts == 0
    assert b"Their secret post" not in page.content
    export = b"".join(client.get("/analytics/export/posts").streaming_content)
    assert b"Their secret post" not in export
    assert str(theirs.pk).encode() not in export.split(b"\n", 1)[1]


def test_top_posts_rank_by_the_chosen_metric_with_links_and_thumbnails(team, demo_accounts, clock):
    alpha = demo_accounts[0]
    liked = published_post(team.workspace, alpha, NOW - timedelta(days=1), text="Most liked", likes=90, views=10)
    seen = published_post(team.workspace, alpha, NOW - timedelta(days=1), text="Most seen", likes=1, views=5000)
    published_post(team.workspace, alpha, NOW - timedelta(days=1), text="No views known", likes=2)
    client = team.client("viewer")
    top = client.get("/analytics/", {"metric": "views"}).context["top"]
    assert [p.text for p in top] == ["Most seen", "Most liked", "No views known"]  # unknown last
    response = client.get("/analytics/", {"metric": "likes"})
    assert response.context["top"][0].text == "Most liked"
    html = response.content.decode()
    assert f'href="/posts/{liked.target.post_id}/"' in html
    assert f'href="{seen.part.url}"' in html


def test_followers_are_summed_over_accounts_and_carried_between_syncs(team, demo_accounts, clock):
    alpha, beta = demo_accounts
    followers_at(alpha, NOW - timedelta(days=3), 100)
    followers_at(beta, NOW - timedelta(days=2), 50)
    followers_at(alpha, NOW - timedelta(days=1), 110)
    series = dict(team.client("viewer").get("/analytics/", {"range": "7d"}).context["followers"])
    day = lambda n: (NOW - timedelta(days=n)).date().isoformat()  # noqa: E731
    assert [series[day(n)] for n in (4, 3, 2, 1, 0)] == [None, 100, 150, 160, 160]


def _queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/analytics/", params).status_code == 200
    return len(captured)


def test_the_page_runs_the_same_number_of_queries_at_5_and_50_posts(team, demo_accounts, clock):
    client = team.client("viewer")
    for n in range(5):
        published_post(team.workspace, demo_accounts[n % 2], NOW - timedelta(hours=n * 7), likes=n, views=n * 10)
        followers_at(demo_accounts[n % 2], NOW - timedelta(days=n), 10 + n)
    few = _queries(client, range="90d")
    for n in range(45):
        published_post(team.workspace, demo_accounts[n % 2], NOW - timedelta(hours=n * 11), likes=n, views=n * 3)
        followers_at(demo_accounts[n % 2], NOW - timedelta(days=n, hours=1), 20 + n)
    assert _queries(client, range="90d") == few
    assert few <= 16


def _csv(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_posts_export_streams_the_stored_numbers_of_the_range(berlin, demo_accounts, clock):
    alpha = demo_accounts[0]
    inside = published_post(berlin.workspace, alpha, datetime(2026, 3, 10, 23, 30, tzinfo=UTC), likes=5, views=80)
    published_post(berlin.workspace, alpha, datetime(2026, 3, 1, 12, 0, tzinfo=UTC), likes=1)
    params = {"range": "custom", "from": "2026-03-11", "to": "2026-03-20"}
    response = berlin.client("viewer").get("/analytics/export/posts", params)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert len(rows) == 1
    row = rows[0]
    assert row["post_id"] == str(inside.target.post_id)
    assert row["account_id"] == str(alpha.pk)
    assert row["likes"] == "5"
    assert row["views"] == "80"
    assert row["reposts"] == ""
    assert row["engagement"] == "5"
    assert row["published_at"] == "2026-03-11T00:30:00+01:00"
    assert row["url"] == inside.part.url
    as_json = berlin.client("viewer").get("/analytics/export/posts", {**params, "format": "json"})
    assert isinstance(as_json, StreamingHttpResponse)
    assert json.loads(b"".join(as_json.streaming_content)) == [{**row, "post_id": inside.target.post_id,
        "part": 0, "account_id": alpha.pk, "likes": 5, "views": 80, "reposts": None, "replies": None,
        "quotes": None, "saves": None, "reach": None, "clicks": None, "engagement": 5}]  # fmt: skip


def test_account_history_export_streams_snapshots_of_the_range(team, demo_accounts, clock):
    alpha, beta = demo_accounts
    followers_at(alpha, NOW - timedelta(days=3), 100)
    followers_at(alpha, NOW - timedelta(days=60), 1)  # before the range
    followers_at(beta, NOW - timedelta(days=1), 7)
    rows = _csv(team.client("viewer").get("/analytics/export/accounts", {"account": alpha.pk}))
    assert [(r["account_id"], r["followers"]) for r in rows] == [(str(alpha.pk), "100")]
    rows = _csv(team.client("viewer").get("/analytics/export/accounts"))
    assert sorted(r["followers"] for r in rows) == ["100", "7"]


def test_exports_read_in_chunks(team, demo_accounts, clock, monkeypatch):
    for n in range(5):
        published_post(team.workspace, demo_accounts[0], NOW - timedelta(hours=n), likes=n)
    scope = queries.Scope(team.workspace, team.workspace.tzinfo, NOW.date() - timedelta(days=3), NOW.date())
    rows = queries.post_export_rows(scope, chunk_size=2)
    assert next(rows)["likes"] == 4  # a generator: nothing read before it is asked
    assert len(list(rows)) == 4


def test_exports_answer_get_only(team, clock):
    assert team.client("viewer").post("/analytics/export/posts").status_code == 405


def test_the_post_page_shows_its_numbers_and_their_growth(team, demo_accounts, clock):
    from analytics.models import PartMetricSnapshot

    metrics = published_post(team.workspace, demo_accounts[0], NOW - timedelta(days=1), likes=9, views=300)
    earlier = PartMetricSnapshot.objects.get(part=metrics.part)
    PartMetricSnapshot.objects.create(
        workspace=team.workspace, account=metrics.account, target=metrics.target, part=metrics.part,
        taken_at=NOW - timedelta(hours=20), likes=2, views=40,
    )  # fmt: skip
    response = team.client("viewer").get(f"/posts/{metrics.target.post_id}/")
    html = response.content.decode()
    assert 'data-metric="engagement">9<' in html
    chart_id = f"growth-{metrics.target_id}"
    assert f'data-chart="{chart_id}"' in html
    assert response.context["numbers"][0]["chart"]["datasets"][0]["data"] == [2, 9]
    rows = table(html, chart_id)
    assert "<td>2</td><td>40</td>" in rows
    assert "<td>9</td><td>300</td>" in rows
    assert earlier.likes == 9


def test_a_post_not_yet_out_runs_no_metric_queries(team, demo_accounts, clock):
    from publishing.models import Post

    post = Post.objects.create(workspace=team.workspace, status=Post.Status.DRAFT)
    response = team.client("viewer").get(f"/posts/{post.pk}/")
    assert response.context["numbers"] == []
    assert b"chart.umd.min.js" not in response.content


def test_top_posts_show_the_first_attachments_thumbnail(team, demo_accounts, clock):
    from publishing.models import ContentMedia, Media, PostContent

    metrics = published_post(team.workspace, demo_accounts[0], NOW - timedelta(days=1), likes=3)
    content = PostContent.objects.get(post_id=metrics.target.post_id)
    first, second = (
        Media.objects.create(workspace=team.workspace, file=f"media/{n}.png", sha256=str(n) * 64,
                             original_name=f"{n}.png", mime_type="image/png", size=10)
        for n in (1, 2)
    )  # fmt: skip
    ContentMedia.objects.create(content=content, media=second, position=1)
    ContentMedia.objects.create(content=content, media=first, position=0)
    response = team.client("viewer").get("/analytics/")
    assert response.context["top"][0].thumb_url == f"/media/{first.pk}/preview/"
    assert f'<img class="thumb" src="/media/{first.pk}/preview/"' in response.content.decode()
