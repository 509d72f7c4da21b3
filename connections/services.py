"""Connecting, refreshing and disconnecting social accounts.

One consent at a platform is one Grant: its tokens, expiry and health, shared by every account it
yielded. Refreshing, "needs reconnect" and revocation work on the grant, so siblings never hold a
token the platform has already rotated; what only one account holds (a Page token) stays on it.
"""

import logging
import secrets as pysecrets
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Actor, as_actor
from accounts.audit import audit
from accounts.models import Membership, User, Workspace, WorkspaceOwned
from accounts.plans import plan_require_room
from accounts.roles import Capability, Role
from accounts.services import notify
from connections.errors import ConnectError, ErrorClass, ProviderError
from connections.models import ConnectSession, Grant, InstanceApp, OAuthApp, SocialAccount
from connections.providers.base import AccountState, AppCredentials, Connection, Profile, Provider
from connections.registry import get_provider
from events.services import EventSpec, event_emit

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


def configured_platforms(*, workspace: Workspace, providers: Iterable[Provider]) -> set[str]:
    """is_configured for many platforms at once (the Accounts page's cards): one query for the
    workspace's own apps, whatever the number of platforms, and no secret decrypted."""
    own = set(OAuthApp.objects.filter(workspace=workspace).values_list("platform", flat=True))
    return {
        provider.id
        for provider in providers
        if not provider.needs_app_credentials
        or provider.asks_for_instance
        or provider.id in own
        or all(settings.PLATFORM_CREDENTIALS.get(provider.id, (None, None)))
    }


def byo_app_provider(platform: str) -> Provider:
    """The provider a workspace may bring its own OAuth app for, or ValidationError saying why not."""
    try:
        provider = get_provider(platform)
    except KeyError:
        raise ValidationError({"platform": f"No platform {platform!r} is offered here."}) from None
    if not provider.needs_app_credentials or provider.asks_for_instance:
        why = "registers itself on each server" if provider.asks_for_instance else "needs no app"
        raise ValidationError({"platform": f"{provider.name} {why}: there are no keys to bring."})
    return provider


def oauth_app_save(
    *, actor: Actor | Membership, platform: str, client_id: str, client_secret: str = "", scopes: str = ""
) -> tuple[OAuthApp, bool]:
    """Create or replace the workspace's own app for a platform; an empty secret keeps the saved one.
    Returns the app and whether it is new."""
    actor = _require(actor, Capability.MANAGE_CONNECTIONS, "Only admins can manage a workspace's app keys.")
    provider = byo_app_provider(platform)
    client_id, client_secret, scopes = client_id.strip(), client_secret.strip(), " ".join(scopes.split())
    problems = {}
    if not client_id or len(client_id) > 255:
        problems["client_id"] = "Paste the client id from the platform's developer console (up to 255 characters)."
    if len(scopes) > 500:
        problems["scopes"] = "Scopes are at most 500 characters."
    with transaction.atomic():
        app = OAuthApp.objects.select_for_update().filter(workspace=actor.workspace, platform=platform).first()
        if not client_secret and (app is None or not app.client_secret):
            problems["client_secret"] = "Paste the client secret from the platform's developer console."
        if problems:
            raise ValidationError(problems)
        created = app is None
        app = app or OAuthApp(workspace=actor.workspace, platform=platform)
        app.client_id, app.scopes = client_id, scopes
        if client_secret:
            app.client_secret = client_secret
        app.save()
        audit("oauth_app.saved", actor=actor, obj=app, label=provider.name)
    return app, created


def oauth_app_delete(*, actor: Actor | Membership, app: OAuthApp) -> None:
    """Back to the instance-wide keys (if any); connected accounts keep working until they refresh."""
    actor = _require(actor, Capability.MANAGE_CONNECTIONS, "Only admins can manage a workspace's app keys.", app)
    with transaction.atomic():
        audit("oauth_app.removed", actor=actor, label=_platform_name(app.platform))
        app.delete()


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


# --- Actors -----------------------------------------------------------------------------------


def _require(who: Actor | Membership, capability: Capability, message: str, *owned: WorkspaceOwned) -> Actor:
    """The actor, once it may act here: the capability, and every object in its own workspace."""
    actor = as_actor(who)
    actor.require(capability, message)
    for obj in owned:
        if obj.workspace_id != actor.workspace.pk:
            raise PermissionDenied("That belongs to another workspace.")
    return actor


AUDITED_ACCOUNT_EVENTS = ("account.connected", "account.reconnected", "account.disconnected")


