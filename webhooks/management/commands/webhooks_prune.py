from django.conf import settings
from django.core.management.base import BaseCommand

from webhooks.services import deliveries_prune


class Command(BaseCommand):
    help = "Delete finished webhook delivery logs older than WEBHOOK_DELIVERY_RETENTION_DAYS (default 30)."

    def handle(self, *args, **options) -> None:
        deleted = deliveries_prune()
        days = settings.WEBHOOK_DELIVERY_RETENTION_DAYS
        self.stdout.write(f"deleted {deleted} webhook delivery log(s) older than {days} days")
