"""Playwright drives Debian's Chromium (Playwright's own browser download is not available here)."""

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; `make test` installs it from Debian")
        pytest.skip("chromium is not installed (make test installs it)")
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@pytest.fixture
def shot(page, request):
    """Save a screenshot as a test artifact: shot("step-name")."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> None:
        page.screenshot(path=ARTIFACTS / f"{request.node.name}-{name}.png", full_page=True)

    return take


@pytest.fixture(autouse=True)
def _no_csp_violations(page):
    """Every journey runs under the real Content-Security-Policy; anything it blocks fails the test."""
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    yield
    assert blocked == [], blocked


@pytest.fixture(autouse=True)
def _short_timeouts(page):
    # A journey step that has not happened in 10 s is broken; failing fast keeps CI readable.
    page.set_default_timeout(10_000)


@pytest.fixture
def dispatcher():
    """The dispatcher's loop in a thread of the test process (tasks run inline in tests), so
    scheduled posts go out while the browser watches. Real processes are tested elsewhere."""
    import threading

    from django.db import OperationalError, connection

    from publishing import engine

    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.is_set():
                try:
                    engine.targets_recover_stale()
                    engine.targets_claim_due()
                    engine.targets_claim_reconcile()
                except OperationalError as exc:
                    # The live server and this thread share one in-memory SQLite, where a write
                    # that meets another's transaction fails at once ("table is locked") instead
                    # of waiting as a file database does; the real dispatcher runs again anyway.
                    if "locked" not in str(exc):
                        raise
                stop.wait(0.2)
        finally:
            connection.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


@pytest.fixture
def signed_in(live_server, page):
    """An owner of a workspace, signed in through the login form."""
    from accounts.services import workspace_create
    from tests.fixtures import PASSWORD, make_user

    owner = make_user("owner@example.com")
    workspace_create(owner=owner, name="Acme", timezone_name="Europe/Paris")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    return owner
