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
def _short_timeouts(page):
    # A journey step that has not happened in 10 s is broken; failing fast keeps CI readable.
    page.set_default_timeout(10_000)
