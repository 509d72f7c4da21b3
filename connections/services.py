"""Connecting, refreshing and disconnecting social accounts."""

import logging
import secrets as pysecrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User, Workspace
from accounts.roles import Capability, Role, role_allows
from accounts.services import notify
from connections.errors import ConnectError, ErrorClass, ProviderError
from connections.models import ConnectSession, InstanceApp, OAuthApp, SocialAccount
from connections.providers.base import AccountState, AppCredentials, Connection, Profile, Provider
from connections.registry import get_provider

log = logging.getLogger(__name__)
T = TypeVar("T")


def safe_url(url: str, *, max_length: int = 1000) -> str:
    """A platform-supplied link we will render: http(s) only (never javascript:), and one that fits."""
    url = (url or "").strip()
    if not url.lower().startswith(("https://", "http://")) or len(url) > max_length:
        return ""
    return url


# --- App credentials --------------------------------------------------------------------------


def redirect_uri_for(platform: str) -> str:
    return settings.SITE_URL + reverse("connect_callback", args=[platform])


def app_credentials_for(*, workspace: Workspace, provider: Provider, instance_url: str = "") -> AppCredentials | None:
    """The workspace's own keys, else the instance-wide ones from the environment, else None."""
    if provider.asks_for_instance:
        return instance_app_credentials(provider=provider, instance_url=instance_url) if instance_url else None
    own = OAuthApp.objects.filter(workspace=workspace, platform=provider.id).first()
    if own is not None:
        scopes = tuple(own.scopes.split()) or provider.default_scopes
        return AppCredentials(own.client_id, own.client_secret, scopes, source="workspace")
    client_id, client_secret = settings.PLATFORM_CREDENTIALS.get(provider.id, (None, None))
    if client_id and client_secret:
        return AppCredentials(client_id, client_secret, provider.default_scopes, source="instance")
    return None


def is_configured(*, workspace: Workspace, provider: Provider) -> bool:
    if not provider.needs_app_credentials or provider.asks_for_instance:
        return True
    return app_credentials_for(workspace=workspace, provider=provider) is not None


def instance_app_credentials(*, provider: Provider, instance_url: str) -> AppCredentials:
    """Our registration on a federated server, made once and cached (Mastodon's POST /api/v1/apps)."""
    redirect_uri = redirect_uri_for(provider.id)
    app = InstanceApp.objects.filter(platform=provider.id, instance_url=instance_url, redirect_uri=redirect_uri).first()
    if app is None:
        registered = provider.register_app(instance_url=instance_url, redirect_uri=redirect_uri)
        app, _ = InstanceApp.objects.get_or_create(
            platform=provider.id,
            instance_url=instance_url,
            redirect_uri=redirect_uri,
            defaults={
                "client_id": registered.client_id,
                "client_secret": registered.client_secret,
                "scopes": " ".join(registered.scopes),
            },
        )
    return AppCredentials(app.client_id, app.client_secret, tuple(app.scopes.split()), source="instance")


def forget_instance_app(*, platform: str, instance_url: str) -> None:
    """Drop a cached registration the server no longer knows (it answered invalid_client)."""
    InstanceApp.objects.filter(platform=platform, instance_url=instance_url).delete()


# --- Connect flow -----------------------------------------------------------------------------


def connect_start(
    *,
    actor: Membership,
    provider: Provider,
    instance_url: str = "",
    tenant_id: str = "",
    reconnect_account: SocialAccount | None = None,
) -> str:
    """Begin an OAuth connect: returns the platform's consent URL to redirect the browser to."""
    app = app_credentials_for(workspace=actor.workspace, provider=provider, instance_url=instance_url)
    if app is None:
        raise ConnectError(f"{provider.name} is not configured for this workspace yet.")
    verifier = pysecrets.token_urlsafe(64) if provider.supports_pkce else None
    session = ConnectSession.objects.create(
        workspace=actor.workspace,
        platform=provider.id,
        created_by=actor.user,
        redirect_uri=redirect_uri_for(provider.id),
        instance_url=instance_url,
        tenant_id=tenant_id,
        reconnect_account=reconnect_account,
        secrets={"code_verifier": verifier} if verifier else {},
    )
    return provider.authorization_url(
        app=app,
        redirect_uri=session.redirect_uri,
        state=session.state,
        code_verifier=verifier,
        instance_url=instance_url,
    )


def _fail(session: ConnectSession, message: str) -> ConnectError:
    session.status = ConnectSession.Status.FAILED
    session.error = message[:500]
    session.save(update_fields=["status", "error"])
    return ConnectError(message)


