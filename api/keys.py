"""API keys: created and revoked by admins, checked on every API request."""

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.actors import Actor, as_actor
from accounts.audit import audit
from accounts.models import Membership
from accounts.roles import Capability, Role
from api.models import SHOWN_PREFIX_LENGTH, TOKEN_PREFIX, ApiKey, hash_key

MAX_TENANT_IDS = 100
# Writing last-used on every request would make every read a write; once a minute is enough to show.
LAST_USED_EVERY = timedelta(seconds=60)


class KeyRefused(Exception):
    """The bearer token is not a usable key; the message says why, without saying whose it is."""


@dataclass(frozen=True)
class Principal:
    """Who an API request acts as: the key's actor, and the key (for its tenants and its limits)."""

    actor: Actor
    key: ApiKey

    def sees_tenant(self, tenant_id: str) -> bool:
        return not self.key.tenant_ids or tenant_id in self.key.tenant_ids


def _admin(who: Actor | Membership) -> Actor:
    actor = as_actor(who)
    actor.require(Capability.MANAGE_SETTINGS, "Only admins can manage API keys.")
    if actor.api_key_id is not None:
        # A key acts as an admin for connections and webhooks; minting keys stays with people.
        raise PermissionDenied("API keys are made and revoked by members, not by other keys.")
    return actor


def _clean_tenants(tenant_ids: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip() for t in tenant_ids if t.strip()))
    if len(cleaned) > MAX_TENANT_IDS:
        raise ValidationError({"tenant_ids": f"Restrict a key to at most {MAX_TENANT_IDS} tenant ids."})
    if any(len(t) > 255 for t in cleaned):
        raise ValidationError({"tenant_ids": "A tenant id is at most 255 characters."})
    return cleaned


def api_key_create(
    *, actor: Actor | Membership, name: str, scope: str, expires_at: datetime | None = None,
    tenant_ids: list[str] | None = None,
) -> tuple[ApiKey, str]:  # fmt: skip
    """A new key and its token; the token is shown once and only its hash is kept."""
    actor = _admin(actor)
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "Name the key (up to 100 characters), e.g. after the app that uses it."})
    if scope not in ApiKey.Scope.values:
        raise ValidationError({"scope": "Pick read, or read and write."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry has passed: pick a time in the future, or none."})
    tenants = _clean_tenants(tenant_ids or [])
    for _attempt in range(3):  # a prefix collision is a one-in-2**48 event; try again rather than fail
        token = ApiKey.new_token()
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    workspace=actor.workspace, name=name, scope=scope, expires_at=expires_at, tenant_ids=tenants,
                    prefix=token[:SHOWN_PREFIX_LENGTH], key_hash=hash_key(token), created_by=actor.user,
                )  # fmt: skip
        except IntegrityError:
            continue
        audit("api_key.created", actor=actor, obj=key, label=name, details={"scope": scope, "prefix": key.prefix})
        return key, token
    raise RuntimeError("could not draw a unique API key prefix")


def api_key_revoke(*, actor: Actor | Membership, key: ApiKey) -> ApiKey:
    """Revoked at once: the next request with it is refused. Revoking twice changes nothing."""
    actor = _admin(actor)
    if key.workspace_id != actor.workspace.pk:
        raise ApiKey.DoesNotExist("No such key in this workspace.")
    if ApiKey.objects.filter(pk=key.pk, revoked_at=None).update(revoked_at=timezone.now()):
        audit("api_key.revoked", actor=actor, obj=key, label=key.name, details={"prefix": key.prefix})
    key.refresh_from_db()
    return key


def api_key_actor(key: ApiKey) -> Actor:
    # Read-write keys connect their users' accounts and manage webhooks (a backend integration
    # needs both), so they act as admins. A key is made by an admin, so it never exceeds its
    # maker, and no key makes or revokes keys (_admin).
    role = Role.ADMIN if key.scope == ApiKey.Scope.READ_WRITE else Role.VIEWER
    return Actor(workspace=key.workspace, role=role, user=None, api_key_id=key.pk, label=f"API key {key.name}")


def api_key_authenticate(*, token: str, ip: str | None) -> Principal:
    """The principal a bearer token acts as, or KeyRefused with the reason."""
    if not token.startswith(TOKEN_PREFIX) or not 40 <= len(token) <= 100:
        raise KeyRefused("That is not a Postwright API key (they start with pw_live_).")
    key = ApiKey.objects.select_related("workspace__plan").filter(prefix=token[:SHOWN_PREFIX_LENGTH]).first()
    # Compared in constant time, so response times do not reveal how much of a hash matched.
    if key is None or not hmac.compare_digest(key.key_hash, hash_key(token)):
        raise KeyRefused("Unknown API key.")
    if key.revoked_at is not None:
        raise KeyRefused("This API key was revoked.")
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise KeyRefused("This API key has expired.")
    _touch(key, ip)
    return Principal(actor=api_key_actor(key), key=key)


def _touch(key: ApiKey, ip: str | None) -> None:
    now = timezone.now()
    if key.last_used_at and now - key.last_used_at < LAST_USED_EVERY and key.last_used_ip == ip:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)
    if key.last_used_at is None or key.last_used_ip != ip:
        # A first use, or one from an address the key was not last used from: worth a record;
        # every request would drown the log (the key's page shows its last use).
        audit("api_key.used", actor=api_key_actor(key), obj=key, label=key.name, details={"ip": ip})
    key.last_used_at, key.last_used_ip = now, ip


def api_key_actor_by_id(key_id: int) -> Actor | None:
    """The actor of a key as it is now, or None once it is revoked, expired or gone (a connect
    started by a key finishes only while the key still works)."""
    key = ApiKey.objects.select_related("workspace").filter(pk=key_id, revoked_at=None).first()
    if key is None or (key.expires_at is not None and key.expires_at <= timezone.now()):
        return None
    return api_key_actor(key)
