"""Start the real peer servers (a Bluesky PDS, panva's oidc-provider, mastodon-mock) on 127.0.0.1.

Usable from tests and from plain scripts; standard library only::

    with start_pds() as pds:          # PdsPeer: .url, .plc_url, .admin_password
        ...
    with start_oidc(redirect_uris=["http://127.0.0.1:8000/cb/"]) as oidc:   # OidcPeer
        oidc.authorization_endpoint, oidc.token_endpoint, oidc.client_id, oidc.client_secret
    with start_mastodon() as mastodon:  # MastodonPeer: .url, .reset(), .create_user("alice")
        ...

Each start installs its part first if needed (``install.sh npm`` or ``install.sh mastodon``, into
``peers_dir()``) and picks free ports. The Node peers are ready when their launcher prints
``READY``; mastodon-mock (a Python server in its own virtual environment) when its instance
endpoint answers. ``stop()`` (or leaving the ``with`` block) sends SIGTERM and waits; peers still
running when Python exits are stopped too, and a launcher whose parent dies without stopping it
exits by itself (its stdin closes).
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10
INSTALL_TIMEOUT_S = 600
START_ATTEMPTS = 3  # a free port can be taken between our probe and Node's bind: retry then

DEFAULT_CLIENT_ID = "postwright-test"
DEFAULT_CLIENT_SECRET = "postwright-secret"
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1:8000/connections/callback/oauth2-test/",)
DEFAULT_ADMIN_PASSWORD = "admin-pass"


class PeerUnavailable(RuntimeError):
    """A peer server could not be installed or started."""


class NodeMissing(PeerUnavailable):
    """Node.js or npm is not installed: the only reason a local run may skip the peer tests."""


def peers_dir() -> Path:
    return Path(os.environ.get("POSTWRIGHT_PEERS_DIR") or ROOT / ".cache" / "peers")


def mastodon_venv() -> Path:
    """mastodon-mock's own virtual environment (install.sh builds it at the physical path)."""
    return peers_dir().resolve() / "mastodon-mock"


_installed: set[str] = set()
_install_lock = threading.Lock()


