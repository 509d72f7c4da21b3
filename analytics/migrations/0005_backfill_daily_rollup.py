"""Build the day cells of every workspace that has numbers already, in its zone.

Uses the migration's own models and analytics.rollup.account_cells (rows of the queryset it is given in, cells out), so later
changes to the models do not break it. Running it again gives the same cells."""

from zoneinfo import ZoneInfo

from django.db import migrations
from django.utils import timezone

from analytics.rollup import account_cells


def backfill(apps, schema_editor):
    Workspace = apps.get_model("accounts", "Workspace")
    PartMetrics = apps.get_model("analytics", "PartMetrics")
    DailyRollup = apps.get_model("analytics", "DailyRollup")
    RollupState = apps.get_model("analytics", "RollupState")
    workspaces = PartMetrics.objects.order_by().values_list("workspace_id", flat=True).distinct()
    for workspace in Workspace.objects.filter(pk__in=workspaces).only("id", "timezone"):
        zone = ZoneInfo(workspace.timezone)
        DailyRollup.objects.filter(workspace_id=workspace.pk).delete()
        accounts = PartMetrics.objects.filter(workspace_id=workspace.pk).order_by().values_list("account_id", flat=True)
        for account in sorted(set(accounts)):
            parts = PartMetrics.objects.filter(workspace_id=workspace.pk, account_id=account)
            cells = [
                DailyRollup(workspace_id=workspace.pk, account_id=a, day=d, **cell.values())
                for (a, d), cell in account_cells(parts, zone).items()
            ]
            DailyRollup.objects.bulk_create(cells, batch_size=1000)
        RollupState.objects.update_or_create(
            workspace_id=workspace.pk, defaults={"zone": zone.key, "built_at": timezone.now()}
        )


class Migration(migrations.Migration):
    dependencies = [("analytics", "0004_daily_rollup_and_top_post_indexes")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
