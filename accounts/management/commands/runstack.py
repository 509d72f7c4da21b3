"""Run the whole app on one machine: web server, task worker and dispatcher.

The embedded default for a first run; production runs each process under its own supervisor.
"""

import signal
import subprocess
import sys
import time
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Start web, worker and dispatcher together in the foreground; Ctrl-C stops them all."

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
            ],
            "worker": [python, "manage.py", "qcluster"],
            "dispatcher": [python, "manage.py", "dispatch"],
        }  # fmt: skip
        children = {name: subprocess.Popen(argv, cwd=settings.BASE_DIR) for name, argv in commands.items()}
        self._announce(host, port, list(children))

        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(self.style.ERROR(f"{name} exited with {child.returncode}; stopping the rest."))
                    exit_code = child.returncode or 1
                    stopping = True
            time.sleep(0.5)
        self._stop_all(children)
        sys.exit(exit_code)

    def _announce(self, host: str, port: int, names: list[str]) -> None:
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"  # noqa: S104
        self.stdout.write(self.style.SUCCESS(f"\nPostwright is running ({', '.join(names)}): open {url}"))
        self.stdout.write("  Sign up there; the verification link is printed in this terminal (console email).")
        self.stdout.write("  Admin user: .venv/bin/python manage.py createsuperuser, then open /admin/.")
        self.stdout.write("  Stop everything with Ctrl-C.\n")

    def _stop_all(self, children: dict[str, subprocess.Popen]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
