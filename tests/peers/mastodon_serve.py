"""Runs ``mastodon_mock serve`` with the arguments given, inside mastodon-mock's own environment.

Started by ``servers.start_mastodon()`` with that environment's Python, never imported by the
project. It adds one thing to the plain command: with ``PEER_EXIT_ON_STDIN_EOF`` set, the server
exits as soon as its stdin closes, so a test run that dies without stopping it leaves no server
behind (the Node launchers do the same).
"""

import os
import sys
import threading

from mastodon_mock.cli import main


def _exit_when_stdin_closes() -> None:
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    if os.environ.get("PEER_EXIT_ON_STDIN_EOF"):
        threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    main(["serve", *sys.argv[1:]])
