"""The real processes: `manage.py dispatch` and `manage.py qcluster` publish a scheduled post."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.utils import timezone

from accounts.health import DISPATCHER
from accounts.models import Heartbeat
from connections import vault
from connections.providers.demo.models import DemoPost
from publishing.models import Post
from publishing.services import PartInput, PostInput, When, post_create

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="other processes cannot see an in-memory SQLite"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def shared_key(monkeypatch):
    """The test and the processes it starts must read the same encryption key."""
    monkeypatch.setenv("POSTWRIGHT_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    vault.reset_keys_cache()
    yield
    vault.reset_keys_cache()


def _process_env() -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if k not in ("POSTWRIGHT_TESTING", "REDIS_URL")}
    return {**env, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": url, "DEBUG": "true",
            "DEMO_LATENCY_MS": "0", "DEMO_FAILURE_PERCENT": "0", "LOG_LEVEL": "WARNING"}  # fmt: skip


def _tree(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout.split()
    return [pid] + [p for child in children for p in _tree(int(child))]


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM, then SIGKILL whatever is left: no worker may outlive the test."""
    trees = [_tree(process.pid) for process in processes]
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process, pids in zip(processes, trees, strict=True):
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_scheduled_post_goes_out_once(shared_key, team, demo_accounts):
    post = post_create(
        actor=team.membership("editor"),
        data=PostInput(
            parts=[PartInput(text="from the real stack")],
            account_ids=[a.id for a in demo_accounts],
            when=When.at(timezone.now() + timedelta(seconds=3)),
        ),
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    env = _process_env()
    processes = [
        subprocess.Popen([*manage, name], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for name in ("qcluster", "dispatch")
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            post.refresh_from_db()
            if post.status == Post.Status.PUBLISHED:  # the targets, then the roll-up
                break
            assert all(p.poll() is None for p in processes), processes[0].stderr.read().decode()[-2000:]
            time.sleep(0.3)
    finally:
        _stop(processes)
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert DemoPost.objects.count() == 2  # once per account, never twice
    assert Heartbeat.objects.filter(name=DISPATCHER).exists()
