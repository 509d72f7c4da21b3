"""Signs of life from background processes.

Users of comparable products most often lose posts because no worker was running and nobody
noticed, so every page checks this and warns.
"""

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Heartbeat

WORKER = "worker"
DISPATCHER = "dispatcher"
WEBHOOK_SENDER = "webhook_sender"
PROCESSES = (WORKER, DISPATCHER, WEBHOOK_SENDER)
# What each process is called in warnings, the command that starts it, and what stops without it.
LABELS = {WORKER: "worker", DISPATCHER: "dispatcher", WEBHOOK_SENDER: "webhook sender"}
COMMANDS = {WORKER: "qcluster", DISPATCHER: "dispatch", WEBHOOK_SENDER: "webhooks_send"}
CONSEQUENCES = {
    WORKER: "Scheduled posts will not go out until one runs.",
    DISPATCHER: "Scheduled posts will not go out until one runs.",
    WEBHOOK_SENDER: "Webhook deliveries are not being sent until one runs (none is lost: they wait in the outbox).",
}
# When this web process started: processes started beside it (runstack, a compose file) get
# WORKER_START_GRACE_SECONDS to report before anyone is told they are missing.
WEB_STARTED_AT = timezone.now()


def heartbeat_record(name: str) -> None:
    detail = f"{socket.gethostname()} pid {os.getpid()}"
    Heartbeat.objects.update_or_create(name=name, defaults={"last_seen": timezone.now(), "detail": detail})


@dataclass(frozen=True)
class ProcessHealth:
    name: str
    last_seen: datetime | None
    detail: str
    starting: bool = False  # not seen yet, but the stack started moments ago

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)

    @property
    def command(self) -> str:
        return f"python manage.py {COMMANDS.get(self.name, self.name)}"

    @property
    def consequence(self) -> str:
        return CONSEQUENCES.get(self.name, "")

    @property
    def alive(self) -> bool:
        limit = timedelta(seconds=settings.WORKER_STALE_AFTER_SECONDS)
        return self.last_seen is not None and timezone.now() - self.last_seen < limit

    @property
    def missing(self) -> bool:
        """Worth an alarm: not alive, and past the start-up grace."""
        return not self.alive and not self.starting


def process_health(names: tuple[str, ...] = PROCESSES, *, grace: bool = True) -> list[ProcessHealth]:
    """Each process's last sign of life; ``grace=False`` ignores the start-up grace."""
    seen = {beat.name: beat for beat in Heartbeat.objects.filter(name__in=names)}
    limit = timedelta(seconds=settings.WORKER_START_GRACE_SECONDS)
    starting = grace and timezone.now() - WEB_STARTED_AT < limit
    return [
        ProcessHealth(name, seen[name].last_seen, seen[name].detail, starting)
        if name in seen
        else ProcessHealth(name, None, "", starting)
        for name in names
    ]
