"""Generic OAuth 2.0 (authorization code + PKCE, refresh, revocation) on top of Authlib.

Platforms subclass OAuth2Provider with their endpoints and quirks; the protocol itself
(state, S256 challenges, token requests, client authentication) is Authlib's, not ours.
"""

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from connections import http
from connections.errors import ErrorClass, ProviderError
from connections.providers.base import AccountState, AppCredentials, Provider, TokenSet

# OAuth error codes (RFC 6749 section 5.2, RFC 7009) that mean the grant is gone: reconnect.
AUTH_ERRORS = frozenset({"invalid_grant", "invalid_token", "access_denied"})
CONFIG_ERRORS = frozenset(
    {"invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "invalid_request"}
)


def classify_oauth_error(exc: Exception) -> ProviderError:
    if isinstance(exc, OAuthError):
        error = exc.error or "oauth_error"
        message = exc.description or error
        if error in AUTH_ERRORS:
            return ProviderError(ErrorClass.AUTH, message, code=error)
        if error in CONFIG_ERRORS:
            return ProviderError(ErrorClass.CONFIG, message, code=error)
        if error == "temporarily_unavailable":
            return ProviderError(ErrorClass.TRANSIENT, message, code=error)
        return ProviderError(ErrorClass.CONFIG, message, code=error)
    if isinstance(exc, http.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status == 429:
            retry = http.retry_after_seconds(exc.response)
            return ProviderError(ErrorClass.RATE, "token endpoint rate limited", status=status, retry_after=retry)
        return ProviderError(ErrorClass.TRANSIENT, f"token endpoint answered {status}", status=status)
    if isinstance(exc, http.RequestException):
        return http.transport_error(exc, create_call=False)
    if isinstance(exc, ValueError):
        return ProviderError(ErrorClass.TRANSIENT, f"malformed token response: {exc}", code="malformed")
    raise exc


def token_set(token: dict[str, Any], *, previous_refresh_token: str | None = None) -> TokenSet:
    """Our TokenSet from a token response; keeps the old refresh token when none is returned."""
    if not isinstance(token.get("access_token"), str) or not token["access_token"]:
        raise ProviderError(ErrorClass.TRANSIENT, "token response has no access_token", code="malformed")
    expires_at = None
    if token.get("expires_in") not in (None, ""):
        try:
            expires_at = datetime.now(UTC) + timedelta(seconds=int(token["expires_in"]))
        except (TypeError, ValueError):
            raise ProviderError(ErrorClass.TRANSIENT, "token response has a bad expires_in", code="malformed") from None
    known = {"access_token", "refresh_token", "expires_in", "expires_at", "scope", "token_type"}
    return TokenSet(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token") or previous_refresh_token,
        expires_at=expires_at,
        scope=token.get("scope", "") if isinstance(token.get("scope", ""), str) else " ".join(token["scope"]),
        extra={key: value for key, value in token.items() if key not in known and key != "id_token"},
    )


class OAuth2Provider(Provider):
    authorize_url: ClassVar[str]
    token_url: ClassVar[str]
    revoke_url: ClassVar[str] = ""
    token_endpoint_auth_method: ClassVar[str] = "client_secret_post"  # or client_secret_basic
    scope_separator: ClassVar[str] = " "
    extra_authorize_params: ClassVar[dict[str, str]] = {}

    def endpoints(self, instance_url: str = "") -> tuple[str, str, str]:
        """Authorize, token and revoke URLs; per-instance platforms (Mastodon) override this."""
        return self.authorize_url, self.token_url, self.revoke_url

    def oauth_session(self, app: AppCredentials, *, redirect_uri: str | None = None) -> OAuth2Session:
        session = OAuth2Session(
            client_id=app.client_id,
            client_secret=app.client_secret,
            scope=self.scope_separator.join(app.scopes or self.default_scopes),
            redirect_uri=redirect_uri,
            token_endpoint_auth_method=self.token_endpoint_auth_method,
            revocation_endpoint_auth_method=self.token_endpoint_auth_method,
            code_challenge_method="S256" if self.supports_pkce else None,
        )
        return http.configure(session)

    def authorization_url(
        self, *, app: AppCredentials, redirect_uri: str, state: str, code_verifier: str | None, instance_url: str = ""
    ) -> str:
        authorize, _token, _revoke = self.endpoints(instance_url)
        with self.oauth_session(app, redirect_uri=redirect_uri) as session:
            url, _state = session.create_authorization_url(
                authorize, state=state, code_verifier=code_verifier, **self.extra_authorize_params
            )
        return url

    def exchange_code(
        self, *, app: AppCredentials, code: str, redirect_uri: str, code_verifier: str | None, instance_url: str = ""
    ) -> TokenSet:
        _authorize, token_url, _revoke = self.endpoints(instance_url)
        with self.oauth_session(app, redirect_uri=redirect_uri) as session:
            try:
                # Never follow redirects: for federated platforms the host is user-supplied, and a
                # redirect could carry the code or tokens elsewhere.
                token = session.fetch_token(
                    token_url,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                    allow_redirects=False,
                )
            except (OAuthError, http.RequestException, ValueError) as exc:
                raise classify_oauth_error(exc) from None
        return token_set(token)

    def refresh(self, *, app: AppCredentials | None, account: AccountState) -> TokenSet:
        refresh_token = account.secrets.get("refresh_token")
        if not refresh_token or app is None:
            raise ProviderError(ErrorClass.AUTH, "no refresh token: reconnect the account", code="no_refresh_token")
        _authorize, token_url, _revoke = self.endpoints(account.instance_url)
        with self.oauth_session(app) as session:
            try:
                token = session.refresh_token(token_url, refresh_token=refresh_token, allow_redirects=False)
            except (OAuthError, http.RequestException, ValueError) as exc:
                raise classify_oauth_error(exc) from None
        return token_set(dict(token), previous_refresh_token=refresh_token)

    def revoke(self, *, app: AppCredentials | None, account: AccountState) -> None:
        _authorize, _token, revoke_url = self.endpoints(account.instance_url)
        if not revoke_url or app is None:
            return
        # Revoking the refresh token ends the whole grant on RFC 7009 servers.
        token = account.secrets.get("refresh_token") or account.secrets.get("access_token")
        hint = "refresh_token" if account.secrets.get("refresh_token") else "access_token"
        with self.oauth_session(app) as session:
            try:
                # types-Authlib leaves revoke_token unannotated; it returns the requests Response.
                response: http.Response = session.revoke_token(  # type: ignore[no-untyped-call]
                    revoke_url, token=token, token_type_hint=hint, allow_redirects=False
                )
            except http.RequestException as exc:
                raise http.transport_error(exc, create_call=False) from None
        if response.status_code >= 500:
            raise ProviderError(ErrorClass.TRANSIENT, f"revocation answered {response.status_code}")

    def api_session(self, access_token: str) -> http.Session:
        session = http.platform_session()
        session.headers["Authorization"] = f"Bearer {access_token}"
        return session
