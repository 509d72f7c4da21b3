"""The one way Postwright talks to platforms over HTTP.

Timeouts on every call, an honest User-Agent, logs that never contain a token, and a guard
that keeps user-supplied hosts (a Mastodon instance, a self-hosted PDS) off private networks.

The guard runs on every request and every redirect hop, not only when a URL is first entered:
the host is resolved once, every address it resolves to is vetted, and the connection is made to
exactly the vetted address (the Host header, TLS SNI and certificate check still name the host).
So a stored instance URL whose DNS later turns inward (rebinding) is refused at request time.
This is the only module allowed to import ``requests`` or ``urllib3`` (ruff TID251); others take
the names they need from here.
"""

import ipaddress
import logging
import os
import re
import socket
import urllib.request
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from requests import HTTPError, PreparedRequest, RequestException, Response, Session
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

# What other modules may name from requests (types to annotate and exceptions to catch).
__all__ = ["HTTPError", "RefusedAddress", "RequestException", "Response", "Session", "UnsafeURL", "platform_session"]

from connections.errors import ErrorClass, ProviderError

log = logging.getLogger("postwright.platform_http")

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read
SECRET_PATTERNS = [
    re.compile(r"((?:access_token|refresh_token|client_secret|appsecret_proof|password|code|token)=)[^&\s]+", re.I),
    re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+"),
]


def redact(text: str) -> str:
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class UnsafeURL(ValueError):
    pass


class RefusedAddress(UnsafeURL, requests.ConnectionError):
    """A request (or a redirect hop) to a host on a private network; nothing was sent.

    A ConnectionError too, so every caller's ``except RequestException`` handles it."""


class _GuardedAdapter(HTTPAdapter):
    """Timeouts, and the private-address guard with the vetted address pinned for the request.

    Vetting happens in ``send`` (which ``responses`` patches below us, so tests still mock
    platforms); pinning happens where urllib3's pool is chosen, which only real sends reach.
    Session.resolve_redirects calls ``send`` for every hop, so every hop is vetted.
    """

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        if not settings.ALLOW_PRIVATE_NETWORK_URLS:
            request = _pin(request)
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: bool | str, cert: str | tuple[str, str] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        address = getattr(request, "_postwright_address", None)
        if address:
            hostname = host_params["host"]
            host_params["host"] = address
            if host_params["scheme"] == "https":
                # Connect to the IP, but speak TLS to (and check the certificate of) the hostname.
                pool_kwargs["server_hostname"] = hostname
                pool_kwargs["assert_hostname"] = hostname
        return host_params, pool_kwargs


def _pin(request: PreparedRequest) -> PreparedRequest:
    """A copy of the request bound to one vetted address of its host; RefusedAddress otherwise."""
    parts = urlsplit(request.url or "")
    if parts.scheme != "https" or not parts.hostname:
        raise RefusedAddress(f"only https:// addresses are allowed, not {parts.scheme}://{parts.hostname}")
    pinned = request.copy()
    pinned._postwright_address = vetted_address(parts.hostname, parts.port or 443)  # type: ignore[attr-defined]
    # Set on every hop from the hop's own URL: a redirect copies the previous hop's headers.
    pinned.headers["Host"] = parts.netloc.rpartition("@")[2]
    return pinned