def connect_callback(*, user: User, provider: Provider, params: Mapping[str, str]) -> ConnectSession:
    """Finish the platform's redirect. Raises ConnectError with a message for the user."""
    state = params.get("state", "")
    session = (
        ConnectSession.objects.select_related("workspace", "reconnect_account")
        .filter(state=state, platform=provider.id, created_by=user, status=ConnectSession.Status.PENDING)
        .first()
        if state
        else None
    )
    if session is None:
        raise ConnectError("This connect link is not valid any more (or was opened in another browser). Start again.")
    if session.expired:
        raise _fail(session, "The connect attempt took too long and expired. Start again.")
    membership = Membership.objects.filter(workspace=session.workspace, user=user).first()
    if membership is None or not role_allows(membership.role, Capability.MANAGE_CONNECTIONS):
        # Removed or demoted since the attempt started: the consent must not land an account.
        raise _fail(session, "You can no longer connect accounts in this workspace.")
    if params.get("error"):
        if params["error"] == "access_denied":
            raise _fail(session, f"You cancelled the connection on {provider.name}; nothing was connected.")
        detail = params.get("error_description") or params["error"]
        raise _fail(session, f"{provider.name} refused the connection: {detail}")
    code = params.get("code", "")
    if not code:
        raise _fail(session, f"{provider.name} sent back an incomplete answer (no authorization code).")
    app = app_credentials_for(workspace=session.workspace, provider=provider, instance_url=session.instance_url)
    if app is None:
        raise _fail(session, f"{provider.name} is not configured for this workspace any more.")
    try:
        tokens = provider.exchange_code(
            app=app,
            code=code,
            redirect_uri=session.redirect_uri,
            code_verifier=session.secrets.get("code_verifier"),
            instance_url=session.instance_url,
        )
        connections = provider.connections_from_tokens(tokens=tokens, instance_url=session.instance_url)
    except ProviderError as exc:
        log.warning("connect %s failed: %s", provider.id, exc)
        if provider.asks_for_instance and exc.code == "invalid_client":
            # The server forgot our registration: the next attempt registers afresh.
            forget_instance_app(platform=provider.id, instance_url=session.instance_url)
            raise _fail(
                session, f"{provider.name} no longer knows Postwright's app there. Please connect again."
            ) from None
        raise _fail(session, f"{provider.name} did not complete the connection: {exc.message}") from None
    if not connections:
        raise _fail(session, f"{provider.name} returned no account you can publish to.")
    if len(connections) == 1:
        connect_finish(session=session, connections=connections)
    else:
        session.status = ConnectSession.Status.SELECTING
        session.secrets = {"pending": [_serialise(c) for c in connections]}
        session.save(update_fields=["status", "secrets"])
    return session


def _serialise(connection: Connection) -> dict[str, Any]:
    profile = connection.profile
    return {
        "profile": {
            "external_id": profile.external_id,
            "username": profile.username,
            "display_name": profile.display_name,
            "avatar_url": profile.avatar_url,
            "profile_url": profile.profile_url,
        },
        "secrets": connection.secrets,
        "expires_at": connection.expires_at.isoformat() if connection.expires_at else None,
        "instance_url": connection.instance_url,
        "extra": connection.extra,
    }


def pending_choices(session: ConnectSession) -> list[dict[str, Any]]:
    """The accounts waiting to be chosen, without their secrets (for the selection page)."""
    return [item["profile"] for item in session.secrets.get("pending", [])]


@transaction.atomic
def connect_select(*, session: ConnectSession, external_ids: list[str]) -> list[SocialAccount]:
    if session.status != ConnectSession.Status.SELECTING or session.expired:
        raise ConnectError("This selection has expired. Start the connection again.")
    pending = {item["profile"]["external_id"]: item for item in session.secrets.get("pending", [])}
    chosen = [pending[i] for i in external_ids if i in pending]
    if not chosen:
        raise ConnectError("Choose at least one account to connect.")
    connections = [
        Connection(
            profile=Profile(**item["profile"]),
            secrets=item["secrets"],
            expires_at=datetime.fromisoformat(item["expires_at"]) if item["expires_at"] else None,
            instance_url=item["instance_url"],
            extra=item["extra"],
        )
        for item in chosen
    ]
    return connect_finish(session=session, connections=connections)


@transaction.atomic
def connect_finish(*, session: ConnectSession, connections: list[Connection]) -> list[SocialAccount]:
    accounts = [
        account_save(
            workspace=session.workspace,
            platform=session.platform,
            connection=connection,
            user=session.created_by,
            tenant_id=session.tenant_id,
        )
        for connection in connections
    ]
    session.status = ConnectSession.Status.COMPLETED
    session.secrets = {}  # the verifier and pending tokens are not needed any more
    session.save(update_fields=["status", "secrets"])
    return accounts