def _account_event(account: SocialAccount, type: str, *, user: User | None = None) -> None:
    """An account.* event, written in the caller's transaction; small, and never a secret."""
    event_emit(
        EventSpec(
            workspace_id=account.workspace_id,
            type=type,
            subject_type="account",
            subject_id=account.pk,
            payload={"account_id": account.pk, "platform": account.platform, "username": account.username},
            actor_user_id=user.pk if user is not None else None,
            actor_label=user.display_name if user is not None else "",
        )
    )
    if type in AUDITED_ACCOUNT_EVENTS:
        audit(type, actor=user, workspace_id=account.workspace_id, obj=account,
              label=f"{account.platform} {account.username}")  # fmt: skip


# --- Connect flow -----------------------------------------------------------------------------


def connect_start(
    *,
    actor: Actor | Membership,
    provider: Provider,
    instance_url: str = "",
    tenant_id: str = "",
    reconnect_account: SocialAccount | None = None,
    return_to: str = "",
) -> str:
    """Begin an OAuth connect: returns the platform's consent URL to redirect the browser to.

    Started by an API key, nobody is signed in here when the platform sends the user back: the
    callback then finishes as the key and sends the user on to ``return_to`` (the API checks it)."""
    owned = [reconnect_account] if reconnect_account is not None else []
    actor = _require(actor, Capability.MANAGE_CONNECTIONS, "Only admins can connect accounts.", *owned)
    if not provider.offers_consent():
        raise ConnectError(f"{provider.name} connects with a form, not a consent page.")
    if reconnect_account is None:
        _require_account_room(actor.workspace)  # refused before the consent page, not after it
    if actor.user is None and (actor.api_key_id is None or not return_to):
        raise ConnectError("A platform's consent page needs someone to come back to: a member, or a redirect_uri.")
    app = _consent_app(workspace=actor.workspace, provider=provider, instance_url=instance_url)
    if app is None:
        raise ConnectError(f"{provider.name} is not configured for this workspace yet.")
    verifier = pysecrets.token_urlsafe(64) if provider.supports_pkce else None
    session = ConnectSession.objects.create(
        workspace=actor.workspace,
        platform=provider.id,
        created_by=actor.user,
        api_key_id=actor.api_key_id if actor.user is None else None,
        return_to=return_to if actor.user is None else "",
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


def _consent_app(*, workspace: Workspace, provider: Provider, instance_url: str) -> AppCredentials | None:
    """The app a consent runs with; a platform that needs none (the Demo network) gets an empty one."""
    if not provider.needs_app_credentials:
        return AppCredentials("", "", provider.default_scopes, source="none")
    return app_credentials_for(workspace=workspace, provider=provider, instance_url=instance_url)


def _pending_session(provider: Provider, state: str) -> QuerySet[ConnectSession]:
    return ConnectSession.objects.select_related("workspace", "reconnect_account").filter(
        state=state, platform=provider.id, status=ConnectSession.Status.PENDING
    )


def connect_callback(*, user: User, provider: Provider, params: Mapping[str, str]) -> ConnectSession:
    """Finish the platform's redirect. Raises ConnectError with a message for the user."""
    state = params.get("state", "")
    session = _pending_session(provider, state).filter(created_by=user).first() if state else None
    if session is None:
        raise ConnectError("This connect link is not valid any more (or was opened in another browser). Start again.")
    membership = Membership.objects.filter(workspace=session.workspace, user=user).first()
    actor = Actor.of(membership) if membership is not None else None
    return connect_complete(actor=actor, session=session, provider=provider, params=params)[0]


def connect_session_of_key(*, provider: Provider, state: str) -> ConnectSession | None:
    """The pending attempt an API key started with this state, if any: its callback needs no login,
    the state (256 random bits, sent only to the platform) being what proves it."""
    return _pending_session(provider, state).filter(api_key_id__isnull=False).first() if state else None


def connect_complete(
    *, actor: Actor | None, session: ConnectSession, provider: Provider, params: Mapping[str, str]
) -> tuple[ConnectSession, list[SocialAccount]]:
    """The platform's answer to a pending attempt, for whoever started it (``actor`` as they are
    now: None once removed). One account is saved at once (returned); several wait in the session
    (status SELECTING, no account yet) for a choice."""
    if session.expired:
        raise _fail(session, "The connect attempt took too long and expired. Start again.")
    if actor is None or actor.workspace.pk != session.workspace_id or not actor.can(Capability.MANAGE_CONNECTIONS):
        # Removed, demoted or revoked since the attempt started: the consent must not land an account.
        who = "This API key" if session.api_key_id else "You"
        raise _fail(session, f"{who} can no longer connect accounts in this workspace.")
    if params.get("error"):
        if params["error"] == "access_denied":
            raise _fail(session, f"You cancelled the connection on {provider.name}; nothing was connected.")
        detail = params.get("error_description") or params["error"]
        raise _fail(session, f"{provider.name} refused the connection: {detail}")
    code = params.get("code", "")
    if not code:
        raise _fail(session, f"{provider.name} sent back an incomplete answer (no authorization code).")
    app = _consent_app(workspace=session.workspace, provider=provider, instance_url=session.instance_url)
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
    choosable = [c for c in connections if not c.unavailable]
    if not choosable:
        reasons = "; ".join(dict.fromkeys(c.unavailable for c in connections))
        detail = f": {reasons}" if reasons else "."
        raise _fail(session, f"{provider.name} returned no account you can publish to{detail}")
    renewing = _reconnecting(session, choosable)
    if renewing:
        return session, connect_finish(session=session, connections=renewing)
    if len(connections) == 1:
        return session, connect_finish(session=session, connections=connections)
    session.status = ConnectSession.Status.SELECTING
    session.secrets = {"pending": [_serialise(c) for c in connections]}
    session.save(update_fields=["status", "secrets"])
    return session, []


def _reconnecting(session: ConnectSession, connections: list[Connection]) -> list[Connection]:
    """On Reconnect, the yielded accounts that belong to the old grant: the whole grant is renewed
    at once, with no selection step. Empty when this consent does not include the account."""
    account = session.reconnect_account
    if account is None:
        return []
    siblings = {(account.platform, account.external_id)}
    if account.grant is not None:
        siblings |= set(
            account.grant.accounts.exclude(status=SocialAccount.Status.DISCONNECTED).values_list(
                "platform", "external_id"
            )
        )
    renewing = [c for c in connections if _key(session, c) in siblings]
    if (account.platform, account.external_id) not in {_key(session, c) for c in renewing}:
        return []
    return renewing


def _key(session: ConnectSession, connection: Connection) -> tuple[str, str]:
    return connection.platform or session.platform, connection.profile.external_id


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
        "account_secrets": connection.account_secrets,
        "platform": connection.platform,
        "scope": connection.scope,
        "expires_at": connection.expires_at.isoformat() if connection.expires_at else None,
        "instance_url": connection.instance_url,
        "extra": connection.extra,
        "unavailable": connection.unavailable,
    }


