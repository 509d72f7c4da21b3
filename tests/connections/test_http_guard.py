"""The private-address guard of connections/http.py, on every request and every redirect hop."""

import datetime
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connections import http
from connections.errors import ErrorClass, ProviderError
from connections.providers.bluesky.provider import BlueskyProvider

PUBLIC = "93.184.216.34"


class _Answers(dict):
    lookups: list[str]


@pytest.fixture
def dns(settings, monkeypatch):
    """Production's guard on, and a resolver whose answers a test can change (DNS rebinding)."""
    settings.ALLOW_PRIVATE_NETWORK_URLS = False
    answers = _Answers()
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        if host not in answers:
            return real(host, port, *args, **kwargs)  # IP literals, as urllib3 resolves them
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        return [(family[ipaddress.ip_address(a).version], socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    lookups: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    answers.lookups = lookups  # type: ignore[attr-defined]
    return answers


def test_a_host_that_turns_private_after_it_was_stored_is_refused_at_request_time(dns):
    dns["mastodon.example"] = [PUBLIC]
    stored = http.server_origin("mastodon.example")  # fine when the user entered it
    responses.add(responses.GET, f"{stored}/api/v1/instance", json={})
    dns["mastodon.example"] = ["10.0.0.1"]  # rebinding: the same name now points inward
    with pytest.raises(http.RefusedAddress, match="private or local"):
        http.platform_session().get(f"{stored}/api/v1/instance")
    assert not responses.calls  # refused before anything was sent


@pytest.mark.parametrize(
    "answer",
    [
        ["127.0.0.1"],
        ["169.254.169.254"],
        ["0.0.0.0"],  # noqa: S104 - the address under test, not a bind
        ["224.0.0.1"],
        ["240.0.0.1"],
        ["::1"],
        ["fe80::1"],
        ["::ffff:10.0.0.1"],  # IPv4-mapped IPv6
        ["64:ff9b::a00:1"],  # NAT64 of 10.0.0.1
        [PUBLIC, "10.0.0.1"],  # one bad answer among good ones is enough
    ],
)
def test_every_kind_of_inward_address_is_refused(dns, answer):
    dns["api.example.com"] = answer
    with pytest.raises(http.RefusedAddress):
        http.platform_session().get("https://api.example.com/")
    assert not responses.calls


def test_a_public_host_works_and_is_still_mocked_by_responses(dns):
    dns["api.example.com"] = [PUBLIC]
    responses.add(responses.GET, "https://api.example.com/v1/me", json={"id": 1})
    response = http.platform_session().get("https://api.example.com/v1/me")
    assert response.json() == {"id": 1}
    assert responses.calls[0].request.headers["Host"] == "api.example.com"


def test_a_redirect_to_a_private_address_is_refused(dns):
    dns["api.example.com"] = [PUBLIC]
    dns["internal.example.com"] = ["10.0.0.7"]
    responses.add(
        responses.GET, "https://api.example.com/a", status=302, headers={"Location": "https://internal.example.com/"}
    )
    with pytest.raises(http.RefusedAddress):
        http.platform_session().get("https://api.example.com/a")
    assert [call.request.url for call in responses.calls] == ["https://api.example.com/a"]


def test_a_redirect_downgrading_to_plain_http_is_refused(dns):
    dns["api.example.com"] = [PUBLIC]
    responses.add(
        responses.GET, "https://api.example.com/a", status=302, headers={"Location": "http://api.example.com/"}
    )
    with pytest.raises(http.RefusedAddress, match="only https"):
        http.platform_session().get("https://api.example.com/a")
    assert len(responses.calls) == 1


def test_each_hop_gets_its_own_host_header(dns):
    dns["a.example.com"] = [PUBLIC]
    dns["b.example.com"] = [PUBLIC]
    responses.add(responses.GET, "https://a.example.com/", status=302, headers={"Location": "https://b.example.com/x"})
    responses.add(responses.GET, "https://b.example.com/x", json={})
    http.platform_session().get("https://a.example.com/")
    assert [call.request.headers["Host"] for call in responses.calls] == ["a.example.com", "b.example.com"]


def test_bluesky_create_session_redirected_to_the_metadata_service_is_refused(dns):
    """The fault as found: a user-named PDS answering createSession with a 302 inward."""
    dns["pds.example.com"] = [PUBLIC]
    metadata = "http://169.254.169.254/latest/meta-data/"
    url = "https://pds.example.com/xrpc/com.atproto.server.createSession"
    responses.add(responses.POST, url, status=302, headers={"Location": metadata})
    responses.add(responses.GET, metadata, body="iam-role-secrets")
    form = {"service_url": "https://pds.example.com", "identifier": "alice.example.com", "app_password": "a-b-c-d"}
    with pytest.raises(ProviderError) as caught:
        BlueskyProvider().connect_with_form(data=form)
    assert caught.value.code == "unsafe_address"
    assert caught.value.error_class == ErrorClass.CONFIG
    assert [call.request.url for call in responses.calls] == [url]


def test_transport_error_names_the_refusal_and_says_nothing_was_sent():
    refused = http.RefusedAddress("x.example points to a private or local address")
    error = http.transport_error(refused, create_call=True)
    assert (error.error_class, error.code, error.outcome_unknown) == (ErrorClass.CONFIG, "unsafe_address", False)


# --- Pinning, against a real TLS server on loopback -------------------------------------------------


def _certificate(tmp_path, hostname: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{hostname}.pem", tmp_path / f"{hostname}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a certificate for pds.test; records Host and SNI."""
    seen: dict[str, str | None] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen["host"] = self.headers["Host"]
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    cert_file, key_file = _certificate(tmp_path, "pds.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda sock, name, ctx: seen.__setitem__("sni", name)
    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert_file, seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_vetted(dns, monkeypatch):
    """Let 127.0.0.1 pass the guard (and only it), so a real connection can show where it goes."""
    real = http.is_public_address
    monkeypatch.setattr(http, "is_public_address", lambda a: str(a) == "127.0.0.1" or real(a))
    return dns


def test_the_connection_goes_to_the_vetted_address_with_host_and_sni_of_the_name(loopback_vetted, tls_server, tmp_path):
    port, cert_file, seen = tls_server
    loopback_vetted["pds.test"] = ["127.0.0.1"]
    responses.add_passthru("https://pds.test")
    response = http.platform_session().get(f"https://pds.test:{port}/xrpc/_health", verify=cert_file)
    assert response.text == "ok"
    assert seen == {"host": f"pds.test:{port}", "sni": "pds.test"}
    # Resolved once, by the guard; the connection used the vetted address, not a second lookup
    # that a rebinding DNS server could answer differently.
    assert loopback_vetted.lookups.count("pds.test") == 1


def test_the_certificate_is_still_checked_against_the_name(loopback_vetted, tls_server):
    port, cert_file, _ = tls_server
    loopback_vetted["other.test"] = ["127.0.0.1"]
    responses.add_passthru("https://other.test")
    # A trusted certificate, but for pds.test: other.test at the same address must not pass.
    with pytest.raises(http.RequestException, match=r"doesn.t match .pds\.test"):
        http.platform_session().get(f"https://other.test:{port}/", verify=cert_file)
