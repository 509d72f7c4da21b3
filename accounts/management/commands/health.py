from django.core.management.base import BaseCommand, CommandError

from accounts.health import process_health


class Command(BaseCommand):
    help = (
        "Show whether the worker, the dispatcher and the webhook sender have been seen recently; "
        "exits 1 when one has not."
    )

    def handle(self, *args, **options) -> None:
        stale = []
        for process in process_health(grace=False):  # an operator asking wants the truth now
            seen = process.last_seen.isoformat(timespec="seconds") if process.last_seen else "never"
            state = self.style.SUCCESS("alive") if process.alive else self.style.ERROR("NOT SEEN")
            self.stdout.write(f"{process.name:<14} {state}  last seen: {seen}  {process.detail}")
            if not process.alive:
                stale.append(f"{process.name} ({process.command})")
        if stale:
            raise CommandError(f"not running: {', '.join(stale)}")