def _deserialise(item: dict[str, Any]) -> Connection:
    return Connection(
        profile=Profile(**item["profile"]),
        secrets=item["secrets"],
        account_secrets=item.get("account_secrets", {}),
        platform=item.get("platform", ""),
        scope=item.get("scope", ""),
        expires_at=datetime.fromisoformat(item["expires_at"]) if item["expires_at"] else None,
        instance_url=item["instance_url"],
        extra=item["extra"],
        unavailable=item.get("unavailable", ""),
    )


def pending_choices(session: ConnectSession) -> list[dict[str, Any]]:
    """The accounts waiting to be chosen, without their secrets (for the selection page): each
    profile with its type, its platform's name and, for one that cannot be chosen, why not."""
    return [
        {
            **item["profile"],
            "type": (item.get("extra") or {}).get("account_type", ""),
            "platform_name": _platform_name(item.get("platform") or session.platform),
            "unavailable": item.get("unavailable", ""),
        }
        for item in session.secrets.get("pending", [])
    ]


def _platform_name(platform: str) -> str:
    try:
        return get_provider(platform).name
    except KeyError:
        return platform


@transaction.atomic
def connect_select(
    *, actor: Actor | Membership, session: ConnectSession, external_ids: list[str]
) -> list[SocialAccount]:
    actor = _require(actor, Capability.MANAGE_CONNECTIONS, "Only admins can connect accounts.", session)
    if session.api_key_id is not None:
        if actor.api_key_id != session.api_key_id:
            raise PermissionDenied("Only the API key that started this connection can finish it.")
    elif actor.user is None or session.created_by_id != actor.user.pk:
        raise PermissionDenied("Only the member who started this connection can finish it.")
    if session.status != ConnectSession.Status.SELECTING or session.expired:
        raise ConnectError("This selection has expired. Start the connection again.")
    pending = {item["profile"]["external_id"]: item for item in session.secrets.get("pending", [])}
    chosen = [pending[i] for i in external_ids if i in pending and not pending[i].get("unavailable")]
    if not chosen:
        raise ConnectError("Choose at least one account to connect.")
    return connect_finish(session=session, connections=[_deserialise(item) for item in chosen])


@transaction.atomic
def connect_finish(*, session: ConnectSession, connections: list[Connection]) -> list[SocialAccount]:
    """The chosen accounts of one consent, saved as accounts of one new grant."""
    grant = grant_create(
        workspace=session.workspace, platform=session.platform, connections=connections, user=session.created_by
    )
    accounts = [
        account_save(
            workspace=session.workspace,
            platform=session.platform,
            connection=connection,
            user=session.created_by,
            tenant_id=session.tenant_id,
            grant=grant,
        )
        for connection in connections
    ]
    session.status = ConnectSession.Status.COMPLETED
    session.secrets = {}  # the verifier and pending tokens are not needed any more
    session.save(update_fields=["status", "secrets"])
    return accounts


