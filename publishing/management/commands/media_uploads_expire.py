from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from publishing.uploads import uploads_expire


class Command(BaseCommand):
    help = "Delete chunked uploads (and their part files) that received nothing for a while."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hours", type=int, default=settings.MEDIA_UPLOAD_EXPIRE_HOURS,
            help="Idle for this long counts as abandoned (default: MEDIA_UPLOAD_EXPIRE_HOURS).",
        )  # fmt: skip

    def handle(self, *args: str, hours: int, **options: object) -> None:
        removed = uploads_expire(older_than=timedelta(hours=max(1, hours)))
        self.stdout.write(f"Removed {removed} abandoned upload(s).")