def ensure_installed(part: str = "npm") -> None:
    """Run ``install.sh <part>`` once per process; it returns at once when that part is up to date.

    ``npm``: the Node peers (NodeMissing without node/npm); ``mastodon``: mastodon-mock's venv.
    """
    with _install_lock:
        if part in _installed:
            return
        tools = ("node", "npm", "bash") if part == "npm" else ("bash",)
        missing = [tool for tool in tools if shutil.which(tool) is None]
        if missing and part == "npm":
            raise NodeMissing(f"not found on PATH: {', '.join(missing)}; the peer servers need Node.js 20+ and npm")
        if missing:
            raise PeerUnavailable(f"not found on PATH: {', '.join(missing)}; install.sh needs it")
        try:
            result = subprocess.run(
                ["bash", str(HERE / "install.sh"), part], capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
                env={**os.environ, "POSTWRIGHT_PEERS_DIR": str(peers_dir())}, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise PeerUnavailable(f"installing the peer servers ({part}) took over {INSTALL_TIMEOUT_S} s") from exc
        if result.returncode != 0:
            raise PeerUnavailable(
                f"installing the peer servers ({part}) failed (exit {result.returncode}):\n"
                f"{result.stdout[-1500:]}{result.stderr[-3000:]}"
            )
        _installed.add(part)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_running: set[Peer] = set()


@dataclass(kw_only=True, eq=False)
class Peer:
    name: str
    url: str
    process: subprocess.Popen = field(repr=False)
    extra: dict = field(default_factory=dict)
    log: collections.deque = field(default_factory=lambda: collections.deque(maxlen=200), repr=False)

    def stop(self) -> int | None:
        """SIGTERM, then wait (SIGKILL after STOP_TIMEOUT_S). Returns the exit code; safe to repeat."""
        _running.discard(self)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream:
                stream.close()
        return self.process.returncode

    def output_tail(self, lines: int = 40) -> str:
        """The last lines the launcher wrote (stderr and stdout), for failure messages."""
        return "\n".join(list(self.log)[-lines:])

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


@dataclass(kw_only=True, eq=False)
class PdsPeer(Peer):
    plc_url: str
    admin_password: str


@dataclass(kw_only=True, eq=False)
class OidcPeer(Peer):
    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    discovery: dict = field(repr=False)


def _pump(stream, sink: collections.deque, lines: queue.Queue | None) -> None:
    for line in stream:
        sink.append(line.rstrip("\n"))
        if lines is not None:
            lines.put(line.strip())
    if lines is not None:
        lines.put(None)


def _launch(script: str, env: dict[str, str]) -> tuple[subprocess.Popen, collections.deque]:
    """Start a launcher and wait for READY. Raises PeerUnavailable with the output's tail."""
    target = peers_dir()
    # Node resolves packages next to the script, so it runs from the install directory; the copy
    # is renamed into place so that two starting processes never run a half-written file.
    staging = target / f".{script}.{os.getpid()}.tmp"
    shutil.copyfile(HERE / script, staging)
    os.replace(staging, target / script)
    process = subprocess.Popen(
        ["node", script], cwd=target, env={**os.environ, **env, "PEER_EXIT_ON_STDIN_EOF": "1"},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    log: collections.deque = collections.deque(maxlen=200)
    lines: queue.Queue = queue.Queue()
    pumps = [
        threading.Thread(target=_pump, args=(process.stdout, log, lines), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, log, None), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            process.kill()
            process.wait()
            _drain(pumps)
            raise PeerUnavailable(
                f"{script} did not print READY within {START_TIMEOUT_S} s; its output ended with:\n" + _tail(log)
            ) from None
        if line == "READY":
            return process, log
        if line is None:  # stdout closed: the launcher died
            process.wait()
            _drain(pumps)
            raise PeerUnavailable(f"{script} exited with {process.returncode} before READY:\n" + _tail(log))


def _drain(pumps: list[threading.Thread]) -> None:
    for pump in pumps:
        pump.join(timeout=2)


def _tail(log: collections.deque, lines: int = 40) -> str:
    return "\n".join(list(log)[-lines:]) or "(no output)"


def _start(script: str, make_env) -> tuple[subprocess.Popen, collections.deque, dict[str, str]]:
    ensure_installed("npm")
    for attempt in range(1, START_ATTEMPTS + 1):
        env = make_env()
        try:
            process, log = _launch(script, env)
            return process, log, env
        except PeerUnavailable as exc:
            if "EADDRINUSE" not in str(exc) or attempt == START_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _get_json(url: str) -> dict:
    # urllib, not requests: the test suite's `responses` mock intercepts requests.
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own loopback URL
        return json.loads(response.read() or b"{}")


def _checked(peer: Peer, check):
    try:
        return check()
    except Exception as exc:
        peer.stop()
        raise PeerUnavailable(f"{peer.name} printed READY but does not answer: {exc}\n{peer.output_tail()}") from exc


def start_pds(*, admin_password: str = DEFAULT_ADMIN_PASSWORD) -> PdsPeer:
    """A Bluesky PDS with its own PLC directory, empty (fresh data, fresh keys) on every start."""

    def make_env() -> dict[str, str]:
        return {"PLC_PORT": str(free_port()), "PDS_PORT": str(free_port()), "PDS_ADMIN_PASSWORD": admin_password}

    process, log, env = _start("pds.mjs", make_env)
    peer = PdsPeer(
        name="pds", url=f"http://127.0.0.1:{env['PDS_PORT']}", process=process, log=log,
        plc_url=f"http://127.0.0.1:{env['PLC_PORT']}", admin_password=admin_password,
        extra={"admin_password": admin_password, "plc_url": f"http://127.0.0.1:{env['PLC_PORT']}"},
    )  # fmt: skip
    _running.add(peer)
    _checked(peer, lambda: _get_json(f"{peer.url}/xrpc/_health"))
    return peer


def start_oidc(
    *,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    redirect_uris: list[str] | tuple[str, ...] | str = DEFAULT_REDIRECT_URIS,
) -> OidcPeer:
    """panva's oidc-provider with one confidential client (client_secret_post, PKCE required)."""
    uris = [redirect_uris] if isinstance(redirect_uris, str) else list(redirect_uris)
    if not uris or any("," in uri for uri in uris):
        raise ValueError("redirect_uris: one or more URIs, none containing a comma")

    def make_env() -> dict[str, str]:
        return {
            "OIDC_PORT": str(free_port()),
            "OIDC_CLIENT_ID": client_id,
            "OIDC_CLIENT_SECRET": client_secret,
            "OIDC_REDIRECT_URIS": ",".join(uris),
            "OIDC_COOKIE_KEY": secrets.token_hex(24),
        }

    process, log, env = _start("oidc.mjs", make_env)
    url = f"http://127.0.0.1:{env['OIDC_PORT']}"
    placeholder = Peer(name="oidc", url=url, process=process, log=log)
    _running.add(placeholder)
    meta = _checked(placeholder, lambda: _get_json(f"{url}/.well-known/openid-configuration"))
    _running.discard(placeholder)
    peer = OidcPeer(
        name="oidc", url=url, process=process, log=log, issuer=meta["issuer"],
        client_id=client_id, client_secret=client_secret, redirect_uris=uris,
        authorization_endpoint=meta["authorization_endpoint"], token_endpoint=meta["token_endpoint"],
        revocation_endpoint=meta["revocation_endpoint"], userinfo_endpoint=meta["userinfo_endpoint"],
        jwks_uri=meta["jwks_uri"], discovery=meta,
        extra={"client_id": client_id, "client_secret": client_secret, "redirect_uris": uris},
    )  # fmt: skip
    _running.add(peer)
    return peer


@dataclass(kw_only=True, eq=False)
class MastodonPeer(Peer):
    """mastodon-mock: an in-memory Mastodon server, its config and media in ``workdir``."""

    workdir: Path

    def stop(self) -> int | None:
        code = super().stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return code

    def reset(self) -> None:
        """Forget every account, app, token and status (back to its one seeded user), and faults."""
        _send_json(f"{self.url}/api/v1/_mock/reset", {})

    def create_user(self, username: str = "", display_name: str = "") -> dict:
        """A local account; the answer carries ``id``, ``username`` and an ``access_token``."""
        return _send_json(f"{self.url}/api/v1/_mock/dev_user", {"username": username, "display_name": display_name})


def _send_json(url: str, body: dict) -> dict:
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own loopback URL
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise PeerUnavailable(f"POST {url} answered {exc.code}: {exc.read()[:300]!r}") from None


MASTODON_CONFIG = """\
# Written by tests/peers/servers.py for one run of mastodon-mock.
media_storage_path = {media}

[database]
path = ":memory:"
"""


def start_mastodon() -> MastodonPeer:
    """mastodon-mock 0.6.1, empty but for its seeded ``testuser``, on a free loopback port."""
    ensure_installed("mastodon")
    python = mastodon_venv() / "bin" / "python"
    for attempt in range(1, START_ATTEMPTS + 1):
        # Its own directory for the config and uploaded media, and as the working directory: the
        # server would otherwise read a .mastodon_mock.toml or pyproject.toml from wherever it runs.
        workdir = Path(tempfile.mkdtemp(prefix="postwright-mastodon-"))
        config = workdir / "mastodon_mock.toml"
        config.write_text(MASTODON_CONFIG.format(media=json.dumps(str(workdir / "media"))))
        port = free_port()
        process = subprocess.Popen(
            [str(python), str(HERE / "mastodon_serve.py"), "--host", "127.0.0.1", "--port", str(port),
             "--in-memory", "--config", str(config), "--log-level", "warning"],
            cwd=workdir, env={**os.environ, "PEER_EXIT_ON_STDIN_EOF": "1", "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        log: collections.deque = collections.deque(maxlen=200)
        threading.Thread(target=_pump, args=(process.stdout, log, None), daemon=True).start()
        peer = MastodonPeer(name="mastodon", url=f"http://127.0.0.1:{port}", process=process, log=log, workdir=workdir)
        _running.add(peer)
        try:
            _wait_until_answering(peer, f"{peer.url}/api/v2/instance")
            return peer
        except PeerUnavailable as exc:
            peer.stop()
            if "address already in use" not in str(exc).lower() or attempt == START_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _wait_until_answering(peer: Peer, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if peer.process.poll() is not None:
            time.sleep(0.2)  # let the pump read the last lines
            raise PeerUnavailable(f"{peer.name} exited with {peer.process.returncode}:\n{peer.output_tail()}")
        try:
            _get_json(url)
            return
        except (OSError, ValueError):
            time.sleep(0.1)
    raise PeerUnavailable(f"{peer.name} did not answer {url} within {START_TIMEOUT_S} s:\n{peer.output_tail()}")


@atexit.register
def _stop_all() -> None:
    for peer in list(_running):
        peer.stop()