def connect_with_form(
    *, actor: Actor | Membership, provider: Provider, data: Mapping[str, Any], tenant_id: str = ""
) -> SocialAccount:
    """Connect by credentials (an app password) or instantly (a platform that needs nothing)."""
    actor = _require(actor, Capability.MANAGE_CONNECTIONS, "Only admins can connect accounts.")
    try:
        connection = provider.connect_with_form(data=data)
    except ProviderError as exc:
        if exc.error_class == ErrorClass.AUTH:
            raise ConnectError(f"{provider.name} did not accept those credentials: {exc.message}") from None
        raise ConnectError(f"{provider.name} could not be reached or refused: {exc.message}") from None
    return account_save(
        workspace=actor.workspace, platform=provider.id, connection=connection, user=actor.user, tenant_id=tenant_id
    )


def grant_create(*, workspace: Workspace, platform: str, connections: list[Connection], user: User | None) -> Grant:
    """The grant of one consent. Its secrets are the same in every connection it yielded."""
    secrets: dict[str, Any] = {}
    for connection in connections:
        secrets.update(connection.secrets)
    if "refresh_token" not in secrets:
        # Some platforms (Google) send a refresh token on the first consent only: keep the one
        # the previous grant of these accounts holds, or reconnecting would lose the ability to refresh.
        previous = _previous_refresh_token(workspace=workspace, platform=platform, connections=connections)
        if previous:
            secrets["refresh_token"] = previous
    return Grant.objects.create(
        workspace=workspace,
        platform=platform,
        secrets=secrets,
        expires_at=next((c.expires_at for c in connections if c.expires_at), None),
        scope=next((c.scope for c in connections if c.scope), "")[:1000],
        created_by=user,
    )


def _previous_refresh_token(*, workspace: Workspace, platform: str, connections: list[Connection]) -> str | None:
    external_ids = [c.profile.external_id for c in connections]
    previous = (
        SocialAccount.objects.filter(workspace=workspace, external_id__in=external_ids, grant__platform=platform)
        .exclude(grant__status=Grant.Status.REVOKED)
        .select_related("grant")
        .order_by("-grant__created_at")
    )
    grants = (a.grant for a in previous if a.grant is not None)  # all of them: the filter joins on grant
    return next((g.secrets["refresh_token"] for g in grants if g.secrets.get("refresh_token")), None)


@transaction.atomic
def account_save(
    *,
    workspace: Workspace,
    platform: str,
    connection: Connection,
    user: User | None,
    tenant_id: str = "",
    grant: Grant | None = None,
) -> SocialAccount:
    """Create or update the account as an account of ``grant`` (a new one of its own when None).

    Reconnecting moves the account to the new grant; a grant left with no account is deleted."""
    if grant is None:
        grant = grant_create(workspace=workspace, platform=platform, connections=[connection], user=user)
    profile = connection.profile
    account_platform = connection.platform or platform
    account = (
        SocialAccount.objects.select_for_update()
        .filter(workspace=workspace, platform=account_platform, external_id=profile.external_id)
        .first()
    )
    created = account is None
    previous_grant_id = None if account is None else account.grant_id
    if account is None:
        _require_account_room(workspace)
        account = SocialAccount(workspace=workspace, platform=account_platform, external_id=profile.external_id)
    account.username = profile.username
    account.display_name = profile.display_name
    account.avatar_url = safe_url(profile.avatar_url)
    account.profile_url = safe_url(profile.profile_url)
    account.instance_url = connection.instance_url
    account.grant = grant
    account.secrets = dict(connection.account_secrets)
    account.extra = {**account.extra, **connection.extra}
    account.status = SocialAccount.Status.ACTIVE
    account.last_error = ""
    account.last_checked_at = timezone.now()
    account.connected_by = user or account.connected_by
    account.tenant_id = tenant_id or account.tenant_id
    account.save()
    if previous_grant_id is not None and previous_grant_id != grant.pk:
        _grant_retire_if_unused(grant_id=previous_grant_id)
    _account_event(account, "account.connected" if created else "account.reconnected", user=user)
    return account


def _require_account_room(workspace: Workspace) -> None:
    """The plan's connected-accounts limit, said as a ConnectError: every connect view shows those."""
    used = SocialAccount.objects.filter(workspace=workspace).exclude(status=SocialAccount.Status.DISCONNECTED).count()
    try:
        plan_require_room(workspace=workspace, limit="connected_accounts", used=used)
    except ValidationError as exc:
        raise ConnectError(exc.messages[0]) from None


