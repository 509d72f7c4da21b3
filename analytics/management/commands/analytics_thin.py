from django.core.management.base import BaseCommand

from analytics.thinning import snapshots_thin


class Command(BaseCommand):
    help = (
        "Thin old metric snapshots: all kept for ANALYTICS_KEEP_ALL_DAYS, then one a day, and past "
        "ANALYTICS_KEEP_DAILY_DAYS one a week (the latest is never removed). Also part of `retention`."
    )

    def handle(self, *args: str, **options: object) -> None:
        removed = snapshots_thin(report=self.stdout.write)
        self.stdout.write(f"{removed} snapshot(s) thinned")
