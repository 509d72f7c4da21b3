#!/usr/bin/env python
"""Dispatch benchmark: are posts published on time, once, and none lost?

Creates N targets due evenly over SPREAD seconds (0 = all at one instant), runs the real
dispatcher (`manage.py dispatch`) and django-q2 workers (`manage.py qcluster`) against a local
fake platform, and measures from the platform's side. It also fires the same number of requests
straight from a thread pool of the same total concurrency: that is the ceiling the engine's
throughput is compared with. The last line printed is one JSON object.

    .venv/bin/python bench/dispatch.py --targets 1000 --spread 60
    .venv/bin/python bench/dispatch.py --targets 1000 --spread 0
    .venv/bin/python bench/dispatch.py --targets 300 --spread 20 --kill-workers
    .venv/bin/python bench/dispatch.py --targets 300 --parts 3 --spread 30 --kill-workers
    .venv/bin/python bench/dispatch.py --targets 1000 --spread 60 --videos 20 --video-mb 200 --kill-workers

Duplicates and losses are counted per part on the fake platform (each part has its own key).
With --videos, that many more posts carry a video of --video-mb MB (media lane, its own
cluster), uploaded in chunks to the fake platform, which then processes each for
--processing-s seconds; lateness is measured on the text targets only.
CPU per target counts the dispatcher and every worker from the first due time on (their
start-up is reported apart, as startup_cpu_s).
"""

import argparse
import contextlib
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/postwright_bench"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, default=1000, help="targets to publish (default 1000)")
    parser.add_argument("--spread", type=float, default=60, help="seconds over which they fall due; 0 = one instant")
    parser.add_argument("--latency-ms", type=float, default=100, help="fake platform latency per request (default 100)")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of creates answered 503 (default 0)")
    parser.add_argument("--parts", type=int, default=1, help="parts per post: the main one plus replies (default 1)")
    parser.add_argument("--videos", type=int, default=0, help="extra posts with a video each (default 0)")
    parser.add_argument("--video-mb", type=int, default=200, help="size of each video in MB (default 200)")
    parser.add_argument("--processing-s", type=float, default=30, help="platform processing time per video")
    add_engine_arguments(parser, media_workers=2, timeout=180)
    return parser.parse_args()


def add_engine_arguments(
    parser: argparse.ArgumentParser, *, workers: int = 4, batch: int = 8, media_workers: int, timeout: float
) -> None:
    """The arguments every benchmark of the engine shares: its processes, its database and
    broker, and the crashes (see run_engine)."""
    parser.add_argument("--workers", type=int, default=workers, help=f"django-q2 worker processes (default {workers})")
    parser.add_argument("--batch", type=int, default=batch, help=f"targets in flight per task (default {batch})")
    parser.add_argument("--media-workers", type=int, default=media_workers,
                        help=f"workers of the media cluster (default {media_workers})")  # fmt: skip
    parser.add_argument("--kill-workers", action="store_true", help="SIGKILL workers at random during the run")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
                        help="django-q2 broker; 'orm' uses the database instead")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=timeout, help="give up this long after the last due time")


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def hold_bench_lock(url: str):
    """One benchmark per database at a time: two would delete each other's targets."""
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    if not conn.execute("SELECT pg_try_advisory_lock(727274)").fetchone()[0]:
        sys.exit(f"another benchmark is running against {url.rsplit('@', 1)[-1]}; wait for it to finish")
    return conn  # the lock lasts as long as this connection