def _grant_retire_if_unused(*, grant_id: int) -> None:
    """A grant none of whose accounts is connected keeps no secrets: deleted when no account refers
    to it any more, else (disconnected accounts keep their history) wiped and marked revoked.

    Nothing is revoked at the platform here: the accounts moved to a newer consent, and on some
    platforms (Google) revoking an old token ends the new consent too."""
    grant = Grant.objects.select_for_update().filter(pk=grant_id).first()
    if grant is None or grant.accounts.exclude(status=SocialAccount.Status.DISCONNECTED).exists():
        return
    if not grant.accounts.exists():
        grant.delete()
        return
    grant.secrets = {}
    grant.expires_at = None
    grant.status = Grant.Status.REVOKED
    grant.save(update_fields=["secrets", "expires_at", "status", "updated_at"])


# --- Account health ---------------------------------------------------------------------------


def _app_for(account: SocialAccount, provider: Provider) -> AppCredentials | None:
    try:
        return app_credentials_for(workspace=account.workspace, provider=provider, instance_url=account.instance_url)
    except ProviderError:
        return None


def _load_grant(account: SocialAccount) -> None:
    # Read the grant afresh: a sibling may have refreshed it since this account row was loaded.
    if account.grant_id:
        account.grant = Grant.objects.get(pk=account.grant_id)


def _store_state(account: SocialAccount, state: AccountState) -> None:
    """Persist what a provider changed mid-call, each key where it lives (see AccountState)."""
    if state.secrets_changed:  # most calls change nothing: no transaction to open and commit
        _store_changed_state(account, state)


@transaction.atomic
def _store_changed_state(account: SocialAccount, state: AccountState) -> None:
    for_grant, for_account = state.changed_secrets()
    if for_account:
        account.secrets = {**account.secrets, **for_account}
        account.save(update_fields=["secrets", "updated_at"])
    if account.grant_id and (for_grant or state.token_expires_at is not None):
        # Merge under the row lock: only the keys this call changed, never a sibling's newer ones.
        grant = Grant.objects.select_for_update().get(pk=account.grant_id)
        grant.secrets = {**grant.secrets, **for_grant}
        grant.expires_at = state.token_expires_at or grant.expires_at
        grant.save(update_fields=["secrets", "expires_at", "updated_at"])
        account.grant = grant
    state.changed_keys.clear()
    state.secrets_changed = False


def account_mark_needs_reconnect(*, account: SocialAccount, reason: str) -> None:
    """Flag the account's consent (every account of its grant) and tell the admins, once per incident."""
    if account.grant_id:
        grant_mark_needs_reconnect(grant_id=account.grant_id, reason=reason)
        account.refresh_from_db(fields=["status", "last_error", "last_checked_at"])
        return
    with transaction.atomic():
        was_active = account.status == SocialAccount.Status.ACTIVE
        account.status = SocialAccount.Status.NEEDS_RECONNECT
        account.last_error = reason[:500]
        account.last_checked_at = timezone.now()
        account.save(update_fields=["status", "last_error", "last_checked_at", "updated_at"])
        if was_active:
            _account_event(account, "account.needs_reconnect")
            _tell_admins(account.workspace, [account], reason)


@transaction.atomic
def grant_mark_needs_reconnect(*, grant_id: int, reason: str) -> Grant:
    """The consent stopped working: the grant and all its connected accounts flip together, each
    account writes its event, and the admins hear about it once, not once per sibling."""
    grant = Grant.objects.select_for_update().select_related("workspace").get(pk=grant_id)
    if grant.status == Grant.Status.REVOKED:
        return grant
    was_active = grant.status == Grant.Status.ACTIVE
    now = timezone.now()
    grant.status = Grant.Status.NEEDS_RECONNECT
    grant.last_error = reason[:500]
    grant.save(update_fields=["status", "last_error", "updated_at"])
    connected = list(grant.accounts.exclude(status=SocialAccount.Status.DISCONNECTED).order_by("pk"))
    for account in connected:
        flipped = account.status == SocialAccount.Status.ACTIVE
        account.status = SocialAccount.Status.NEEDS_RECONNECT
        account.last_error = reason[:500]
        account.last_checked_at = now
        account.save(update_fields=["status", "last_error", "last_checked_at", "updated_at"])
        if flipped:
            _account_event(account, "account.needs_reconnect")
    if was_active and connected:
        _tell_admins(grant.workspace, connected, reason)
    return grant


def _accounts_named(accounts: list[SocialAccount]) -> str:
    first = accounts[0]
    if len(accounts) == 1:
        return f"{first.get_platform_display()} account {first.username}"
    others = len(accounts) - 1
    plural = "s" if others > 1 else ""
    return f"{first.get_platform_display()} login of {first.username} and {others} other account{plural}"


def _tell_admins(workspace: Workspace, accounts: list[SocialAccount], reason: str) -> None:
    title = f"{_accounts_named(accounts)} needs to be reconnected"
    names = "\n".join(f"- {a.get_platform_display()}: {a.username}" for a in accounts)
    body = f"{reason}\n\nScheduled posts to these accounts will fail until they are reconnected:\n{names}"
    if len(accounts) == 1:
        body = f"{reason}\n\nScheduled posts to this account will fail until it is reconnected."
    _notify_admins(workspace, title, body)


