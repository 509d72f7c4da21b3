"""What a new operator meets: settings that reach every terminal, a stack that survives a crash,
a readable console, emails that name the product, and Demo links that open."""

import os
import sys
from types import SimpleNamespace

import pytest
from django.core import mail
from django.urls import reverse
from gunicorn.glogging import Logger

from accounts.management.commands import runstack
from config.env import EnvError, env_file_load
from config.gunicorn_logging import QuietStaticLogger
from connections.providers.demo.models import DemoPost
from publishing import engine
from publishing.models import Post
from publishing.services import PartInput, PostInput, When, post_create
from tests.fixtures import PASSWORD
from tests.test_settings_env import _manage


def test_env_file_fills_in_but_never_overrides(tmp_path, monkeypatch):
    env = tmp_path / "env"
    env.write_text("# comment\n\nDEBUG=true\nLOG_LEVEL = WARNING\n")
    monkeypatch.delenv("DEBUG", raising=False)
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    env_file_load(env)
    assert os.environ["DEBUG"] == "true"
    assert os.environ["LOG_LEVEL"] == "ERROR"
    env_file_load(tmp_path / "missing")  # no file, no change
    env.write_text("just words\n")
    with pytest.raises(EnvError, match="line 1: expected NAME=value"):
        env_file_load(env)


def test_manage_py_from_another_terminal_reads_make_runs_settings(tmp_path):
    db = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    refused = _manage("check", POSTWRIGHT_LOCAL_DIR=str(tmp_path), DATABASE_URL=db)
    assert "SECRET_KEY must be set" in refused.stderr
    (tmp_path / "env").write_text("DEBUG=true\n")
    result = _manage("check", POSTWRIGHT_LOCAL_DIR=str(tmp_path), DATABASE_URL=db)
    assert result.returncode == 0, result.stderr


def _script(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_runstack_restarts_a_crashed_child_with_backoff_and_keeps_the_others(monkeypatch):
    said: list[str] = []
    supervisor = runstack.Supervisor(
        {"worker": _script("import sys; sys.exit(3)"), "web": _script("import time; time.sleep(30)")}, say=said.append
    )
    supervisor.start()
    try:
        worker, web = supervisor.children
        worker.process.wait(timeout=10)
        supervisor.poll(now=worker.started + 0.1)
        assert said == ["worker exited with code 3; restarting it in 1 s (the other processes keep running)."]
        assert web.process.poll() is None
        supervisor.poll(now=worker.started + 0.5)
        assert worker.process is None  # still waiting out the pause
        supervisor.poll(now=worker.started + 1.2)
        assert said[-1] == "worker restarted (restart 1)."
        worker.process.wait(timeout=10)
        supervisor.poll(now=worker.started + 0.1)
        assert "restarting it in 2 s" in said[-1]  # crashing again at once: a longer pause
        # After a long healthy run, a crash is restarted quickly again.
        supervisor.poll(now=worker.restart_at)
        worker.process.wait(timeout=10)
        supervisor.poll(now=worker.started + runstack.STABLE_AFTER + 1)
        assert "restarting it in 1 s" in said[-1]
    finally:
        supervisor.stop()
    assert web.process.poll() is not None


def test_static_file_requests_leave_the_access_log_alone(monkeypatch):
    logged = []
    monkeypatch.setattr(Logger, "access", lambda self, resp, req, environ, took: logged.append(environ["PATH_INFO"]))
    logger = QuietStaticLogger.__new__(QuietStaticLogger)  # no gunicorn config needed to filter
    for path, status in (("/static/css/app.css", 200), ("/static/missing.js", 404), ("/calendar/", 200)):
        logger.access(SimpleNamespace(status_code=status), None, {"PATH_INFO": path}, 0.01)
    assert logged == ["/static/missing.js", "/calendar/"]


def test_verification_email_names_postwright_not_the_host(client, db):
    client.post(reverse("account_signup"), {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD})
    body = mail.outbox[0].body
    assert "Hello from Postwright!" in body
    assert "127.0.0.1" not in body.split("\n")[0]
    assert "testserver" not in body.split("\n")[0]
    assert mail.outbox[0].subject.startswith("[Postwright] ")


def test_demo_links_open_the_post_and_the_profile(team, demo_accounts, django_capture_on_commit_callbacks):
    account = demo_accounts[0]
    parts = [PartInput(text="Hello demo"), *(PartInput(text=text, kind="reply") for text in ("second", "third"))]
    data = PostInput(parts=parts, account_ids=[account.id], when=When.now())
    post_create(actor=team.membership("editor"), data=data)
    with django_capture_on_commit_callbacks(execute=True):
        engine.targets_claim_due()  # tasks run inline in tests
    target = Post.objects.get().targets.get()
    assert target.status == "published", target.error_message
    client = team.client("viewer")
    path = target.url.split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Hello demo" in html
    assert html.index("second") < html.index("third")
    profile = client.get(account.profile_url.split("://", 1)[1].split("/", 1)[1].join(["/", "/"]))
    assert account.profile_url.endswith(f"/demo/{account.external_id}")
    assert profile.status_code == 200
    assert "Hello demo" in profile.content.decode()
    assert client.get(f"/demo/{account.external_id}/nope").status_code == 404
    # Another workspace's people do not see this workspace's Demo network pages.
    assert team.client("outsider").get(f"/{path}").status_code == 404
    assert DemoPost.objects.count() == 3
