"""XRPC over our HTTP chokepoint: error classification, session tokens and their renewal.

Every authenticated call goes through ``AccountClient._authed``: on ``ExpiredToken`` it renews
the session once (``refreshSession``, else a new login with the stored app password, because
``createSession`` is limited to 30 per 5 minutes and must not run per action) and retries.
Renewed tokens are written to the account with ``AccountState.update_secrets`` so the caller
persists them. Platform JSON is checked here, at the edge: a changed shape raises TRANSIENT
"malformed" in one place instead of a KeyError somewhere in the provider.
"""

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connections.errors import ErrorClass, ProviderError
from connections.http import (
    RequestException,
    Response,
    Session,
    platform_session,
    retry_after_seconds,
    transport_error,
)
from connections.providers.base import AccountState

log = logging.getLogger(__name__)

# Errors that mean "these credentials are no good": reconnecting is the only cure.
AUTH_ERRORS = frozenset(
    {"InvalidToken", "ExpiredToken", "AuthenticationRequired", "AuthMissing", "AccountTakedown", "AccountDeactivated"}
)
# A refresh token the PDS will not rotate any more: log in again with the app password.
RELOGIN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})
# The access token's "scope" claim when the account's main password was used instead.
MAIN_PASSWORD_SCOPE = "com.atproto.access"

Params = Mapping[str, Any] | list[tuple[str, str]] | None


# --- Errors ------------------------------------------------------------------------------------


def classify(response: Response) -> ProviderError:
    """An XRPC failure as a ProviderError, keeping the platform's own error name and message."""
    name, message = _error_body(response)
    status = response.status_code
    if status == 429 or name == "RateLimitExceeded":
        error_class = ErrorClass.RATE
    elif name in AUTH_ERRORS or status in (401, 403):
        error_class = ErrorClass.AUTH
    elif status >= 500:
        error_class = ErrorClass.TRANSIENT
    elif status in (404, 501) or name == "MethodNotImplemented":
        error_class = ErrorClass.CONFIG  # the server does not offer this method at all
    else:
        error_class = ErrorClass.CONTENT  # InvalidRequest: too long, bad facet, blob too large...
    retry_after = _rate_reset(response) if error_class == ErrorClass.RATE else None
    return ProviderError(error_class, message, code=name, status=status, retry_after=retry_after)