def _notify_admins(workspace: Workspace, title: str, body: str) -> None:
    """In-app and by email (after the commit), to the workspace's owners and admins."""
    url = reverse("connections")
    admins = Membership.objects.filter(workspace=workspace, role__in=[Role.OWNER, Role.ADMIN]).select_related("user")
    for membership in admins:
        notify(user=membership.user, workspace=workspace, title=title, body=body, url=url, level="warning")
    recipients = [m.user.email for m in admins]
    if recipients:
        transaction.on_commit(
            lambda: send_mail(
                subject=f"[Postwright] {title}",
                message=f"{body}\n\nReconnect here: {settings.SITE_URL}{url}",
                from_email=None,
                recipient_list=recipients,
                fail_silently=True,
            )
        )


def _grant_account(grant: Grant) -> SocialAccount | None:
    """The account a grant-level call speaks for (its server, its workspace's app credentials)."""
    accounts = grant.accounts.select_related("workspace").order_by("pk")
    return accounts.exclude(status=SocialAccount.Status.DISCONNECTED).first() or accounts.first()


def grant_refresh(*, grant_id: int, seen_access_token: str | None = None) -> Grant:
    """Refresh one consent's token under a row lock on its grant, so two refreshes cannot lose a
    rotated refresh token, and every account of the grant uses the new token from its next call.

    ``seen_access_token``: the token a failed call used. When the grant holds another one by the
    time the lock is ours, a sibling refreshed meanwhile and there is nothing to do."""
    failure: ProviderError | None = None
    with transaction.atomic():
        grant = Grant.objects.select_for_update().select_related("workspace").get(pk=grant_id)
        if grant.status == Grant.Status.REVOKED:
            return grant
        if seen_access_token is not None and grant.secrets.get("access_token") != seen_access_token:
            return grant
        account = _grant_account(grant)
        if account is None:
            return grant
        provider = get_provider(grant.platform)
        try:
            tokens = provider.refresh(app=_app_for(account, provider), account=account.grant_state())
        except ProviderError as exc:
            failure = exc
        else:
            now = timezone.now()
            # Access and refresh token are written in one row update: never one without the other.
            grant.secrets = {**grant.secrets, **tokens.as_secrets()}
            grant.expires_at = tokens.expires_at
            grant.scope = tokens.scope[:1000] or grant.scope
            grant.last_refreshed_at = now
            grant.last_error = ""
            grant.status = Grant.Status.ACTIVE
            grant.save()
            grant.accounts.filter(status=SocialAccount.Status.NEEDS_RECONNECT).update(
                status=SocialAccount.Status.ACTIVE, last_error="", last_checked_at=now, updated_at=now
            )
            return grant
    # Recorded outside the locked block: the failure must be saved, not rolled back with it.
    if failure.error_class == ErrorClass.AUTH:
        grant_mark_needs_reconnect(grant_id=grant.pk, reason=f"Token refresh was refused: {failure.message}")
    else:
        grant.last_error = f"Refresh failed ({failure.error_class.value}), will retry: {failure.message}"[:500]
        grant.save(update_fields=["last_error", "updated_at"])
    raise failure


def account_refresh(*, account_id: int) -> SocialAccount:
    """Refresh the consent an account belongs to (and with it every sibling's token)."""
    account = SocialAccount.objects.select_related("workspace").get(pk=account_id)
    if account.status == SocialAccount.Status.DISCONNECTED:
        return account
    if not account.grant_id:
        reason = "This account has no stored consent to refresh: reconnect it."
        account_mark_needs_reconnect(account=account, reason=reason)
        raise ProviderError(ErrorClass.AUTH, reason, code="no_grant")
    grant_refresh(grant_id=account.grant_id)
    return SocialAccount.objects.select_related("workspace", "grant").get(pk=account_id)


def account_check(*, actor: Actor | Membership, account: SocialAccount) -> SocialAccount:
    """Prove the credentials work now (the Accounts page's "Check" button)."""
    _require(actor, Capability.EDIT_CONTENT, "Only editors and above can check accounts.", account)
    try:
        provider = get_provider(account.platform)
    except KeyError:
        raise ProviderError(ErrorClass.CONFIG, "This platform is not offered here any more.", code="disabled") from None
    if not provider.supports_check:
        raise ProviderError(ErrorClass.CONFIG, f"{provider.name} offers no way to check an account.", code="no_check")
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
    # Named fields only: a refresh during the check may have changed the status row-wide.
    fields = ["username", "display_name", "avatar_url", "last_checked_at", "last_error", "updated_at"]
    account.save(update_fields=fields)
    return account


