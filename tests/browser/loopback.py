"""What the fake platforms on loopback share: a quiet handler that routes every method to one
``_route(method)`` of its own."""

from http.server import BaseHTTPRequestHandler
from typing import Any


class RoutingHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def _route(self, method: str) -> None:
        raise NotImplementedError
