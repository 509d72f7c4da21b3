"""Suite-wide guards and fixtures.

Outgoing network access is blocked twice: ``responses`` intercepts every ``requests`` call
(unmocked ones fail), and a socket guard refuses connections to anything but loopback, so no
other client can slip out either. Real peers run on loopback, which both guards allow.
"""

import ipaddress
import os
import re
import socket

import pytest
import responses

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API beside live_server

pytest_plugins = ["tests.fixtures"]

LOOPBACK_URL = re.compile(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkBlocked(RuntimeError):
    pass


def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):
        return True  # AF_UNIX paths (PostgreSQL's socket)
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded(real):
    def connect(self, address):
        if not _is_loopback(address):
            raise NetworkBlocked(f"test tried to reach {address!r}; mock it with responses")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True, scope="session")
def _block_sockets():
    socket.socket.connect = _guarded(_real_connect)
    socket.socket.connect_ex = _guarded(_real_connect_ex)
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


@pytest.fixture(autouse=True)
def _example_platform(settings):
    """A generic OAuth 2.0 platform, registered for tests only (see tests/connections/example_provider.py)."""
    settings.EXTRA_CONNECTION_PROVIDERS = {
        "oauth2-test": ("Example OAuth", "tests.connections.example_provider.ExampleOAuthProvider"),
        "oauth2-test-pages": ("Example Pages", "tests.connections.example_provider.ExamplePagesProvider"),
    }
    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "oauth2-test": ("client-123", "secret-456")}


@pytest.fixture(autouse=True)
def _mock_http():
    """Every test runs inside responses' default mock: ``responses.add(...)`` works directly."""
    responses.start()
    responses.add_passthru(LOOPBACK_URL)
    yield responses
    responses.stop()
    responses.reset()


@pytest.fixture
def seeded_plans(db):
    """The plans the seed migration makes. On PostgreSQL a transactional test (browser, real
    processes) flushes every table, seed rows included, for the tests that run after it."""
    from importlib import import_module

    from django.apps import apps

    import_module("accounts.migrations.0006_seed_plans").seed(apps, None)