def account_tenant_set(*, actor: Actor | Membership, account: SocialAccount, tenant_id: str) -> SocialAccount:
    """Tag an account with the developer's own id for the user it belongs to (or clear it)."""
    _require(actor, Capability.MANAGE_CONNECTIONS, "Only admins can change an account's tenant.", account)
    tenant_id = tenant_id.strip()
    if len(tenant_id) > 255:
        raise ValidationError({"tenant_id": "A tenant id is at most 255 characters."})
    account.tenant_id = tenant_id
    account.save(update_fields=["tenant_id", "updated_at"])
    return account


def call_with_account(*, account: SocialAccount, operation: Callable[[AccountState], T]) -> T:
    """Run a platform call for an account: persist rotated secrets where they live, refresh its
    grant once on AUTH, and mark the grant "needs reconnect" when that does not help.
    Publishing uses this too."""
    _load_grant(account)
    grant = account.grant
    refresher = get_provider(grant.platform if grant is not None else account.platform)
    state = account.state()
    try:
        result = operation(state)
    except ProviderError as exc:
        _store_state(account, state)
        if exc.error_class != ErrorClass.AUTH:
            raise
        if grant is None or not refresher.refreshes(secrets=grant.secrets):
            account_mark_needs_reconnect(account=account, reason=exc.message)
            raise
        seen = grant.secrets.get("access_token")
        account.grant = grant_refresh(grant_id=grant.pk, seen_access_token=seen)  # marks itself if refused
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


def account_revoke(*, account: SocialAccount) -> None:
    """Revoke the account's consent (its grant's, if it has one) at the platform, where the
    platform supports it, and wipe nothing: the caller disconnects once this has worked. Raises
    the ProviderError, so a caller that must be sure (a workspace's purge) can try again later."""
    _load_grant(account)
    provider = get_provider(account.grant.platform if account.grant else account.platform)
    state = account.grant_state() if account.grant else account.state()
    if provider.supports_revoke and state.secrets:
        provider.revoke(app=_app_for(account, provider), account=state)


def account_disconnect(*, actor: Actor | Membership, account: SocialAccount, revoke: bool = True) -> None:
    """Wipe the account's secrets and keep its row for post history. Its consent is revoked at
    the platform (where it can be; not when ``revoke`` is False: the caller has, with
    account_revoke) and wiped only with the last connected account of its grant: the siblings
    still act with it.

    The platform call happens after the commit: a slow platform must not hold locks, and deciding
    "last one" under the grant's lock means two disconnects at once still revoke exactly once."""
    actor = _require(actor, Capability.MANAGE_CONNECTIONS, "Only admins can disconnect accounts.", account)
    at_platform: tuple[Provider, AccountState] | None = None
    with transaction.atomic():
        grant = Grant.objects.select_for_update().filter(pk=account.grant_id).first() if account.grant_id else None
        last = (
            grant is None
            or not grant.accounts.exclude(pk=account.pk).exclude(status=SocialAccount.Status.DISCONNECTED).exists()
        )
        if last and revoke:
            at_platform = (get_provider(grant.platform if grant else account.platform), _revoke_state(account, grant))
        if grant is not None and last:
            grant.secrets = {}
            grant.expires_at = None
            grant.status = Grant.Status.REVOKED
            grant.last_error = ""
            grant.save(update_fields=["secrets", "expires_at", "status", "last_error", "updated_at"])
        account.secrets = {}
        account.status = SocialAccount.Status.DISCONNECTED
        account.last_error = ""
        account.save(update_fields=["secrets", "status", "last_error", "updated_at"])
        _account_event(account, "account.disconnected", user=actor.user)
    if at_platform is not None:
        provider, state = at_platform
        if provider.supports_revoke and state.secrets:
            try:
                provider.revoke(app=_app_for(account, provider), account=state)
            except ProviderError as exc:
                # The user asked to disconnect: a platform that cannot be reached must not stop that.
                log.warning("revoking %s account %s failed: %s", account.platform, account.pk, exc)


def accounts_deauthorized(*, accounts: list[SocialAccount], reason: str) -> int:
    """The platform told us (a signed callback) that the user removed our app: its tokens are dead.
    Their grants flip to "needs reconnect" (events, admins told once) and the dead tokens are
    wiped; no actor, since the platform is the one acting. Returns how many grants it touched."""
    grant_ids = sorted({account.grant_id for account in accounts if account.grant_id})
    with transaction.atomic():
        for grant_id in grant_ids:
            grant = grant_mark_needs_reconnect(grant_id=grant_id, reason=reason)
            grant.secrets = {}
            grant.save(update_fields=["secrets", "updated_at"])
            grant.accounts.update(secrets={}, updated_at=timezone.now())
        for account in accounts:
            if not account.grant_id:
                account_mark_needs_reconnect(account=account, reason=reason)
                SocialAccount.objects.filter(pk=account.pk).update(secrets={}, updated_at=timezone.now())
    return len(grant_ids)


