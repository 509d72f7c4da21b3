import socket

import pytest
import requests
import responses

from connections import http
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


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture
def bare_environment(monkeypatch):
    for name in PROXY_VARIABLES + BUNDLE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_sessions_skip_the_environment_when_it_names_no_proxy(bare_environment):
    session = http.platform_session()
    assert (session.trust_env, session.verify) == (False, True)


def test_a_proxy_in_the_environment_is_honoured(bare_environment):
    bare_environment.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert http.platform_session().trust_env is True


@pytest.mark.parametrize("name", BUNDLE_VARIABLES)
def test_a_ca_bundle_in_the_environment_is_read_once(bare_environment, name):
    bare_environment.setenv(name, "/etc/ssl/corporate.pem")
    session = http.platform_session()
    assert (session.trust_env, session.verify) == (False, "/etc/ssl/corporate.pem")
