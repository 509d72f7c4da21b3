#!/usr/bin/env python
"""Webhook benchmark: N events through the outbox to a local receiver, by real sender processes.

Starts a threaded HTTP receiver on loopback that verifies every delivery with the standardwebhooks
package, starts --senders ``manage.py webhooks_send`` processes, then writes N post.published
events at --rate per second (in small transactions, as transitions do). It waits until every
event arrived or --timeout passed. The last line printed is one JSON object:
{"webhooks_delivered", "webhooks_lost", "webhooks_duplicated", "webhooks_bad_signatures",
 "webhook_p50_s", "webhook_p99_s", "webhooks_per_s", ...}.

    .venv/bin/python bench/webhooks.py --events 10000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postwright_hooks .venv/bin/python bench/webhooks.py --senders 2
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000, help="events to deliver (default 10000)")
    parser.add_argument("--rate", type=float, default=400, help="events written per second (default 400)")
    parser.add_argument("--senders", type=int, default=1, help="webhooks_send processes (default 1)")
    parser.add_argument("--concurrency", type=int, default=8, help="attempts in flight per sender (default 8)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the last delivery")
    return parser.parse_args()


def setup_django(database_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{database_dir}/webhooks.sqlite3")
    os.environ.setdefault("POSTWRIGHT_LOCAL_DIR", database_dir)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


class Inbox:
    def __init__(self, secret: str) -> None:
        from standardwebhooks import Webhook

        self.verifier = Webhook(secret)
        self.first_seen: dict[str, float] = {}
        self.received = 0
        self.bad = 0
        self.lock = threading.Lock()

    def take(self, body: bytes, headers: dict[str, str]) -> None:
        now = time.time()
        try:
            self.verifier.verify(body, headers)
        except Exception:
            with self.lock:
                self.bad += 1
            return
        with self.lock:
            self.received += 1
            self.first_seen.setdefault(headers["webhook-id"], now)


def start_receiver(inbox: Inbox) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            inbox.take(body, {k.lower(): v for k, v in self.headers.items()})
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def seed(receiver_url: str):
    from accounts.models import User
    from accounts.services import workspace_create
    from webhooks.services import endpoint_create

    owner = User.objects.create_user(email="bench@example.com", password="bench-password-123")  # noqa: S106
    workspace = workspace_create(owner=owner, name="Bench")
    from accounts.models import Membership

    _endpoint, secret = endpoint_create(actor=Membership.objects.get(user=owner), url=receiver_url)
    return workspace, secret


def write_events(workspace, n: int, rate: float) -> dict[str, float]:
    """Write n events in transactions of 20 at about ``rate`` per second; returns id -> commit time."""
    from django.db import transaction

    from events.models import Event
    from events.services import EventSpec, events_emit

    written: dict[str, float] = {}
    batch, started = 20, time.monotonic()
    for start in range(0, n, batch):
        count = min(batch, n - start)
        with transaction.atomic():
            specs = [
                EventSpec(workspace_id=workspace.pk, type="post.published", subject_type="post", subject_id=i,
                          post_id=i, payload={"post_id": i, "status": "published"})
                for i in range(start, start + count)
            ]  # fmt: skip
            events_emit(specs)
            first_seq = Event.objects.order_by("-seq").values_list("seq", flat=True)[count - 1]
            ids = list(Event.objects.filter(seq__gte=first_seq).values_list("public_id", flat=True))
        committed = time.time()
        for public_id in ids:
            written.setdefault(public_id, committed)
        pause = started + (start + count) / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    return written


def wait_until_sending(senders: list[subprocess.Popen], timeout: float = 120) -> None:
    """Until every sender has reported its first heartbeat (it records one just before its first
    pass): events written while a sender still starts up (seconds, on a loaded machine) would
    measure its start-up, not its delivery."""
    from accounts.health import WEBHOOK_SENDER
    from accounts.models import Heartbeat

    waiting, deadline = {f"pid {p.pid}" for p in senders}, time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        detail = Heartbeat.objects.filter(name=WEBHOOK_SENDER).values_list("detail", flat=True).first() or ""
        waiting = {pid for pid in waiting if not detail.endswith(pid)}
        if any(p.poll() is not None for p in senders):
            sys.exit("a webhook sender exited while starting")
        time.sleep(0.05)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="pw-hooks-") as tmp:
        setup_django(tmp)
        inbox_holder: dict[str, Inbox] = {}

        class Proxy:
            def take(self, body, headers):
                inbox_holder["inbox"].take(body, headers)

        server = start_receiver(Proxy())  # type: ignore[arg-type]
        host, port = server.server_address[:2]
        workspace, secret = seed(f"http://{host}:{port}/hooks")
        inbox = inbox_holder["inbox"] = Inbox(secret)
        env = {**os.environ, "LOG_LEVEL": "WARNING"}
        senders = [
            subprocess.Popen(
                [sys.executable, "manage.py", "webhooks_send", "--concurrency", str(args.concurrency)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            )
            for _ in range(args.senders)
        ]  # fmt: skip
        try:
            wait_until_sending(senders)
            began = time.time()
            written = write_events(workspace, args.events, args.rate)
            wrote_for = time.time() - began
            deadline = time.monotonic() + args.timeout
            while len(inbox.first_seen) < len(written) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)  # let stragglers (duplicates) land
        finally:
            for process in senders:
                process.send_signal(signal.SIGTERM)
            for process in senders:
                process.wait(timeout=30)
        server.shutdown()
        delivered = [i for i in written if i in inbox.first_seen]
        latencies = [inbox.first_seen[i] - written[i] for i in delivered]
        last = max(inbox.first_seen.values(), default=began)
        result = {
            "events": len(written),
            "senders": args.senders,
            "write_rate_per_s": round(len(written) / wrote_for, 1),
            "webhooks_delivered": len(delivered),
            "webhooks_lost": len(written) - len(delivered),
            "webhooks_duplicated": inbox.received - len(inbox.first_seen),
            "webhooks_bad_signatures": inbox.bad,
            "webhook_p50_s": round(percentile(latencies, 50), 3),
            "webhook_p99_s": round(percentile(latencies, 99), 3),
            "webhook_max_s": round(max(latencies, default=0), 3),
            "webhooks_per_s": round(len(delivered) / max(0.001, last - began), 1),
            "database": os.environ["DATABASE_URL"].split(":", 1)[0],
        }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
