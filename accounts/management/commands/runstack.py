"""Run the whole app on one machine: web server, task workers (text and media), dispatcher,
webhook sender and analytics sync.

The embedded default for a first run; production runs each process under its own supervisor.
A child that exits is started again after a growing pause, and the others keep running: a
web server that stopped with its worker could never show the "no background worker" warning.
"""

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

# Seconds to wait before each restart in a row; a child that then runs STABLE_AFTER seconds is
# considered healthy again and its next crash restarts quickly.
RESTART_DELAYS = (1, 2, 5, 10, 30, 60)
STABLE_AFTER = 60.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0


class Supervisor:
    """Starts children, notices exits, restarts with backoff. ``poll`` is one pass, for tests."""

    def __init__(self, commands: dict[str, list[str]], *, say: Callable[[str], None], cwd=None) -> None:
        self.children = [Child(name, argv) for name, argv in commands.items()]
        self.say = say
        self.cwd = cwd

    def start(self) -> None:
        for child in self.children:
            self._spawn(child, time.monotonic())

    def _spawn(self, child: Child, now: float) -> None:
        child.process = subprocess.Popen(child.argv, cwd=self.cwd)
        child.started, child.restart_at = now, None

    def poll(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                if now - child.started >= STABLE_AFTER:
                    child.failures = 0
                delay = RESTART_DELAYS[min(child.failures, len(RESTART_DELAYS) - 1)]
                child.failures += 1
                self.say(
                    f"{child.name} exited with code {child.process.returncode}; restarting it in {delay} s "
                    f"(the other processes keep running)."
                )
                child.process, child.restart_at = None, now + delay
            elif child.process is None and child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._spawn(child, now)
                self.say(f"{child.name} restarted (restart {child.restarts}).")

    def stop(self) -> None:
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()


class Command(BaseCommand):
    help = "Start web, worker, dispatcher, webhook sender and analytics sync in the foreground; Ctrl-C stops them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Interface to bind (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port for the web server (default 8000).")
        parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes (default 2).")

    def handle(self, *args, host: str, port: int, web_workers: int, **options) -> None:
        python = sys.executable
        commands = {
            "web": [
                python, "-m", "gunicorn", "config.wsgi:application",
                "--bind", f"{host}:{port}", "--workers", str(web_workers),
                "--access-logfile", "-", "--graceful-timeout", "10",
                "--logger-class", "config.gunicorn_logging.QuietStaticLogger",
            ],
            "worker": [python, "manage.py", "qcluster"],
            "dispatcher": [python, "manage.py", "dispatch"],
            "webhooks": [python, "manage.py", "webhooks_send"],
            "analytics": [python, "manage.py", "analytics_sync"],
        }  # fmt: skip
        if settings.PUBLISH_MEDIA_CLUSTER:
            # Video uploads and other long media work: its own workers, so text posts never wait.
            commands["media-worker"] = ["env", f"Q_CLUSTER_NAME={settings.PUBLISH_MEDIA_CLUSTER}", python,
                                        "manage.py", "qcluster"]  # fmt: skip
        supervisor = Supervisor(commands, say=lambda text: self.stderr.write(self.style.WARNING(text)),
                                cwd=settings.BASE_DIR)  # fmt: skip
        supervisor.start()
        self._announce(host, port, list(commands))

        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping:
            supervisor.poll()
            time.sleep(0.5)
        supervisor.stop()

    def _announce(self, host: str, port: int, names: list[str]) -> None:
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"  # noqa: S104
        self.stdout.write(self.style.SUCCESS(f"\nPostwright is running ({', '.join(names)}): open {url}"))
        self.stdout.write("  Sign up there; the verification link is printed in this terminal (console email).")
        self.stdout.write("  Admin user, from any terminal in this folder: make superuser")
        self.stdout.write("  Stop everything with Ctrl-C.\n")