def accounts_erase(*, accounts: list[SocialAccount]) -> int:
    """A user's deletion request relayed by the platform: every token, profile detail and fact
    the platform gave us about these accounts is wiped and their grants revoked. The rows stay
    (disconnected, named only by their platform id) so the workspace's own post history keeps
    its targets; nothing is revoked at the platform, which already dropped the app."""
    with transaction.atomic():
        grant_ids = {account.grant_id for account in accounts if account.grant_id}
        Grant.objects.filter(pk__in=grant_ids).update(
            secrets={}, expires_at=None, status=Grant.Status.REVOKED, last_error="", updated_at=timezone.now()
        )
        for account in SocialAccount.objects.select_for_update().filter(pk__in=[a.pk for a in accounts]):
            account.secrets = {}
            account.username = account.external_id
            account.display_name = account.avatar_url = account.profile_url = account.last_error = ""
            account.extra = {}
            was_connected = account.status != SocialAccount.Status.DISCONNECTED
            account.status = SocialAccount.Status.DISCONNECTED
            account.save()
            if was_connected:
                _account_event(account, "account.disconnected")
    return len(accounts)


def _revoke_state(account: SocialAccount, grant: Grant | None) -> AccountState:
    if grant is None:
        return account.state()
    account.grant = grant  # the locked row: the secrets as they are now
    return account.grant_state()


def refresh_expiring_tokens() -> dict[str, int]:
    """Scheduled: refresh every active grant whose token expires within its provider's margin,
    once per grant however many accounts it serves."""
    counts = {"refreshed": 0, "failed": 0}
    now = timezone.now()
    candidates = Grant.objects.filter(status=Grant.Status.ACTIVE, expires_at__isnull=False).values_list(
        "pk", "platform", "expires_at"
    )
    for pk, platform, expires_at in candidates:
        try:
            provider = get_provider(platform)
        except KeyError:
            continue
        # expires_at is never None here (the filter says so); the check is for the type checker.
        if (
            not provider.supports_refresh
            or expires_at is None
            or expires_at - now > timedelta(seconds=provider.refresh_margin_s)
        ):
            continue
        # Decrypted only for the grants due: one without a refresh token is warned instead.
        if not provider.refreshes(secrets=Grant.objects.get(pk=pk).secrets):
            continue
        try:
            grant_refresh(grant_id=pk)
            counts["refreshed"] += 1
        except ProviderError:
            counts["failed"] += 1
    return counts


EXPIRY_WARNING = timedelta(days=7)


def warn_expiring_consents() -> dict[str, int]:
    """Scheduled: a consent its platform cannot refresh (a Facebook login: about 60 days, and 90
    days of data access) tells the workspace's admins once, a week before it lapses, and turns
    "needs reconnect" when it has, rather than failing the first post after."""
    now = timezone.now()
    counts = {"warned": 0, "lapsed": 0}
    due = Grant.objects.filter(status=Grant.Status.ACTIVE, expires_at__lte=now + EXPIRY_WARNING)
    for grant in due.select_related("workspace"):
        try:
            provider = get_provider(grant.platform)
        except KeyError:
            continue
        if grant.expires_at is None or provider.refreshes(secrets=grant.secrets):
            continue  # refresh_expiring_tokens renews these
        local = grant.expires_at.astimezone(grant.workspace.tzinfo)
        when = f"{local.day} {local:%B %Y, %H:%M}"
        if grant.expires_at <= now:
            reason = f"The {provider.name} login lapsed on {when}: reconnect to keep publishing."
            grant_mark_needs_reconnect(grant_id=grant.pk, reason=reason)
            counts["lapsed"] += 1
        elif Grant.objects.filter(pk=grant.pk, expiry_warned_at__isnull=True).update(expiry_warned_at=now):
            accounts = list(grant.accounts.exclude(status=SocialAccount.Status.DISCONNECTED).order_by("pk"))
            if accounts:
                title = f"{_accounts_named(accounts)} must be reconnected by {when}"
                body = (
                    f"{provider.name} logins cannot be renewed automatically. Reconnect before {when}, "
                    "or scheduled posts to these accounts will fail from then on."
                )
                _notify_admins(grant.workspace, title, body)
                counts["warned"] += 1
    return counts


def expire_connect_sessions() -> int:
    """Scheduled: drop abandoned connect attempts (and the verifiers and tokens they hold)."""
    cutoff = timezone.now() - timedelta(days=1)
    stale = ConnectSession.objects.filter(expires_at__lt=timezone.now()).exclude(status=ConnectSession.Status.COMPLETED)
    stale.update(status=ConnectSession.Status.FAILED, error="expired", secrets={})
    deleted, _ = ConnectSession.objects.filter(created_at__lt=cutoff).delete()
    return deleted
