from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Workspace
from analytics import rollup
from analytics.models import PartMetrics, RollupState


class Command(BaseCommand):
    help = (
        "The Analytics page's day cells (one per account and day, in the workspace's zone): "
        "--rebuild recomputes them from the latest numbers of every part; --check only compares. "
        "Each workspace is rebuilt in one transaction, while syncs of it wait."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--rebuild", action="store_true", help="recompute the cells from PartMetrics")
        action.add_argument("--check", action="store_true", help="report cells that differ from a recomputation")
        parser.add_argument("--workspace", type=int, metavar="ID", help="only this workspace (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = self._workspaces(options["workspace"])
        if options["check"]:
            self._check(ids)
            return
        total = 0
        for n, workspace_id in enumerate(ids, start=1):
            made = rollup.rebuild(workspace_id, report=self.stdout.write)
            total += made
            self.stdout.write(f"[{n}/{len(ids)}] workspace {workspace_id}: {made} day cells")
        self.stdout.write(self.style.SUCCESS(f"Rebuilt {len(ids)} workspace(s), {total} day cells"))

    def _workspaces(self, chosen: int | None) -> list[int]:
        if chosen is not None:
            if not Workspace.objects.filter(pk=chosen).exists():
                raise CommandError(f"No workspace with id {chosen}.")
            return [chosen]
        # Those with numbers, and those built before (their cells may need emptying).
        having = set(PartMetrics.objects.order_by().values_list("workspace_id", flat=True).distinct())
        having |= set(RollupState.objects.values_list("workspace_id", flat=True))
        return sorted(having)

    def _check(self, ids: list[int]) -> None:
        wrong = 0
        for workspace_id in ids:
            problems = rollup.differences(workspace_id)
            wrong += bool(problems)
            for line in problems[:20]:
                self.stdout.write(f"workspace {workspace_id}: {line}")
            if len(problems) > 20:
                self.stdout.write(f"workspace {workspace_id}: ... and {len(problems) - 20} more")
        if wrong:
            raise CommandError(f"{wrong} of {len(ids)} workspace(s) differ; run --rebuild.")
        self.stdout.write(self.style.SUCCESS(f"{len(ids)} workspace(s) agree with a recomputation"))
