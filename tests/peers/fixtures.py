"""Session-wide peer servers. In CI they must start; elsewhere a missing Node skips the tests."""

import os
from collections.abc import Iterator

import pytest

from tests.peers.servers import Peer, PeerUnavailable, start_oidc, start_pds

OIDC_REDIRECT_URIS = [
    "http://127.0.0.1:8000/connections/callback/oauth2-peer/",
    "http://127.0.0.1:8000/connections/callback/oauth2-test/",
]


def _start(starter, **kwargs) -> Peer:
    try:
        return starter(**kwargs)
    except PeerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"peer server unavailable in CI: {exc}")
        pytest.skip(f"peer server unavailable: {exc}")


@pytest.fixture(scope="session")
def pds_server() -> Iterator[Peer]:
    peer = _start(start_pds)
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def oidc_server() -> Iterator[Peer]:
    peer = _start(start_oidc, redirect_uris=OIDC_REDIRECT_URIS)
    yield peer
    peer.stop()
