from django.core.management.base import BaseCommand

from accounts.retention import retention_run


class Command(BaseCommand):
    help = "Remove what is past its retention age (audit log, webhook deliveries, notifications, uploads)."

    def handle(self, *args: str, **options: object) -> None:
        removed = retention_run(report=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"Done: {sum(removed.values())} removed in all."))
