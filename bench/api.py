#!/usr/bin/env python
"""API benchmark: post creations through the live REST API against the service, then webhooks.

1. Starts gunicorn (DEBUG off, as in production) on loopback, seeds a workspace with one account
   and a read-write API key (on a plan without limits), and sends --posts ``POST /api/v1/posts``
   from --clients concurrent clients, each with its own ``Idempotency-Key``: p99 latency and
   throughput. Every post is scheduled a year ahead, so no worker publishes it meanwhile.
2. Makes the same creations by calling ``publishing.services.post_create`` in this process, from
   the same number of threads, with the same key's actor: the ceiling the API is compared with
   (``ratio`` = api_per_s / direct_per_s; the goal is >= 0.5).
3. Runs bench/webhooks.py (--events, real ``webhooks_send`` processes to a verifying receiver) and
   takes its figures.

The last line printed is one JSON object: api_p50_ms, api_p99_ms, api_per_s, direct_per_s, ratio,
api_errors, then webhooks_delivered, webhooks_lost, webhooks_duplicated, webhook_p99_s,
webhooks_per_s and the rest of bench/webhooks.py's line.

    .venv/bin/python bench/api.py                                  # 1,000 creations, 10,000 events
    .venv/bin/python bench/api.py --posts 200 --events 1000        # a quick check
    .venv/bin/python bench/api.py --events 0                       # the API part alone

The API part runs on PostgreSQL (it creates the database of --database-url if missing; SQLite
takes one writer at a time, which would measure its lock, not the API). The webhook part runs
where bench/webhooks.py runs it: a temporary SQLite file, or --webhooks-database-url.
"""

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/postwright_bench_api"
EMAIL = "bench-api@example.com"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1000, help="post creations, through the API and direct (1000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent API clients, and direct threads (8)")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn worker processes (4)")
    parser.add_argument("--events", type=int, default=10_000, help="webhook events for bench/webhooks.py; 0 skips")
    parser.add_argument("--rate", type=float, default=100, help="webhook events written per second (100)")
    parser.add_argument("--senders", type=int, default=1, help="webhooks_send processes (1)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
                        help=f"PostgreSQL database of the API part (default {DEFAULT_DB})")  # fmt: skip
    parser.add_argument("--webhooks-database-url", default="",
                        help="the webhook part's database (default: bench/webhooks.py's temporary SQLite)")  # fmt: skip
    return parser.parse_args()


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(args: argparse.Namespace) -> None:
    from cryptography.fernet import Fernet

    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    # DEBUG off (DEBUG records every query); the server process gets the same keys and database.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("POSTWRIGHT_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    os.environ.setdefault("ALLOW_PRIVATE_NETWORK_URLS", "true")
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["BENCH_RUN_ID"] = uuid.uuid4().hex[:8]
    if args.database_url.startswith("postgres"):
        ensure_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed():
    """A fresh workspace (an earlier run's is deleted) with one account and a read-write key."""
    from accounts.actors import Actor
    from accounts.models import Membership, Plan, User, Workspace
    from accounts.services import workspace_create
    from api.keys import api_key_create
    from connections.models import SocialAccount
    from publishing.models import Post, Target

    old = Workspace.objects.filter(memberships__user__email=EMAIL)
    Target.objects.filter(workspace__in=old).delete()
    Post.objects.filter(workspace__in=old).delete()
    old.delete()
    User.objects.filter(email=EMAIL).delete()
    user = User.objects.create_user(email=EMAIL, password=None)
    workspace = workspace_create(owner=user, name="bench-api")
    workspace.plan, _ = Plan.objects.get_or_create(name="Bench (no limits)")
    workspace.save(update_fields=["plan"])
    account = SocialAccount.objects.create(
        workspace=workspace, platform="benchnet", external_id="bench", username="@bench", secrets={"access_token": "x"}
    )
    owner = Membership.objects.get(workspace=workspace, user=user)
    key, token = api_key_create(actor=Actor.of(owner), name="bench", scope="read_write")
    return account, key, token


