import socket

import pytest
import requests
import responses

from tests.conftest import NetworkBlocked


def test_unmocked_http_request_fails():
    with pytest.raises(requests.ConnectionError):
        requests.get("https://api.example.com/v1/thing", timeout=1)


def test_mocked_http_request_works():
    responses.add(responses.GET, "https://api.example.com/v1/thing", json={"ok": True})
    assert requests.get("https://api.example.com/v1/thing", timeout=1).json() == {"ok": True}


def test_raw_sockets_cannot_leave_the_machine():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(NetworkBlocked):
        sock.connect(("93.184.216.34", 443))
    sock.close()