def setup_django(args: argparse.Namespace) -> None:
    import secrets

    from cryptography.fernet import Fernet

    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    # DEBUG off, as in production (DEBUG records every query), with keys of the bench's own for
    # the fake tokens it creates, handed to the dispatcher and workers through the environment.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    key_file = ROOT / ".local" / "bench_encryption_key"  # kept: the next run deletes this one's rows
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(Fernet.generate_key().decode())
        key_file.chmod(0o600)
    os.environ.setdefault("POSTWRIGHT_ENCRYPTION_KEYS", key_file.read_text().strip())
    os.environ.setdefault("ALLOW_PRIVATE_NETWORK_URLS", "true")  # the fake platform is on loopback
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["BENCH_WORKERS"] = str(args.workers)
    os.environ["BENCH_BATCH"] = str(args.batch)
    os.environ["Q_MEDIA_WORKERS"] = str(args.media_workers)
    # A queue of its own per run: no stray worker from an earlier run can take these tasks.
    os.environ["BENCH_RUN_ID"] = uuid.uuid4().hex[:8]
    if args.redis_url != "orm":
        os.environ["REDIS_URL"] = args.redis_url
    if args.database_url.startswith("postgres"):
        ensure_database(args.database_url)
        args.lock = hold_bench_lock(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def reset_state(args: argparse.Namespace) -> None:
    from django_q.models import OrmQ, Task

    from accounts.models import Heartbeat, User, Workspace
    from connections.models import SocialAccount
    from publishing.models import Media, Post, Target

    Target.objects.all().delete()
    Post.objects.all().delete()
    Media.objects.all().delete()  # the rows only: the video files are kept for the next run
    SocialAccount.objects.filter(platform="benchnet").delete()
    Workspace.objects.filter(name="bench").delete()
    User.objects.filter(email="bench@example.com").delete()
    OrmQ.objects.all().delete()
    Task.objects.all().delete()
    Heartbeat.objects.all().delete()
    if args.redis_url != "orm":
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()


def video_file(index: int, megabytes: int) -> str:
    """A stored file of that size (kept between runs: writing gigabytes is slow). Its bytes are
    not a real video: the fake platform only counts them."""
    from django.core.files.storage import default_storage

    name = f"bench/video-{megabytes}mb-{index}.mp4"
    path = Path(default_storage.path(name))
    if not path.exists() or path.stat().st_size != megabytes * 1024 * 1024:
        path.parent.mkdir(parents=True, exist_ok=True)
        block = os.urandom(1024 * 1024)
        with path.open("wb") as out:
            for i in range(megabytes):
                out.write(i.to_bytes(8, "big") + block[8:])
    return name


def create_videos(workspace, user, account, n: int, megabytes: int, start: datetime) -> None:
    """Posts with one video each, due over the first five seconds: the worst time for text."""
    from publishing.models import ContentMedia, Media, Post, PostContent, Target

    for i in range(n):
        due = start + timedelta(seconds=5 * i / max(1, n))
        post = Post.objects.create(workspace=workspace, author=user, status="scheduled", scheduled_at=due)
        content = PostContent.objects.create(post=post, text=f"bench video {i}", position=0, kind="main")
        media = Media.objects.create(
            workspace=workspace, file=video_file(i, megabytes), kind="video", sha256=f"{i:064x}",
            original_name=f"video-{i}.mp4", mime_type="video/mp4", size=megabytes * 1024 * 1024,
        )  # fmt: skip
        ContentMedia.objects.create(content=content, media=media)
        Target.objects.create(workspace=workspace, post=post, account=account, status="scheduled", due_at=due,
                              next_attempt_at=due, lane="media")  # fmt: skip


def create_targets(n: int, spread: float, start: datetime, parts: int, videos: int = 0, video_mb: int = 0) -> None:
    from accounts.models import User
    from accounts.services import workspace_create
    from connections.models import SocialAccount
    from publishing.models import Post, PostContent, Target

    user = User.objects.create_user(email="bench@example.com", password=None)
    workspace = workspace_create(owner=user, name="bench")
    account = SocialAccount.objects.create(
        workspace=workspace, platform="benchnet", external_id="bench", username="@bench", secrets={"access_token": "x"}
    )
    step = spread / n if n else 0
    dues = [start + timedelta(seconds=i * step) for i in range(n)]
    posts = Post.objects.bulk_create(
        Post(workspace=workspace, author=user, status="scheduled", scheduled_at=due) for due in dues
    )
    PostContent.objects.bulk_create(
        PostContent(post=post, text=f"bench post {i} part {p}", position=p, kind="main" if p == 0 else "reply")
        for i, post in enumerate(posts)
        for p in range(parts)
    )
    Target.objects.bulk_create(
        Target(workspace=workspace, post=post, account=account, status="scheduled", due_at=due, next_attempt_at=due)
        for post, due in zip(posts, dues, strict=True)
    )
    create_videos(workspace, user, account, videos, video_mb, start)


def shift_dues(start: datetime) -> datetime:
    """Move every due time so the first is ``start``: creating 10,000 targets takes longer than
    the warm-up, and the clock must not start while they are still being written."""
    from django.db.models import F, Min

    from publishing.models import Post, Target

    delta = start - Target.objects.aggregate(first=Min("due_at"))["first"]
    Target.objects.update(due_at=F("due_at") + delta, next_attempt_at=F("next_attempt_at") + delta)
    Post.objects.update(scheduled_at=F("scheduled_at") + delta)
    return start


def start_process(name: str, env: dict) -> subprocess.Popen:
    """The dispatcher, the main worker cluster, or the media cluster ("media")."""
    if name == "media":
        env = {**env, "Q_CLUSTER_NAME": f"media-{env['BENCH_RUN_ID']}"}
    argv = [sys.executable, str(ROOT / "manage.py"), "qcluster" if name == "media" else name]
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def children_of(pid: int) -> list[int]:
    """Read from /proc, not by running pgrep: the watcher asks 4 times a second for every process
    of the cluster, and those pgrep runs, children of this process, were counted in the engine's
    CPU (RUSAGE_CHILDREN) and took a quarter of a core from it."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(child) for child in (task / "children").read_text().split()]
    return children


def descendants(pid: int) -> list[int]:
    found = []
    for child in children_of(pid):
        found += [child, *descendants(child)]
    return found


def crash(process: subprocess.Popen) -> None:
    """SIGKILL a process and everything under it, as a host crash or the OOM killer would."""
    for pid in [process.pid, *descendants(process.pid)]:  # listed first: orphans are not found later
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


def stop_all(running) -> None:
    """SIGTERM each process tree, then SIGKILL whatever is left of it, so no worker outlives the
    run (a stray cluster from an earlier run would take tasks with stale code)."""
    trees = {process: [process.pid, *descendants(process.pid)] for process in running}
    for process in trees:
        process.send_signal(signal.SIGTERM)
    for process, pids in trees.items():
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@dataclass
class Chaos:
    """Which process to crash next (a name of run_engine's processes) and how long to wait
    before each crash, seconds; with ``after``, the first crash waits that long as well."""

    pick: Callable[[], str]
    pause: Callable[[], float]
    after: float = 0.0


def default_chaos(names: Sequence[str]) -> Chaos:
    """Mostly the worker cluster (mid-task, with no chance to clean up), else the dispatcher
    or the media cluster, every 2 to 5 seconds. Killing single processes inside a django-q2
    cluster can wedge its internal queues, which is a worse model of a real crash."""

    def pick() -> str:
        roll = random.random()  # noqa: S311
        return "qcluster" if roll < 0.6 else "dispatch" if roll < 0.8 or "media" not in names else "media"

    return Chaos(pick=pick, pause=lambda: random.uniform(2.0, 5.0))  # noqa: S311


def chaos(processes: dict[str, subprocess.Popen], env: dict, stop: threading.Event, kills: list[str],
          plan: Chaos) -> None:  # fmt: skip
    """Now and then crash one of the processes and start a new one, as a supervisor would;
    ``kills`` gets the name of each process crashed."""
    if plan.after and stop.wait(plan.after):
        return
    while not stop.wait(plan.pause()):
        name = plan.pick()
        crash(processes[name])
        processes[name] = start_process(name, env)
        kills.append(name)


def proc_figures(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds so far) of one process, from /proc; zeros once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0, 0.0
    rss_kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return rss_kb / 1024, (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


class Watcher:
    """Polls every worker's RSS (peak kept), and the CPU the process trees have used so far."""

    def __init__(self, processes: dict[str, subprocess.Popen]) -> None:
        self.processes, self.peak_rss_mb, self.stop = processes, 0.0, threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def trees(self) -> list[int]:
        return [pid for p in list(self.processes.values()) for pid in [p.pid, *descendants(p.pid)]]

    def cpu_s(self) -> float:
        return sum(proc_figures(pid)[1] for pid in self.trees())

    def _run(self) -> None:
        while not self.stop.wait(0.25):
            for name in ("qcluster", "media"):
                if name in self.processes:
                    for pid in descendants(self.processes[name].pid):
                        self.peak_rss_mb = max(self.peak_rss_mb, proc_figures(pid)[0])


@dataclass
class EngineRun:
    """What run_engine measured of the engine's own processes."""

    remaining: int  # targets not in a final state when the run gave up
    kills: list[str]  # one process name per crash
    cpu_s: float  # dispatcher and workers from the first due time on
    startup_cpu_s: float  # theirs before it
    peak_rss_mb: float  # of a worker


def run_engine(names: Sequence[str], *, start: datetime, until: float, plan: Chaos | None) -> EngineRun:
    """Start the engine's processes (``names``: qcluster, dispatch, media), crash them now and
    then by ``plan`` (None: never), wait until every target is final or ``until`` (a
    timestamp), then stop them all and collect their figures."""
    env = {**os.environ}
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    processes = {name: start_process(name, env) for name in names}
    watcher = Watcher(processes)
    stop, kills = threading.Event(), []
    chaos_thread = None
    if plan is not None:
        chaos_thread = threading.Thread(target=chaos, args=(processes, env, stop, kills, plan), daemon=True)
        chaos_thread.start()
    time.sleep(max(0.0, start.timestamp() - time.time()))
    startup_cpu_s = watcher.cpu_s()  # start-up is not per target: counted apart
    remaining = wait_for_terminal(until)
    stop.set()
    if chaos_thread:
        chaos_thread.join()
    watcher.stop.set()
    stop_all(processes.values())
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Dispatcher and workers (the cluster waits for its workers, so theirs is included); a
    # process killed by --kill-workers takes its figures with it, so that run under-counts.
    cpu_total_s = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return EngineRun(remaining=remaining, kills=kills, cpu_s=cpu_total_s - startup_cpu_s,
                     startup_cpu_s=startup_cpu_s, peak_rss_mb=watcher.peak_rss_mb)  # fmt: skip


def wait_for_terminal(deadline: float) -> int:
    from django.db import close_old_connections

    from publishing.models import Target

    while time.time() < deadline:
        close_old_connections()
        open_count = Target.objects.exclude(status__in=["published", "failed", "canceled"]).count()
        if open_count == 0:
            return 0
        time.sleep(0.5)
    return open_count


def direct_ceiling(n: int, concurrency: int, latency_ms: float) -> float:
    """The same number of creates, fired straight from a thread pool: requests per second."""
    from bench.fakeplatform import serve
    from connections import http

    server, _ledger = serve(latency_ms=latency_ms, fault_rate=0)
    url = f"http://127.0.0.1:{server.server_address[1]}/posts"
    local = threading.local()

    def send(i: int) -> None:
        if not hasattr(local, "session"):
            local.session = http.platform_session()
        local.session.post(url, json={"text": f"direct {i}"}, headers={"Idempotency-Key": f"d{i}"}, timeout=(2, 10))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(send, range(n)))
    elapsed = time.perf_counter() - started
    server.shutdown()
    return n / elapsed


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1] if len(values) > 1 else values[0]