def body(account_id: int, run: str, i: int) -> dict:
    from datetime import UTC, datetime, timedelta

    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=365)
    return {
        "containers": [{"text": f"bench {run} post {i}"}, {"text": "first comment"}, {"text": "1/ a reply"}],
        "accounts": [account_id], "scheduled_at": at.isoformat(), "tenant_id": "bench", "external_ref": f"{run}-{i}",
    }  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workers: int) -> tuple[subprocess.Popen, str]:
    import requests

    port = free_port()
    argv = [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    server = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, "LOG_LEVEL": "WARNING"}, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/healthz", timeout=10)  # any answer (503 without a worker) will do
            return server, url
        except requests.RequestException:
            time.sleep(0.2)
    server.kill()
    sys.exit("gunicorn did not answer within 60 s")


def through_api(url: str, token: str, account_id: int, n: int, clients: int) -> tuple[list[float], float, int]:
    """Latencies (s) of the successful creations, the wall time, and how many did not answer 201."""
    import requests

    run, local = uuid.uuid4().hex[:6], threading.local()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def create(i: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"{run}-{i}"}
        started = time.perf_counter()
        response = session.post(f"{url}/api/v1/posts", json=body(account_id, run, i), headers=headers, timeout=60)
        took = time.perf_counter() - started
        with lock:
            if response.status_code == 201:
                latencies.append(took)
            else:
                errors[0] += 1
                if errors[0] <= 3:
                    print(f"API answered {response.status_code}: {response.text[:300]}", file=sys.stderr)

    for i in range(clients):  # warm every worker's connections and imports outside the clock
        create(-1 - i)
    latencies.clear()
    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(create, range(n)))
    return latencies, time.perf_counter() - began, errors[0]


def direct(key, account_id: int, n: int, threads: int) -> float:
    """The same creations through the service, from as many threads: the wall time."""
    from django.db import connection

    from api.keys import api_key_actor
    from api.posts import PostCreateIn, _input
    from publishing.services import post_create

    actor, run = api_key_actor(key), uuid.uuid4().hex[:6]

    def create(i: int) -> None:
        try:
            post_input, _origin = _input(PostCreateIn(**body(account_id, run, i)))
            post_create(actor=actor, data=post_input)
        finally:
            connection.close()  # each thread has its own connection

    create(-1)
    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(create, range(n)))
    return time.perf_counter() - began


def webhooks(args: argparse.Namespace) -> dict:
    """bench/webhooks.py's figures, from its own run (its own database and sender processes)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG", "BENCH_RUN_ID")}
    if args.webhooks_database_url:
        env["DATABASE_URL"] = args.webhooks_database_url
    argv = [sys.executable, str(ROOT / "bench" / "webhooks.py"), "--events", str(args.events),
            "--rate", str(args.rate), "--senders", str(args.senders)]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"bench/webhooks.py failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


def main() -> None:
    args = parse_args()
    setup_django(args)
    account, key, token = seed()
    server, url = start_server(args.web_workers)
    try:
        latencies, api_wall, errors = through_api(url, token, account.id, args.posts, args.clients)
    finally:
        server.terminate()
        server.wait(timeout=30)
    direct_wall = direct(key, account.id, args.posts, args.clients)
    api_per_s = len(latencies) / api_wall
    direct_per_s = args.posts / direct_wall
    result: dict = {
        "posts": args.posts, "clients": args.clients, "web_workers": args.web_workers,
        "api_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "api_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "api_per_s": round(api_per_s, 1), "api_errors": errors,
        "direct_per_s": round(direct_per_s, 1), "ratio": round(api_per_s / direct_per_s, 2),
        "load_avg": round(os.getloadavg()[0], 1),
    }  # fmt: skip
    if args.events:
        result.update(webhooks(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
