"""Import a connected account's existing posts now, in this process, printing each page."""

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from analytics.imports import import_queue, import_run
from analytics.models import ImportRun
from connections.models import SocialAccount

POLL_S = 2.0  # how often to look again while a worker holds the run


class Command(BaseCommand):
    help = (
        "Import a connected account's existing posts (newest first, up to ANALYTICS_IMPORT_MAX_POSTS and "
        "ANALYTICS_IMPORT_MAX_DAYS), resuming a run already under way. Paced like publishing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", type=int, required=True, help="The social account's id (see the admin).")

    def handle(self, *args: str, account: int, **options: object) -> None:
        found = SocialAccount.objects.filter(pk=account).first()
        if found is None:
            raise CommandError(f"No social account has the id {account}.")
        try:
            run = import_queue(account=found, enqueue=False)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"importing the posts of {found.username} ({found.get_platform_display()}), run {run.pk}")
        while run.live:
            import_run(run_id=run.pk, pages=1_000_000, on_page=self._progress)
            run.refresh_from_db()
            if run.live:
                self._wait(run)
        self._report(run)

    def _progress(self, run: ImportRun) -> None:
        self.stdout.write(f"page {run.pages}: {run.imported} imported, {run.skipped} already here")

    def _wait(self, run: ImportRun) -> None:
        """Paced, or held by a worker: sleep until it may go on (never a busy loop)."""
        seconds = POLL_S
        if run.status == ImportRun.Status.QUEUED and run.next_attempt_at:
            seconds = max(0.1, min(60.0, (run.next_attempt_at - timezone.now()).total_seconds()))
            self.stdout.write(f"waiting {seconds:.0f}s for the platform's pace")
        time.sleep(seconds)

    def _report(self, run: ImportRun) -> None:
        counts = f"{run.imported} imported, {run.skipped} already here, {run.pages} page(s)"
        summary = f"{run.get_status_display().lower()}: {counts}"
        if run.status == ImportRun.Status.COMPLETED:
            self.stdout.write(self.style.SUCCESS(summary))
        else:
            raise CommandError(f"{summary}. {run.error}".strip())
