"""Two web processes count one key's requests together: real processes, a real shared store."""

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COUNT = 40
SCRIPT = """
import sys, django
django.setup()
from django.db import connection
from api.models import RateCounter
from api import ratelimit
if sys.argv[1] == "create":
    with connection.schema_editor() as editor:
        editor.create_model(RateCounter)
    sys.exit(0)
for _ in range(int(sys.argv[2])):
    ratelimit.rate_count(key=sys.argv[1], now=6000.0)
"""


def _run(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, *args], cwd=ROOT, env=env)


def _env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "API_RATE_LIMIT_REDIS_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="config.test_settings", POSTWRIGHT_LOCAL_DIR=str(tmp_path),
               DATABASE_URL=f"sqlite:///{tmp_path / 'rate.sqlite3'}", **extra)  # fmt: skip
    return env


def test_two_processes_share_the_database_counter(tmp_path):
    env = _env(tmp_path)
    assert _run(env, "create").wait(timeout=60) == 0
    workers = [_run(env, "key1", str(COUNT)) for _ in range(2)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    with sqlite3.connect(tmp_path / "rate.sqlite3") as db:
        assert db.execute("SELECT count FROM api_ratecounter WHERE key = 'key1'").fetchone() == (2 * COUNT,)


@pytest.mark.skipif(not os.environ.get("REDIS_TEST_URL"), reason="REDIS_TEST_URL not set (CI sets it)")
def test_two_processes_share_the_redis_counter(tmp_path):
    import redis

    env = _env(tmp_path, API_RATE_LIMIT_REDIS_URL=os.environ["REDIS_TEST_URL"])
    key = f"procs-{uuid.uuid4().hex}"
    workers = [_run(env, key, str(COUNT)) for _ in range(2)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    client = redis.Redis.from_url(os.environ["REDIS_TEST_URL"])
    assert int(client.get(f"postwright:rl:{key}:100")) == 2 * COUNT
    client.delete(f"postwright:rl:{key}:100")
