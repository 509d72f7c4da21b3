#!/usr/bin/env python
"""Dashboard benchmark: server time, queries, rows and bytes per view at N posts.

Seeds one workspace with 5 Demo accounts and N posts over 12 months (4,000 of them, or a fifth
when N is small, in the current month), 1-3 targets each, some threads and images, then renders
each view through Django's test client. Published targets also get a year of analytics (their
main part's latest numbers and three snapshots; each account's followers daily), for the
Analytics page over 12 months, 30 days, and one account's 90 days. The last line printed is
one JSON object: {"posts": N, "views": {"month": {"p50_ms", "p95_ms", "queries", "rows", "fetched",
"bytes"}, ...}} (rows: model instances built; fetched: rows the database sent, PostgreSQL only).

    .venv/bin/python bench/dashboard.py --posts 20000
    .venv/bin/python bench/dashboard.py --views analytics,analytics_30d,analytics_account   # only those
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postwright_dash .venv/bin/python bench/dashboard.py
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=20_000, help="posts in the workspace (default 20000)")
    parser.add_argument("--runs", type=int, default=15, help="requests per view (default 15)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--views", default="", help="comma-separated views to time (default: all), e.g. analytics")
    return parser.parse_args()


def setup_django(database_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{database_dir}/dashboard.sqlite3")
    os.environ.setdefault("POSTWRIGHT_LOCAL_DIR", database_dir)
    os.environ.setdefault("DEMO_LATENCY_MS", "0")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS.append("testserver")
    call_command("migrate", verbosity=0, interactive=False)


def seed(n: int, rng: random.Random):
    from django.utils import timezone

    from accounts.models import User
    from accounts.services import workspace_create
    from connections.registry import get_provider
    from connections.services import account_save
    from publishing.models import ContentMedia, Media, Post, PostContent, Target

    owner = User.objects.create_user(email=f"bench{rng.random()}@example.com", password=None, is_staff=True,
                                     is_superuser=True)  # fmt: skip
    workspace = workspace_create(owner=owner, name="Bench", timezone_name="Europe/Berlin")
    demo = get_provider("demo")
    accounts = [
        account_save(workspace=workspace, platform="demo", user=owner,
                     connection=demo.connect_with_form(data={"identifier": f"bench-{i}", "display_name": f"B{i}"}))
        for i in range(5)
    ]  # fmt: skip
    media = Media.objects.create(workspace=workspace, file="media/bench.png", sha256="0" * 64,
                                 original_name="bench.png", mime_type="image/png", size=1000)  # fmt: skip
    now = timezone.now()
    in_month = min(4000, n // 5)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    statuses = ["scheduled", "published", "failed", "draft", "published"]
    posts = []
    for i in range(n):
        if i < in_month:
            at = month_start + timedelta(seconds=rng.randrange(28 * 86400))
        else:
            at = now + timedelta(days=rng.uniform(-300, 60))
        status = "scheduled" if at > now else rng.choice(statuses)
        posts.append(Post(workspace=workspace, author=owner, status=status, scheduled_at=at))
    Post.objects.bulk_create(posts, batch_size=2000)
    contents, targets = [], []
    for post in posts:
        contents.append(PostContent(post=post, position=0, text=f"Bench post {post.pk} #launch https://example.com"))
        for r in range(rng.choice([0, 0, 0, 1, 2])):
            contents.append(PostContent(post=post, kind="reply", position=r + 1, text=f"reply {r}"))
        for account in rng.sample(accounts, rng.randint(1, 3)):
            targets.append(Target(workspace=workspace, post=post, account=account, status=post.status
                                  if post.status != "draft" else "draft", due_at=post.scheduled_at))  # fmt: skip
    PostContent.objects.bulk_create(contents, batch_size=2000)
    Target.objects.bulk_create(targets, batch_size=2000)
    mains = [c for c in contents if c.kind == "main"][::10]
    ContentMedia.objects.bulk_create([ContentMedia(content=c, media=media) for c in mains], batch_size=2000)
    seed_metrics(workspace, accounts, [t for t in targets if t.status == "published"], now, rng)
    from django.db import connection

    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would gather
        cursor.execute("ANALYZE")
    return owner, workspace, accounts, posts


def seed_metrics(workspace, accounts, published, now, rng: random.Random) -> None:
    """A year of analytics: each published target's main part with its latest numbers and three
    snapshots of their growth, and each account's followers once a day for 365 days."""
    from analytics.models import AccountMetricSnapshot, PartMetrics, PartMetricSnapshot
    from publishing.models import TargetPart

    parts = [
        TargetPart(target=t, position=0, kind="main", status="published", platform_post_id=f"b{t.pk}",
                   url=f"https://demo.example/{t.pk}", landed_at=t.due_at)
        for t in published
    ]  # fmt: skip
    TargetPart.objects.bulk_create(parts, batch_size=2000)
    latest, snapshots = [], []
    for part, target in zip(parts, published, strict=True):
        likes, reposts, replies = rng.randint(0, 400), rng.randint(0, 60), rng.randint(0, 40)
        views = rng.randint(100, 20_000) if rng.random() < 0.7 else None
        common = {"workspace": workspace, "account_id": target.account_id, "target": target, "part": part}
        latest.append(PartMetrics(**common, published_at=target.due_at, likes=likes, reposts=reposts,
                                  replies=replies, views=views, engagement=likes + reposts + replies,
                                  first_synced_at=target.due_at, updated_at=now))  # fmt: skip
        for share in (0.3, 0.7, 1.0):
            snapshots.append(PartMetricSnapshot(**common, taken_at=target.due_at + timedelta(days=share * 7),
                                                likes=int(likes * share), views=views and int(views * share)))  # fmt: skip  # noqa: E501
    PartMetrics.objects.bulk_create(latest, batch_size=2000)
    PartMetricSnapshot.objects.bulk_create(snapshots, batch_size=2000)
    history = [
        AccountMetricSnapshot(workspace=workspace, account=account, taken_at=now - timedelta(days=day),
                              followers=5000 + (365 - day) * 3 + rng.randint(0, 5), following=100)
        for account in accounts
        for day in range(365)
    ]  # fmt: skip
    AccountMetricSnapshot.objects.bulk_create(history, batch_size=2000)
    # Bulk inserts skip the writers' hooks: build the Analytics page's day cells as the
    # backfill migration (and `analytics_rollup --rebuild`) would.
    from analytics import rollup

    started = time.perf_counter()
    cells = rollup.rebuild(workspace.pk)
    print(f"built {cells} day cells in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def deep_cursor(workspace) -> str:
    """The page link halfway down the Published tab (pages are found by keyset, not a number)."""
    from publishing.listing import Cursor
    from publishing.models import Post

    published = Post.objects.filter(workspace=workspace, status="published").order_by("-scheduled_at", "-id")
    middle = published[published.count() // 2]
    return Cursor(id=middle.id, at=middle.scheduled_at).encode()


def measure(client, name: str, request, runs: int) -> dict:
    from django.db import connection, reset_queries
    from django.db.models.signals import post_init

    times, rows = [], Counter()
    response = None
    for run in range(runs + 1):
        reset_queries()
        counted: Counter = Counter()

        def count(sender, counted=counted, **kwargs):
            counted["rows"] += 1

        def fetched(execute, sql, params, many, context, counted=counted):
            result = execute(sql, params, many, context)
            # Rows the database sent (PostgreSQL; SQLite does not tell), model instances or not.
            counted["fetched"] += max(0, context["cursor"].cursor.rowcount) if sql.lstrip().startswith("SELECT") else 0
            return result

        post_init.connect(count, weak=False)
        start = time.perf_counter()
        with connection.execute_wrapper(fetched):
            response = request(client)
        elapsed = (time.perf_counter() - start) * 1000
        post_init.disconnect(count)
        if response.status_code >= 400:
            raise SystemExit(f"{name}: HTTP {response.status_code}")
        if run:  # the first run warms caches
            times.append(elapsed)
            rows = counted
        queries = len(connection.queries)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
        "queries": queries,
        "rows": rows["rows"],
        "fetched": rows["fetched"] if connection.vendor == "postgresql" else None,
        "bytes": len(response.content),
    }


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)  # noqa: S311 (test data, not secrets)
    with tempfile.TemporaryDirectory(prefix="pw-dash-") as tmp:
        setup_django(tmp)
        from django.conf import settings
        from django.test import Client
        from django.utils import timezone

        settings.DEBUG = True  # records queries
        started = time.perf_counter()
        owner, workspace, accounts, posts = seed(args.posts, rng)
        print(f"seeded {args.posts} posts in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        client = Client()
        client.force_login(owner)
        today = timezone.localdate(timezone=workspace.tzinfo).isoformat()
        deep = deep_cursor(workspace)
        some_post = posts[len(posts) // 2].pk
        check = {"accounts": [a.id for a in accounts[:2]], "text": "Checking", "when": "queue"}
        views = {
            "month": lambda c: c.get("/calendar/", {"date": today}),
            "week": lambda c: c.get("/calendar/", {"date": today, "view": "week"}),
            "list": lambda c: c.get("/posts/"),
            "list_filtered": lambda c: c.get("/posts/", {"tab": "published", "account": accounts[0].id}),
            "list_deep": lambda c: c.get("/posts/", {"tab": "published", "after": deep}),
            "post": lambda c: c.get(f"/posts/{some_post}/"),
            "composer": lambda c: c.get("/posts/new/"),
            "live_check": lambda c: c.post("/posts/check/", check),
            "analytics": lambda c: c.get("/analytics/", {"range": "12m"}),
            "analytics_30d": lambda c: c.get("/analytics/", {"range": "30d", "metric": "views"}),
            "analytics_account": lambda c: c.get("/analytics/", {"range": "90d", "account": accounts[0].id}),
            "admin_posts": lambda c: c.get("/admin/publishing/post/"),
            "admin_targets": lambda c: c.get("/admin/publishing/target/"),
        }
        wanted = [name for name in args.views.split(",") if name] or list(views)
        unknown = sorted(set(wanted) - set(views))
        if unknown:
            raise SystemExit(f"unknown views: {', '.join(unknown)} (choose from {', '.join(views)})")
        results = {name: measure(client, name, views[name], args.runs) for name in wanted}
        for name, result in results.items():
            print(f"{name:<14} {json.dumps(result)}", file=sys.stderr)
        print(json.dumps({"posts": args.posts, "views": results}))


if __name__ == "__main__":
    main()