def main() -> None:
    args = parse_args()
    setup_django(args)
    from bench.fakeplatform import serve
    from publishing.models import Target

    server, ledger = serve(latency_ms=args.latency_ms, fault_rate=args.fault_rate, processing_s=args.processing_s)
    os.environ["BENCH_PLATFORM_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
    reset_state(args)
    for i in range(args.videos):  # written (once) before the clock starts: it can take a while
        video_file(i, args.video_mb)
    warmup = 8.0  # let the cluster and dispatcher start before the first target is due
    create_targets(args.targets, args.spread, datetime.now(UTC), args.parts, args.videos, args.video_mb)
    start = shift_dues(datetime.now(UTC) + timedelta(seconds=warmup))
    print(f"{args.targets} targets due from {start:%H:%M:%S} over {args.spread:g}s; "
          f"{args.workers} workers; broker {'ORM' if args.redis_url == 'orm' else 'Redis'}", flush=True)  # fmt: skip

    names = ("qcluster", "dispatch", "media") if args.videos else ("qcluster", "dispatch")
    # The first crash comes once the processes are half way through starting.
    plan = replace(default_chaos(names), after=warmup / 2) if args.kill_workers else None
    run = run_engine(names, start=start, until=start.timestamp() + args.spread + args.timeout, plan=plan)
    kills = [{"qcluster": "worker", "dispatch": "dispatcher", "media": "media_worker"}[name] for name in run.kills]

    from bench.fakeplatform import part_keys

    videos = list(Target.objects.filter(lane="media").values_list("idempotency_key", "status"))
    targets = list(Target.objects.filter(lane="default").values_list("idempotency_key", "due_at", "status"))
    lateness = [ledger.arrivals[key] - due.timestamp() for key, due, status in targets if key in ledger.arrivals]
    published_keys = {key for key, _due, status in targets if status == "published"}
    expected_parts = [part for key, _due, _status in targets for part in part_keys(key, args.parts)]
    lost = sum(1 for key in expected_parts if key not in ledger.arrivals)
    lost += sum(1 for key, _due, status in targets if status != "published" and key in ledger.arrivals)
    lost += sum(1 for key, status in videos if key not in ledger.arrivals or status != "published")
    arrivals = sorted(ledger.arrivals[key] for key in expected_parts if key in ledger.arrivals)
    first_due = min(due.timestamp() for _key, due, _status in targets)
    span = (arrivals[-1] - first_due) if arrivals else float("inf")
    throughput = len(arrivals) / span if span > 0 else 0.0
    direct = direct_ceiling(args.targets, args.workers * args.batch, args.latency_ms)
    server.shutdown()
    result = {
        "targets": args.targets,
        "spread_s": args.spread,
        "workers": args.workers,
        "batch": args.batch,
        "latency_ms": args.latency_ms,
        "broker": "orm" if args.redis_url == "orm" else "redis",
        "published": len(published_keys),
        "videos": args.videos,
        "lateness_p50_s": round(percentile(lateness, 50), 3),
        "lateness_p95_s": round(percentile(lateness, 95), 3),
        "lateness_p99_s": round(percentile(lateness, 99), 3),
        "lateness_max_s": round(max(lateness), 3) if lateness else None,
        "throughput_per_s": round(throughput, 1),
        "direct_throughput_per_s": round(direct, 1),
        "ratio": round(throughput / direct, 3) if direct else None,
        "parts": args.parts,
        "parts_created": len(ledger.creates),
        "duplicates": ledger.duplicates,
        "cpu_ms_per_target": round(run.cpu_s * 1000 / max(1, len(published_keys)), 2),
        "startup_cpu_s": round(run.startup_cpu_s, 2),
        "lost": lost,
        "unfinished": run.remaining,
        "kills": {"worker": kills.count("worker"), "dispatcher": kills.count("dispatcher"),
                  "media_worker": kills.count("media_worker")},
        "videos_published": sum(1 for key, status in videos if status == "published" and key in ledger.video_posts),
        "video_bytes_sent": ledger.bytes_received,
        "video_bytes_total": args.videos * args.video_mb * 1024 * 1024,
        "video_bytes_again": ledger.bytes_again,
        "worker_peak_rss_mb": round(run.peak_rss_mb, 1),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }  # fmt: skip
    print(f"lateness p50 {result['lateness_p50_s']}s  p95 {result['lateness_p95_s']}s  p99 {result['lateness_p99_s']}s")
    print(f"throughput {result['throughput_per_s']}/s vs direct {result['direct_throughput_per_s']}/s "
          f"(ratio {result['ratio']}); duplicates {result['duplicates']}; lost {result['lost']}")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
