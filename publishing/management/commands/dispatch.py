"""The dispatcher: hands due targets to workers the moment they fall due.

django-q2's own scheduler looks at its table about every 30 s, too coarse for posts that must go
out on the second, so this loop sleeps only until the next due time (at most --max-sleep).
Run as many as you like: claims are safe under concurrency.
"""

import logging
import signal
import time
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections, connection

from accounts.health import DISPATCHER, heartbeat_record
from analytics.imports import import_runs_claim_due
from publishing import engine
from publishing.rollup import posts_settle

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Claim due posts and enqueue them for the workers, continuously (Ctrl-C or SIGTERM stops it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=200, help="Targets claimed per pass (default 200).")
        parser.add_argument("--max-sleep", type=float, default=0.5, help="Longest pause between passes, seconds.")
        parser.add_argument(
            "--min-sleep", type=float, default=settings.PUBLISH_DISPATCH_MIN_SLEEP_SECONDS,
            help="Shortest pause between passes that claimed less than a full batch, seconds.",
        )  # fmt: skip
        parser.add_argument("--once", action="store_true", help="Run one pass and exit (for cron or debugging).")

    def handle(self, *args: str, batch: int, max_sleep: float, min_sleep: float, once: bool, **options: object) -> None:
        self.running = True
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        last_housekeeping = last_reconcile = 0.0
        self.stdout.write(f"dispatcher started (batch {batch}, max sleep {max_sleep}s)")
        while self.running:
            try:
                if not connection.in_atomic_block:  # inside a test's transaction there is nothing to recycle
                    close_old_connections()
                if time.monotonic() - last_housekeeping > 5:
                    recovered = engine.targets_recover_stale()
                    if any(recovered.values()):
                        self.stdout.write(f"recovered stale targets: {recovered}")
                    settled = posts_settle()
                    if settled:
                        self.stdout.write(f"rolled up {settled} post(s) whose worker stopped before it could")
                    resumed = import_runs_claim_due()  # imports waiting for their pace, or whose worker stopped
                    if resumed:
                        self.stdout.write(f"handed {len(resumed)} import(s) to the workers")
                    heartbeat_record(DISPATCHER)
                    last_housekeeping = time.monotonic()
                claimed = engine.targets_claim_due(limit=batch)
                reconciling = []
                if time.monotonic() - last_reconcile > 1:  # look-ups are never urgent to the millisecond
                    reconciling = engine.targets_claim_reconcile()
                    last_reconcile = time.monotonic()
                pause: float = 0
                if len(claimed) < batch:
                    # A pause of at least min_sleep gathers what falls due meanwhile into one claim
                    # and full task batches, instead of a pass (and a task) per target.
                    pause = max(min_sleep, engine.next_due_in(horizon=max_sleep))
            except DatabaseError:
                # A restarting or briefly locked database must not end the dispatcher.
                log.exception("dispatcher pass failed; retrying in a second")
                close_old_connections()
                time.sleep(1)
                continue
            except Exception:  # a broker that is down (enqueueing after commit), or a bug: keep going
                log.exception("dispatcher pass failed unexpectedly; retrying in a second")
                time.sleep(1)
                continue
            if claimed or reconciling:
                self.stdout.write(f"queued {len(claimed)} target(s), reconciling {len(reconciling)}")
            if once:
                break
            if pause:
                time.sleep(pause)
        self.stdout.write("dispatcher stopped")

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.running = False
