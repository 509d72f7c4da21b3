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


def heartbeat_record(name: str) -> None:
    detail = f"{socket.gethostname()} pid {os.getpid()}"
    Heartbeat.objects.update_or_create(name=name, defaults={"last_seen": timezone.now(), "detail": detail})


@dataclass(frozen=True)
class ProcessHealth:
    name: str
    last_seen: datetime | None
    detail: str

    @property
    def alive(self) -> bool:
        limit = timedelta(seconds=settings.WORKER_STALE_AFTER_SECONDS)
        return self.last_seen is not None and timezone.now() - self.last_seen < limit


def process_health(names: tuple[str, ...] = (WORKER, DISPATCHER)) -> list[ProcessHealth]:
    seen = {beat.name: beat for beat in Heartbeat.objects.filter(name__in=names)}
    return [
        ProcessHealth(name, seen[name].last_seen, seen[name].detail) if name in seen else ProcessHealth(name, None, "")
        for name in names
    ]