def connect_with_form(
    *, actor: Membership, provider: Provider, data: Mapping[str, Any], tenant_id: str = ""
) -> SocialAccount:
    """Connect by credentials (Bluesky app password) or instantly (the demo network)."""
    try:
        connection = provider.connect_with_form(data=data)
    except ProviderError as exc:
        if exc.error_class == ErrorClass.AUTH:
            raise ConnectError(f"{provider.name} did not accept those credentials: {exc.message}") from None
        raise ConnectError(f"{provider.name} could not be reached or refused: {exc.message}") from None
    return account_save(
        workspace=actor.workspace, platform=provider.id, connection=connection, user=actor.user, tenant_id=tenant_id
    )


@transaction.atomic
def account_save(
    *, workspace: Workspace, platform: str, connection: Connection, user: User | None, tenant_id: str = ""
) -> SocialAccount:
    """Create or update the account; reconnecting never discards a stored refresh token."""
    profile = connection.profile
    account = (
        SocialAccount.objects.select_for_update()
        .filter(workspace=workspace, platform=platform, external_id=profile.external_id)
        .first()
    )
    new_secrets = dict(connection.secrets)
    if account is None:
        account = SocialAccount(workspace=workspace, platform=platform, external_id=profile.external_id)
    elif "refresh_token" not in new_secrets and account.secrets.get("refresh_token"):
        new_secrets["refresh_token"] = account.secrets["refresh_token"]
    account.username = profile.username
    account.display_name = profile.display_name
    account.avatar_url = safe_url(profile.avatar_url)
    account.profile_url = safe_url(profile.profile_url)
    account.instance_url = connection.instance_url
    account.secrets = new_secrets
    account.token_expires_at = connection.expires_at
    account.extra = {**account.extra, **connection.extra}
    account.status = SocialAccount.Status.ACTIVE
    account.last_error = ""
    account.last_checked_at = timezone.now()
    account.connected_by = user or account.connected_by
    account.tenant_id = tenant_id or account.tenant_id
    account.save()
    return account


# --- Account health ---------------------------------------------------------------------------


def _app_for(account: SocialAccount, provider: Provider) -> AppCredentials | None:
    try:
        return app_credentials_for(workspace=account.workspace, provider=provider, instance_url=account.instance_url)
    except ProviderError:
        return None


def _store_state(account: SocialAccount, state: AccountState) -> None:
    if state.secrets_changed:
        account.secrets = state.secrets
        fields = ["secrets", "updated_at"]
        if state.token_expires_at is not None:
            account.token_expires_at = state.token_expires_at
            fields.append("token_expires_at")
        account.save(update_fields=fields)


def account_mark_needs_reconnect(*, account: SocialAccount, reason: str) -> None:
    """Flag the account and tell the workspace's admins, once per incident."""
    was_active = account.status == SocialAccount.Status.ACTIVE
    account.status = SocialAccount.Status.NEEDS_RECONNECT
    account.last_error = reason[:500]
    account.last_checked_at = timezone.now()
    account.save(update_fields=["status", "last_error", "last_checked_at", "updated_at"])
    if was_active:
        _tell_admins(account, reason)


def _tell_admins(account: SocialAccount, reason: str) -> None:
    title = f"{account.get_platform_display()} account {account.username} needs to be reconnected"
    body = f"{reason}\n\nScheduled posts to this account will fail until it is reconnected."
    url = reverse("connections")
    admins = Membership.objects.filter(workspace=account.workspace, role__in=[Role.OWNER, Role.ADMIN]).select_related(
        "user"
    )
    for membership in admins:
        notify(user=membership.user, workspace=account.workspace, title=title, body=body, url=url, level="warning")
    recipients = [m.user.email for m in admins]
    if recipients:
        transaction.on_commit(
            lambda: send_mail(
                subject=f"[Postwright] {title}",
                message=f"{body}\n\nReconnect it here: {settings.SITE_URL}{url}",
                from_email=None,
                recipient_list=recipients,
                fail_silently=True,
            )
        )


