"""Session-wide peer servers for pytest.

Import the fixture into a test module (``from tests.peers.fixtures import pds_server``) or list
``tests.peers.fixtures`` in ``pytest_plugins``. With ``CI`` set (true/1/yes) a peer that cannot
start fails the tests that need it; locally, only a machine without Node.js/npm skips them, any
other failure (install, start) fails as it would in CI. mastodon-mock needs only Python and bash,
so it is never skipped.
"""

import os
from collections.abc import Iterator

import pytest

from tests.peers.servers import (
    MastodonPeer,
    NodeMissing,
    OidcPeer,
    PdsPeer,
    PeerUnavailable,
    start_mastodon,
    start_oidc,
    start_pds,
)

# Every callback URL a test may send to the authorization server; it must know them in advance.
OIDC_REDIRECT_URIS = [
    "http://127.0.0.1:8000/connections/callback/oauth2-peer/",
    "http://127.0.0.1:8000/connections/callback/oauth2-test/",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _start(starter, **kwargs):
    try:
        return starter(**kwargs)
    except NodeMissing as exc:
        if in_ci():
            pytest.fail(f"CI must run the peer tests, but: {exc}", pytrace=False)
        pytest.skip(f"peer server needs Node.js 20+ and npm: {exc}")
    except PeerUnavailable as exc:
        pytest.fail(f"peer server could not start: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def pds_server() -> Iterator[PdsPeer]:
    """A Bluesky PDS (with its PLC directory): ``.url``, ``.plc_url``, ``.admin_password``."""
    peer = _start(start_pds)
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def oidc_server() -> Iterator[OidcPeer]:
    """oidc-provider: ``.url``, ``.client_id``, ``.client_secret``, ``.redirect_uris``, ``.*_endpoint``."""
    peer = _start(start_oidc, redirect_uris=OIDC_REDIRECT_URIS)
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def mastodon_server() -> Iterator[MastodonPeer]:
    """mastodon-mock, once per session: ``.url``, ``.reset()``, ``.create_user(...)``. Tests that
    share it reset it first (about 80 ms) rather than start their own (about 2 s)."""
    peer = _start(start_mastodon)
    yield peer
    peer.stop()