def _error_body(response: Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return "", f"Bluesky answered HTTP {response.status_code}"
    name, message = optional_str(body, "error"), optional_str(body, "message")
    return name, message or name or f"Bluesky answered HTTP {response.status_code}"


def _rate_reset(response: Response) -> float | None:
    """Seconds until the window resets: Retry-After, else ``ratelimit-reset`` (epoch seconds)."""
    seconds = retry_after_seconds(response)
    if seconds is not None:
        return seconds
    reset = response.headers.get("ratelimit-reset", "")
    if reset.strip().isdigit():
        return max(0.0, int(reset) - time.time())
    return None


def malformed(what: str) -> ProviderError:
    return ProviderError(ErrorClass.TRANSIENT, f"Bluesky sent a malformed answer to {what}.", code="malformed")


def require_str(data: Mapping[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise malformed(what)
    return value


def optional_str(data: Mapping[str, Any], key: str) -> str:
    """An optional text field: its value, or "" when it is absent or not text."""
    value = data.get(key)
    return value if isinstance(value, str) else ""


# --- Plain XRPC ----------------------------------------------------------------------------------


class Xrpc:
    """Calls to one server's ``/xrpc/`` endpoints; failures come out as ProviderError."""

    def __init__(self, base_url: str, http: Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or platform_session()

    def query(self, nsid: str, params: Params = None, *, token: str = "") -> dict[str, Any]:
        return self._send("GET", nsid, token=token, params=params)

    def procedure(
        self,
        nsid: str,
        body: Mapping[str, Any] | None = None,
        *,
        token: str = "",
        data: bytes | None = None,
        content_type: str = "",
        create_call: bool = False,
    ) -> dict[str, Any]:
        headers = {"Content-Type": content_type} if content_type else {}
        return self._send("POST", nsid, token=token, json=body, data=data, headers=headers, create_call=create_call)

    def _send(self, method: str, nsid: str, *, token: str, create_call: bool = False, **kwargs: Any) -> dict[str, Any]:
        headers = kwargs.pop("headers", None) or {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self.http.request(method, f"{self.base_url}/xrpc/{nsid}", headers=headers, **kwargs)
        except RequestException as exc:
            raise transport_error(exc, create_call=create_call) from None
        if not response.ok:
            raise classify(response)
        if not response.content:
            return {}  # deleteRecord, revokeAppPassword: an empty 200
        try:
            body = response.json()
        except ValueError:
            raise malformed(nsid) from None
        if not isinstance(body, dict):
            raise malformed(nsid)
        return body


# --- Sessions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionTokens:
    """What createSession and refreshSession answer, checked."""

    did: str
    handle: str
    access_jwt: str = field(repr=False)
    refresh_jwt: str = field(repr=False)
    pds_endpoint: str  # from the DID document; "" when the server did not send one
    active: bool = True
    status: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any], what: str) -> "SessionTokens":
        active = data.get("active", True)
        return cls(
            did=require_str(data, "did", what),
            handle=require_str(data, "handle", what),
            access_jwt=require_str(data, "accessJwt", what),
            refresh_jwt=require_str(data, "refreshJwt", what),
            pds_endpoint=pds_endpoint(data.get("didDoc")),
            active=active if isinstance(active, bool) else True,
            status=optional_str(data, "status"),
        )

    def as_secrets(self) -> dict[str, str]:
        return {
            "access_token": self.access_jwt,
            "refresh_token": self.refresh_jwt,
            "did": self.did,
            "handle": self.handle,
        }


def pds_endpoint(did_doc: Any) -> str:
    """The ``#atproto_pds`` service endpoint of a DID document, or "" when absent."""
    if not isinstance(did_doc, dict) or not isinstance(did_doc.get("service"), list):
        return ""
    for service in did_doc["service"]:
        if isinstance(service, dict) and service.get("id") in ("#atproto_pds", f"{did_doc.get('id')}#atproto_pds"):
            endpoint = service.get("serviceEndpoint")
            return endpoint.rstrip("/") if isinstance(endpoint, str) else ""
    return ""


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, read without verifying the signature.

    Safe here because nothing is trusted on the strength of it: the token is signed with the
    PDS's own secret, which we cannot (and need not) check; the PDS verifies it on every call.
    We only read ``exp`` (when to refresh) and ``scope`` (to spot a main password).
    """
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def jwt_expiry(token: str) -> datetime | None:
    exp = jwt_claims(token).get("exp")
    return datetime.fromtimestamp(exp, tz=UTC) if isinstance(exp, int | float) else None


def create_session(xrpc: Xrpc, identifier: str, password: str) -> SessionTokens:
    data = xrpc.procedure("com.atproto.server.createSession", {"identifier": identifier, "password": password})
    return SessionTokens.from_json(data, "createSession")


def refresh_session(xrpc: Xrpc, refresh_jwt: str) -> SessionTokens:
    # The refresh JWT goes in the Authorization header; the call has no body.
    data = xrpc.procedure("com.atproto.server.refreshSession", token=refresh_jwt)
    return SessionTokens.from_json(data, "refreshSession")


# --- An account's authenticated client -----------------------------------------------------------


class AccountClient:
    """Authenticated calls for one connected account, renewing its session when it expires.

    Writes go to the account's PDS (``instance_url``); session calls go to the service the user
    logged in at (``extra["service_url"]``, e.g. bsky.social), as the official clients do.
    """

    def __init__(self, account: AccountState, http: Session | None = None) -> None:
        self.account = account
        self.http = http or platform_session()
        pds_url = account.instance_url or account.extra.get("service_url", "")
        if not pds_url:
            raise ProviderError(ErrorClass.AUTH, "This Bluesky account has no server on record.", code="no_server")
        self.pds = Xrpc(pds_url, self.http)
        self.service = Xrpc(account.extra.get("service_url") or pds_url, self.http)

    @property
    def did(self) -> str:
        return self.account.secrets.get("did") or self.account.external_id

    def query(self, nsid: str, params: Params = None) -> dict[str, Any]:
        return self._authed(lambda token: self.pds.query(nsid, params, token=token))

    def procedure(self, nsid: str, body: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        return self._authed(lambda token: self.pds.procedure(nsid, body, token=token, **kwargs))

    def _authed(self, send: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        token = self.account.secrets.get("access_token", "")
        if token:
            try:
                return send(token)
            except ProviderError as exc:
                if exc.code != "ExpiredToken":
                    raise
        self.renew()
        return send(self.account.secrets["access_token"])  # a second ExpiredToken is AUTH

    def renew(self) -> SessionTokens:
        """New tokens from the refresh token, else from a new login; stored on the account."""
        tokens = self._refreshed() or self._logged_in()
        self.account.update_secrets(expires_at=jwt_expiry(tokens.access_jwt), **tokens.as_secrets())
        return tokens

    def _refreshed(self) -> SessionTokens | None:
        refresh_jwt = self.account.secrets.get("refresh_token", "")
        if not refresh_jwt:
            return None
        try:
            return refresh_session(self.service, refresh_jwt)
        except ProviderError as exc:
            if exc.code not in RELOGIN_ERRORS:
                raise
            log.info("Bluesky refresh token of %s refused (%s); logging in again", self.did, exc.code)
            return None

    def _logged_in(self) -> SessionTokens:
        password = self.account.secrets.get("app_password", "")
        if not password:
            raise ProviderError(ErrorClass.AUTH, "No app password is stored for this account.", code="no_password")
        # The DID, not the handle: it still works after the user changes handle.
        return create_session(self.service, self.did, password)
