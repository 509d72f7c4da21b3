#!/usr/bin/env python
"""Analytics benchmark: do metric syncs stay within a platform's rate limit, and leave
publishing on time?

Creates TARGETS published posts, spread over ACCOUNTS accounts of a local fake platform, all due
for a metrics sync at once; the fake platform answers after LATENCY_MS and allows RATE_LIMIT
metric reads per WINDOW_S seconds per account (429 past it). While the real analytics sync
process (`manage.py analytics_sync`) works through them, PUBLISH text posts on another account
fall due over PUBLISH_SPREAD seconds and go out through the real dispatcher and workers.

    .venv/bin/python bench/analytics.py                       # 10,000 targets, 1,000 posts
    .venv/bin/python bench/analytics.py --targets 500 --publish 50 --accounts 5   # a smoke run

The last line printed is one JSON object: ``synced`` (targets whose numbers were read),
``rate_limited`` (429s the platform answered), ``publish_lateness_p99_s``, ``sync_seconds``,
``metric_calls``, ``max_calls_in_window`` (the most reads one account made in any window) and
``analytics_page_p95_ms`` (the Analytics page of the synced workspace, 12 months, after the sync).
"""

import argparse
import json
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dispatch import DEFAULT_DB, percentile, reset_state, setup_django, start_process, stop_all  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, default=10_000, help="published targets due a sync (default 10000)")
    parser.add_argument("--accounts", type=int, default=10, help="accounts they are spread over (default 10)")
    parser.add_argument("--publish", type=int, default=1000, help="text posts due during the sync (default 1000)")
    parser.add_argument("--publish-spread", type=float, default=60, help="seconds over which those fall due")
    parser.add_argument("--no-sync", action="store_true", help="the same run without the analytics sync (control)")
    parser.add_argument("--latency-ms", type=float, default=100, help="fake platform latency per request")
    parser.add_argument("--rate-limit", type=int, default=300, help="metric reads per window per account")
    parser.add_argument("--window-s", type=float, default=900, help="the rate limit's window, seconds")
    parser.add_argument("--workers", type=int, default=4, help="django-q2 worker processes (default 4)")
    parser.add_argument("--batch", type=int, default=8, help="targets per publishing task (default 8)")
    parser.add_argument("--sync-batch", type=int, default=2000, help="sync rows claimed per pass (default 2000)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
                        help="django-q2 broker; 'orm' uses the database instead")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=600, help="give up this long after the start")
    parser.add_argument("--page-runs", type=int, default=15, help="Analytics page renders timed after the sync")
    args = parser.parse_args()
    args.media_workers = 1
    return args


def reset_analytics() -> None:
    from analytics.models import AccountMetricSnapshot, MetricSync, PartMetrics, PartMetricSnapshot
    from publishing.models import RateBudget

    for model in (PartMetricSnapshot, PartMetrics, AccountMetricSnapshot, MetricSync):
        model.objects.all().delete()
    RateBudget.objects.filter(key__startswith="benchnet:").delete()


def create_published(n: int, accounts: int, landed: datetime) -> list[int]:
    """``n`` published one-part targets, dealt round the accounts as real history interleaves,
    each with a sync row due now. Returns the accounts' ids."""
    from accounts.models import Workspace
    from analytics.models import MetricSync
    from connections.models import SocialAccount
    from publishing.models import Post, Target, TargetPart

    workspace = Workspace.objects.get(name="bench")
    readers = SocialAccount.objects.bulk_create(
        SocialAccount(
            workspace=workspace, platform="benchnet", external_id=f"reader-{i}", username=f"@reader{i}", secrets={}
        )
        for i in range(accounts)
    )
    posts = Post.objects.bulk_create(
        (Post(workspace=workspace, status="published", scheduled_at=landed) for _ in range(n)), batch_size=2000
    )
    targets = Target.objects.bulk_create(
        (Target(workspace=workspace, post=post, account=readers[i % accounts], status="published",
                platform_post_id=f"m{i}", finished_at=landed) for i, post in enumerate(posts)),
        batch_size=2000,
    )  # fmt: skip
    parts = TargetPart.objects.bulk_create(
        (TargetPart(target=target, position=0, kind="main", status="published", platform_post_id=f"m{i}",
                    landed_at=landed) for i, target in enumerate(targets)),
        batch_size=2000,
    )  # fmt: skip
    now = datetime.now(UTC)
    MetricSync.objects.bulk_create(
        (MetricSync(kind="part", part=part, account_id=target.account_id, workspace=workspace, due_at=now)
         for part, target in zip(parts, targets, strict=True)),
        batch_size=2000,
    )  # fmt: skip
    return [reader.id for reader in readers]


def max_in_window(times: list[float], window_s: float) -> int:
    """The most calls in any window of ``window_s`` seconds (``times`` sorted)."""
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def wait_until_done(reader_ids: list[int], deadline: float) -> float | None:
    """Poll until every sync row of the readers was read and every post is out; when the last
    sync landed (epoch seconds), or None on timeout."""
    from django.db import close_old_connections
    from django.db.models import Max

    from analytics.models import MetricSync
    from publishing.models import Target

    rows = MetricSync.objects.filter(account_id__in=reader_ids, kind="part")
    while time.time() < deadline:
        close_old_connections()
        pending = rows.filter(last_synced_at__isnull=True).count()
        publishing = Target.objects.exclude(status__in=["published", "failed", "canceled"]).count()
        if pending == 0 and publishing == 0:
            last = rows.aggregate(last=Max("last_synced_at"))["last"]
            return last.timestamp() if last else time.time()
        time.sleep(1)
    return None


