"""The analytics sync loop: creates sync rows for what was published, then reads due numbers.

Started by ``manage.py runstack`` (so ``make run`` syncs with no setup); run as many as you
like, on as many hosts: claims are safe under concurrency. ``--once`` runs one full round
(housekeeping, then passes until nothing is due) and prints its progress.
"""

import logging
import os
import signal
import time
from types import FrameType

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections, connection, reset_queries

from analytics import sync

log = logging.getLogger(__name__)
HOUSEKEEPING_EVERY = 30.0  # seconds between looks for new posts, accounts and reconnections


class Command(BaseCommand):
    help = "Fetch post and account metrics on their schedule, continuously (Ctrl-C or SIGTERM stops it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=500, help="Sync rows claimed per pass (default 500).")
        parser.add_argument("--concurrency", type=int, default=8, help="Accounts read at once (default 8).")
        parser.add_argument("--max-sleep", type=float, default=5.0, help="Longest pause between passes, seconds.")
        parser.add_argument("--once", action="store_true", help="Run one round until nothing is due, then exit.")
        parser.add_argument(
            "--nice", type=int, default=10,
            help="Lower this process's CPU priority by this much (default 10): a post that falls due "
            "must never wait for a metrics sync to get the CPU; 0 leaves it as it is.",
        )  # fmt: skip
        parser.add_argument(
            "--backfill", action="store_true", help="First give every published post without a sync row one."
        )

    def handle(self, *args: str, batch: int, concurrency: int, max_sleep: float, once: bool, backfill: bool,
               nice: int, **options: object) -> None:  # fmt: skip
        self.running = True
        if nice > 0 and not once:
            os.nice(nice)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        if backfill:
            self.stdout.write(f"backfill: {sync.part_syncs_backfill()} published part(s) given a sync row")
        self.stdout.write(f"analytics sync started (batch {batch}, concurrency {concurrency})")
        last_housekeeping = float("-inf")
        while self.running:
            try:
                if not connection.in_atomic_block:
                    close_old_connections()
                reset_queries()
                if time.monotonic() - last_housekeeping >= HOUSEKEEPING_EVERY:
                    done = sync.housekeeping()
                    if any(done.values()):
                        self.stdout.write(f"housekeeping: {done}")
                    last_housekeeping = time.monotonic()
                result = sync.syncs_run(limit=batch, concurrency=concurrency)
            except DatabaseError:
                log.exception("analytics pass failed; retrying in a second")
                close_old_connections()
                time.sleep(1)
                continue
            if result.claimed:
                self.stdout.write(self._progress(result))
            if once and (result.claimed == 0 or result.claimed == result.deferred):
                break  # nothing due, or all of it waiting for budget: the next run takes it
            worked = result.claimed - result.deferred
            if result.claimed < batch or not worked:  # a full batch all deferred: wait for the budget
                time.sleep(max(0.05, sync.next_due_in(horizon=max_sleep)))
        self.stdout.write("analytics sync stopped")

    def _progress(self, result: sync.SyncResult) -> str:
        line = (
            f"claimed {result.claimed}: {result.synced} synced ({result.snapshots} changed), "
            f"{result.not_yet} not counted yet, {result.failed} failed, {result.deferred} deferred, "
            f"{result.calls} call(s), {result.rate_limited} rate-limited"
        )
        for account_id, reason in result.errors.items():
            line += f"\n  account {account_id}: {reason}"
        return line

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.running = False
