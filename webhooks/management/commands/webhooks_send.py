"""The webhook sender loop: fans the event outbox out into deliveries and sends those due.

Run one or several (on one host or many): fan-out is idempotent and claims are safe under
concurrency. HTTP attempts run in a thread pool; the database is written from the main thread.
"""

import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections, connection, reset_queries

from accounts.health import WEBHOOK_SENDER, heartbeat_record
from webhooks import sender

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 5.0  # seconds; /healthz and the dashboard warn when the sender has gone quiet


class Command(BaseCommand):
    help = "Send signed webhooks from the event outbox, continuously (Ctrl-C or SIGTERM stops it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=100, help="Deliveries claimed per pass (default 100).")
        parser.add_argument("--concurrency", type=int, default=8, help="Attempts in flight at once (default 8).")
        parser.add_argument("--max-sleep", type=float, default=0.25, help="Longest pause between passes, seconds.")
        parser.add_argument("--once", action="store_true", help="Run one pass and exit (for cron or debugging).")

    def handle(self, *args, batch: int, concurrency: int, max_sleep: float, once: bool, **options) -> None:
        self.running = True
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.stdout.write(f"webhook sender started (batch {batch}, concurrency {concurrency})")
        last_beat = float("-inf")
        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="webhook") as pool:
            while self.running:
                try:
                    if not connection.in_atomic_block:  # inside a test's transaction there is nothing to recycle
                        close_old_connections()
                    reset_queries()  # DEBUG keeps every query in memory; a loop must not
                    if time.monotonic() - last_beat >= HEARTBEAT_EVERY:
                        heartbeat_record(WEBHOOK_SENDER)
                        last_beat = time.monotonic()
                    result = sender.sender_pass(batch=batch, pool=pool)
                    busy = result.sent >= batch or result.fanned_out > 0
                    pause = 0 if busy else sender.next_due_in(horizon=max_sleep)
                except DatabaseError:
                    # A restarting or briefly locked database must not end the sender.
                    log.exception("webhook sender pass failed; retrying in a second")
                    close_old_connections()
                    time.sleep(1)
                    continue
                if result.sent or result.fanned_out:
                    self.stdout.write(
                        f"queued {result.fanned_out}, sent {result.sent}: "
                        f"{result.succeeded} delivered, {result.failed} failed"
                    )
                if once:
                    break
                if pause:
                    time.sleep(max(0.02, pause))
        self.stdout.write("webhook sender stopped")

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.running = False