def analytics_page_p95_ms(runs: int) -> float | None:
    """Server time of the Analytics page (12 months) for the workspace just synced, as its owner
    sees it: the page a user opens after the sync (bench/dashboard.py measures it at 20,000 posts)."""
    if runs <= 0:
        return None
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    from accounts.models import User

    settings.ALLOWED_HOSTS.append("testserver")
    client = Client()
    client.force_login(User.objects.get(email="bench@example.com"))
    timings = []
    # The benchmark runs with DEBUG off and no collectstatic: static files are named as they are.
    plain = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=plain):
        for run in range(runs + 1):
            started = time.perf_counter()
            response = client.get("/analytics/", {"range": "12m"})
            if response.status_code != 200:
                raise SystemExit(f"the analytics page answered {response.status_code}")
            if run:  # the first warms the caches
                timings.append((time.perf_counter() - started) * 1000)
    return round(percentile(timings, 95), 1)


def main() -> None:
    args = parse_args()
    os.environ["BENCH_RATE_LIMIT"] = str(args.rate_limit)  # read by the fake platform and its provider
    os.environ["BENCH_RATE_WINDOW_S"] = str(args.window_s)
    setup_django(args)
    from bench.dispatch import create_targets, shift_dues
    from bench.fakeplatform import serve

    server, ledger = serve(latency_ms=args.latency_ms, fault_rate=0)
    os.environ["BENCH_PLATFORM_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
    times: dict[str, list[float]] = {}
    counted = ledger.metrics_call

    def recorded(account: str, **kwargs) -> float | None:
        wait = counted(account, **kwargs)
        if wait is None:
            times.setdefault(account, []).append(time.time())
        return wait

    ledger.metrics_call = recorded
    reset_state(args)
    reset_analytics()
    warmup = 8.0
    create_targets(args.publish, args.publish_spread, datetime.now(UTC), parts=1)
    reader_ids = create_published(args.targets, args.accounts, datetime.now(UTC) - timedelta(hours=2))
    start = shift_dues(datetime.now(UTC) + timedelta(seconds=warmup))
    limit = f"{args.rate_limit}/{args.window_s:g}s"
    print(f"{args.targets} targets on {args.accounts} accounts due a sync; {args.publish} posts due from "
          f"{start:%H:%M:%S} over {args.publish_spread:g}s; limit {limit}", flush=True)  # fmt: skip

    env = {**os.environ}
    processes = {name: start_process(name, env) for name in ("qcluster", "dispatch")}
    stop = threading.Event()
    time.sleep(max(0.0, start.timestamp() - time.time() - 1))
    # The sync starts with the posts: from here on both compete for the database and the CPU.
    sync_started = time.time()
    sync_argv = [sys.executable, str(ROOT / "manage.py"), "analytics_sync", "--batch", str(args.sync_batch)]
    import subprocess

    if not args.no_sync:
        processes["analytics"] = subprocess.Popen(sync_argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL)  # fmt: skip
    finished = wait_until_done([] if args.no_sync else reader_ids, sync_started + args.timeout)
    stop.set()
    stop_all(processes.values())
    server.shutdown()

    from analytics.models import MetricSync
    from publishing.models import Target

    synced = MetricSync.objects.filter(account_id__in=reader_ids, kind="part", last_synced_at__isnull=False).count()
    posts = list(Target.objects.filter(account__external_id="bench").values_list("idempotency_key", "due_at"))
    lateness = [ledger.arrivals[key] - due.timestamp() for key, due in posts if key in ledger.arrivals]
    calls_per_account = args.targets / args.accounts / 100
    result = {
        "targets": args.targets,
        "sync": not args.no_sync,
        "accounts": args.accounts,
        "latency_ms": args.latency_ms,
        "rate_limit": f"{args.rate_limit}/{args.window_s:g}s",
        "synced": synced,
        "rate_limited": ledger.rate_limited,
        "metric_calls": ledger.metric_calls_total,
        "max_calls_in_window": max((max_in_window(t, args.window_s) for t in times.values()), default=0),
        "sync_seconds": round(finished - sync_started, 1) if finished else None,
        # The fastest the limit allows: one account's calls at the declared pace, after the first.
        "sync_floor_seconds": round(max(0.0, calls_per_account - 1) * args.window_s / args.rate_limit / 0.97, 1),
        "published": len(lateness),
        "publish_lateness_p50_s": round(percentile(lateness, 50), 3) if lateness else None,
        "publish_lateness_p99_s": round(percentile(lateness, 99), 3) if lateness else None,
        "publish_lateness_max_s": round(max(lateness), 3) if lateness else None,
        "analytics_page_p95_ms": analytics_page_p95_ms(args.page_runs),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"synced {synced}/{args.targets} in {result['sync_seconds']}s with {result['metric_calls']} calls, "
          f"{result['rate_limited']} rate-limited; publishing p99 {result['publish_lateness_p99_s']}s")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
