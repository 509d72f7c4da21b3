"""Start the real peer servers (a Bluesky PDS, an OAuth 2.0 server) on loopback for tests."""

import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import mkdtemp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
START_TIMEOUT_S = 90


class PeerUnavailable(RuntimeError):
    pass


def peers_dir() -> Path:
    return Path(os.environ.get("POSTWRIGHT_PEERS_DIR", ROOT / ".cache" / "peers"))


def ensure_installed() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise PeerUnavailable("node and npm are needed to run the peer servers")
    result = subprocess.run(["bash", str(HERE / "install.sh")], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PeerUnavailable(f"installing the peer servers failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Peer:
    url: str
    process: subprocess.Popen
    extra: dict = field(default_factory=dict)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _launch(script: str, env: dict[str, str]) -> subprocess.Popen:
    """Run a launcher from the install directory, so Node finds the packages beside it."""
    target = peers_dir()
    shutil.copy(HERE / script, target / script)
    process = subprocess.Popen(
        ["node", script], cwd=target, env={**os.environ, **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=START_TIMEOUT_S)
            if line is None:
                raise PeerUnavailable(f"{script} exited: {process.stderr.read()[-3000:]}")
            if line.strip() == "READY":
                return process
    except queue.Empty:
        process.kill()
        raise PeerUnavailable(
            f"{script} did not start in {START_TIMEOUT_S} s: {process.stderr.read()[-3000:]}"
        ) from None


def start_pds() -> Peer:
    ensure_installed()
    plc_port, pds_port = free_port(), free_port()
    data = mkdtemp(prefix="pds-")  # the in-memory PLC forgets everything, so the PDS starts empty too
    admin_password = secrets.token_urlsafe(12)
    env = {
        "PLC_PORT": str(plc_port),
        "PDS_PORT": str(pds_port),
        "PDS_HOSTNAME": "localhost",
        "PDS_DATA_DIRECTORY": data,
        "PDS_BLOBSTORE_DISK_LOCATION": f"{data}/blobs",
        "PDS_JWT_SECRET": secrets.token_hex(32),
        "PDS_DPOP_SECRET": secrets.token_hex(32),
        "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX": secrets.token_hex(32),
        "PDS_REPO_SIGNING_KEY_K256_PRIVATE_KEY_HEX": secrets.token_hex(32),
        "PDS_ADMIN_PASSWORD": admin_password,
        "PDS_DID_PLC_URL": f"http://127.0.0.1:{plc_port}",
        "PDS_INVITE_REQUIRED": "false",
        "PDS_DEV_MODE": "true",
        "LOG_ENABLED": "false",
    }
    process = _launch("pds.cjs", env)
    return Peer(url=f"http://127.0.0.1:{pds_port}", process=process, extra={"admin_password": admin_password})


def start_oidc(*, redirect_uris: list[str], client_id: str = "postwright-test", client_secret: str = "") -> Peer:
    ensure_installed()
    port = free_port()
    client_secret = client_secret or secrets.token_urlsafe(24)
    env = {
        "OIDC_PORT": str(port),
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": client_secret,
        "OIDC_REDIRECT_URIS": ",".join(redirect_uris),
        "OIDC_COOKIE_KEY": secrets.token_urlsafe(24),
    }
    process = _launch("oidc.mjs", env)
    return Peer(
        url=f"http://127.0.0.1:{port}", process=process,
        extra={"client_id": client_id, "client_secret": client_secret},
    )  # fmt: skip