def account_refresh(*, account_id: int) -> SocialAccount:
    """Refresh one account's token under a row lock, so two refreshes cannot lose a rotated token."""
    failure: ProviderError | None = None
    with transaction.atomic():
        account = SocialAccount.objects.select_for_update().select_related("workspace").get(pk=account_id)
        if account.status == SocialAccount.Status.DISCONNECTED:
            return account
        provider = get_provider(account.platform)
        try:
            tokens = provider.refresh(app=_app_for(account, provider), account=account.state())
        except ProviderError as exc:
            failure = exc
        else:
            account.secrets = {**account.secrets, **tokens.as_secrets()}
            account.token_expires_at = tokens.expires_at
            account.last_checked_at = timezone.now()
            account.last_error = ""
            account.status = SocialAccount.Status.ACTIVE
            account.save()
            return account
    # Recorded outside the locked block: the failure must be saved, not rolled back with it.
    if failure.error_class == ErrorClass.AUTH:
        account_mark_needs_reconnect(account=account, reason=f"Token refresh was refused: {failure.message}")
    else:
        account.last_error = f"Refresh failed ({failure.error_class.value}), will retry: {failure.message}"[:500]
        account.last_checked_at = timezone.now()
        account.save(update_fields=["last_error", "last_checked_at", "updated_at"])
    raise failure


def account_check(*, account: SocialAccount) -> SocialAccount:
    """Prove the credentials work now (the Accounts page's "Check" button)."""
    provider = get_provider(account.platform)
    try:
        profile = call_with_account(account=account, operation=lambda state: provider.check(
            app=_app_for(account, provider), account=state
        ))  # fmt: skip
    except ProviderError as exc:
        if exc.error_class != ErrorClass.AUTH:
            account.last_error = f"Check failed ({exc.error_class.value}): {exc.message}"[:500]
            account.last_checked_at = timezone.now()
            account.save(update_fields=["last_error", "last_checked_at", "updated_at"])
        raise
    account.username = profile.username or account.username
    account.display_name = profile.display_name or account.display_name
    account.avatar_url = safe_url(profile.avatar_url) or account.avatar_url
    account.last_checked_at = timezone.now()
    account.last_error = ""
    account.save()
    return account


def call_with_account(*, account: SocialAccount, operation: Callable[[AccountState], T]) -> T:
    """Run a platform call for an account: persist rotated secrets, refresh once on AUTH, and
    mark the account "needs reconnect" when that does not help. Publishing uses this too."""
    provider = get_provider(account.platform)
    state = account.state()
    try:
        result = operation(state)
    except ProviderError as exc:
        _store_state(account, state)
        if exc.error_class != ErrorClass.AUTH:
            raise
        if not provider.supports_refresh:
            account_mark_needs_reconnect(account=account, reason=exc.message)
            raise
        account = account_refresh(account_id=account.pk)  # marks needs-reconnect itself if refused
        state = account.state()
        try:
            result = operation(state)
        except ProviderError as again:
            _store_state(account, state)
            if again.error_class == ErrorClass.AUTH:
                account_mark_needs_reconnect(account=account, reason=again.message)
            raise
    _store_state(account, state)
    return result


def account_disconnect(*, account: SocialAccount) -> None:
    """Revoke at the platform where it can, wipe the secrets, keep the row for post history.

    The platform call happens outside any transaction: a slow platform must not hold locks."""
    provider = get_provider(account.platform)
    if provider.supports_revoke and account.secrets:
        try:
            provider.revoke(app=_app_for(account, provider), account=account.state())
        except ProviderError as exc:
            # The user asked to disconnect: a platform that cannot be reached must not stop that.
            log.warning("revoking %s account %s failed: %s", account.platform, account.pk, exc)
    account.secrets = {}
    account.token_expires_at = None
    account.status = SocialAccount.Status.DISCONNECTED
    account.last_error = ""
    account.save()


def refresh_expiring_tokens() -> dict[str, int]:
    """Scheduled: refresh every active account whose token expires within its provider's margin."""
    counts = {"refreshed": 0, "failed": 0}
    now = timezone.now()
    candidates = SocialAccount.objects.filter(
        status=SocialAccount.Status.ACTIVE, token_expires_at__isnull=False
    ).values_list("pk", "platform", "token_expires_at")
    for pk, platform, expires_at in candidates:
        try:
            provider = get_provider(platform)
        except KeyError:
            continue
        if not provider.supports_refresh or expires_at - now > timedelta(seconds=provider.refresh_margin_s):
            continue
        try:
            account_refresh(account_id=pk)
            counts["refreshed"] += 1
        except ProviderError:
            counts["failed"] += 1
    return counts


def expire_connect_sessions() -> int:
    """Scheduled: drop abandoned connect attempts (and the verifiers and tokens they hold)."""
    cutoff = timezone.now() - timedelta(days=1)
    stale = ConnectSession.objects.filter(expires_at__lt=timezone.now()).exclude(status=ConnectSession.Status.COMPLETED)
    stale.update(status=ConnectSession.Status.FAILED, error="expired", secrets={})
    deleted, _ = ConnectSession.objects.filter(created_at__lt=cutoff).delete()
    return deleted
