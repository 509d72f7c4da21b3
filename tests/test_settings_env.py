"""Settings come from the environment and fail loudly, naming the variable."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import EnvError, env_bool, env_int, env_list, env_str, env_url

ROOT = Path(__file__).resolve().parent.parent


def test_bool_accepts_true_false_and_rejects_anything_else(monkeypatch):
    monkeypatch.setenv("FLAG", "TRUE")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", True) is False
    monkeypatch.setenv("FLAG", "ture")
    with pytest.raises(EnvError, match="FLAG must be true or false"):
        env_bool("FLAG", False)


def test_int_url_and_list_parsing(monkeypatch):
    monkeypatch.setenv("N", "12x")
    with pytest.raises(EnvError, match="N must be a whole number"):
        env_int("N", 1)
    monkeypatch.setenv("N", "-1")
    with pytest.raises(EnvError, match="N must be at least 0"):
        env_int("N", 1, minimum=0)
    monkeypatch.setenv("U", "example.com")
    with pytest.raises(EnvError, match="U must be an absolute"):
        env_url("U", None)
    monkeypatch.setenv("U", "https://example.com/")
    assert env_url("U", None) == "https://example.com"
    monkeypatch.setenv("L", " a, ,b ")
    assert env_list("L", []) == ["a", "b"]


def test_file_variant_reads_secret_from_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    monkeypatch.setenv("THING_FILE", str(secret_file))
    assert env_str("THING") == "from-a-file"
    monkeypatch.setenv("THING_FILE", str(tmp_path / "missing"))
    with pytest.raises(EnvError, match="THING_FILE: cannot read"):
        env_str("THING")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    dropped = ("DEBUG", "SECRET_KEY", "POSTWRIGHT_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE")
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    base["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, check=False
    )


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = _manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_malformed_variable_is_named_at_startup():
    result = _manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false, not 'maybe'" in result.stderr


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(60),
        SITE_URL="https://postwright.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        POSTWRIGHT_LOCAL_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_s3_storage_needs_its_library(tmp_path):
    # The test extra installs django-storages; a package of the same name that fails to import
    # stands in for an install without the s3 extra.
    (tmp_path / "hide" / "storages").mkdir(parents=True)
    (tmp_path / "hide" / "storages" / "__init__.py").write_text("raise ImportError('not installed')\n")
    result = _manage(
        "check", DEBUG="true", S3_BUCKET="media", POSTWRIGHT_LOCAL_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", PYTHONPATH=str(tmp_path / "hide"),
    )  # fmt: skip
    assert result.returncode != 0
    assert "S3_BUCKET is set but django-storages is missing" in result.stderr


def test_s3_needs_chunks_of_at_least_5_mib(tmp_path):
    env = {"DEBUG": "true", "S3_BUCKET": "media", "POSTWRIGHT_LOCAL_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}  # fmt: skip
    refused = _manage("check", MEDIA_UPLOAD_CHUNK_BYTES=str(4 * 1024 * 1024), **env)
    assert refused.returncode != 0
    assert "MEDIA_UPLOAD_CHUNK_BYTES must be at least 5242880 (5 MiB) when S3_BUCKET is set" in refused.stderr
    assert _manage("check", **env).returncode == 0, "the default 8 MiB chunk is fine"


def _shell(code: str, **env: str) -> str:
    result = _manage("shell", "--no-imports", "-c", code, DEBUG="true", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_usage_hold_one_process_learns_stops_another(tmp_path):
    """Meta's usage holds (like X's windows) are read by every worker: without Redis the cache is
    files every process on the machine shares, not one memory per process."""
    local = {"POSTWRIGHT_LOCAL_DIR": str(tmp_path), "REDIS_URL": "", "CACHE_URL": ""}
    learn = (
        "from django.core.cache import cache; "
        "cache.set('meta-usage:app', {'until': 9e12, 'percent': 97.0}, timeout=600)"
    )
    _shell(learn, **local)
    read = "from connections.providers.meta.graph import usage_hold; print(usage_hold([])[1])"
    assert _shell(read, **local) == "97.0"
    assert _shell("from django.conf import settings; print(settings.CACHES['default']['BACKEND'])", **local).endswith(
        "FileBasedCache"
    )


def test_redis_is_the_shared_cache_when_configured(tmp_path):
    code = "from django.conf import settings; c = settings.CACHES['default']; print(c['BACKEND'], c['LOCATION'])"
    out = _shell(code, POSTWRIGHT_LOCAL_DIR=str(tmp_path), REDIS_URL="redis://127.0.0.1:6379/3", CACHE_URL="")
    assert out == "django.core.cache.backends.redis.RedisCache redis://127.0.0.1:6379/3"