def vetted_address(host: str, port: int) -> str:
    """The address to connect to for host, after every address it resolves to was vetted."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise RefusedAddress(f"{host} does not resolve") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    # All of them, not just the one we pick: a mixed answer is a rebinding attempt.
    if not addresses or not all(is_public_address(address) for address in addresses):
        raise RefusedAddress(f"{host} points to a private or local address")
    return str(addresses[0])


def _log_response(response: requests.Response, *args: object, **kwargs: object) -> None:
    log.info(
        "%s %s -> %s in %.0f ms",
        response.request.method,
        redact(response.request.url or ""),
        response.status_code,
        response.elapsed.total_seconds() * 1000,
    )


_AnySession = TypeVar("_AnySession", bound=requests.Session)


def configure(session: _AnySession) -> _AnySession:
    """Give any requests.Session (ours or an OAuth library's) our timeouts, UA and logging."""
    adapter = _GuardedAdapter(max_retries=0)  # retries are decided by the caller, never blindly
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"Postwright/0.1 (+{settings.SITE_URL})"
    session.hooks["response"].append(_log_response)
    # requests reads proxies, .netrc and CA bundles from the environment on every request (a
    # sixth of a request's CPU). Read the CA bundle once here instead; only a proxy, whose
    # NO_PROXY rules are per URL, keeps requests reading the environment.
    bundle = next((os.environ[name] for name in _CA_BUNDLE_VARIABLES if os.environ.get(name)), None)
    if bundle:
        session.verify = bundle
    session.trust_env = bool(urllib.request.getproxies())
    return session


_CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def platform_session() -> requests.Session:
    return configure(requests.Session())


def check_public_url(url: str) -> str:
    """Refuse URLs whose host resolves to a private, loopback or link-local address.

    Allowed when ALLOW_PRIVATE_NETWORK_URLS is on (development, tests against local peers).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("that is not a valid address") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeURL(f"{url!r} is not an http(s) URL")
    if settings.ALLOW_PRIVATE_NETWORK_URLS:
        return url
    if parts.scheme != "https":
        raise UnsafeURL("only https:// addresses are allowed")
    try:
        vetted_address(parts.hostname, port or 443)
    except RefusedAddress as exc:
        raise UnsafeURL(str(exc)) from None
    return url


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global, and so is any IPv4 address an IPv6 one wraps (mapped, 6to4, NAT64, compatible)."""
    # is_global alone lets multicast through (224.0.0.0/4 is not in IANA's special registry).
    if not address.is_global or address.is_multicast or address.is_reserved or address.is_unspecified:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour]
        if address in ipaddress.ip_network("64:ff9b::/96") or int(address) >> 32 == 0:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        return all(inner is None or inner.is_global for inner in embedded)
    return True


class NotAServerAddress(ValueError):
    pass


def server_origin(value: str) -> str:
    """The scheme://host[:port] a user typed for their server ("pds.example.com" included),
    rebuilt from host and port only (a user:password@ part would end up in logs), and checked
    by check_public_url. NotAServerAddress when it is not an address; UnsafeURL when it is
    refused."""
    value = value.strip()
    if "://" not in value:
        value = f"https://{value}"
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or parts.scheme not in ("http", "https"):
        raise NotAServerAddress(value)
    return check_public_url(f"{parts.scheme}://{host}" + (f":{port}" if port else ""))


def retry_after_seconds(response: requests.Response) -> float | None:
    """Seconds to wait, from Retry-After (seconds or HTTP date) or a rate-limit reset header."""
    value = response.headers.get("Retry-After")
    if value:
        if value.strip().isdigit():
            return float(value)
        try:
            return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
        except (TypeError, ValueError):
            return None
    return None


def _never_connected(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)  # refused, DNS failure: nothing was sent


def transport_error(exc: requests.RequestException, *, create_call: bool) -> ProviderError:
    """A request that got no HTTP answer.

    For a create call whose connection was made, the platform may have acted on it (a read
    timeout, a reset mid-response), so the outcome is unknown and it must not be re-sent blindly.
    """
    if isinstance(exc, RefusedAddress):
        # Not worth retrying: the server's name points inside our network, now or after a redirect.
        return ProviderError(ErrorClass.CONFIG, f"refused to connect: {exc}", code="unsafe_address")
    never_connected = _never_connected(exc)
    unknown = create_call and not never_connected
    if never_connected:
        what = "could not connect to the platform"
    elif isinstance(exc, requests.Timeout):
        what = "the platform did not answer in time"
    else:
        what = "the connection to the platform broke"
    # The exception's text may hold URLs with tokens; its class names are enough to act on.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    detail = type(reason).__name__ if isinstance(reason, BaseException) else type(exc).__name__
    return ProviderError(ErrorClass.TRANSIENT, f"{what} ({detail})", code="network", outcome_unknown=unknown)
