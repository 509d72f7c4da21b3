import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import WorkspaceOwned
from connections.providers.base import AccountState
from connections.registry import platform_choices
from connections.vault import EncryptedJSONField, EncryptedTextField


class OAuthApp(WorkspaceOwned):
    """A workspace's own OAuth client for a platform (bring your own keys)."""

    platform = models.CharField(max_length=32, choices=platform_choices)
    client_id = models.CharField(max_length=255)
    client_secret = EncryptedTextField()
    scopes = models.CharField(max_length=500, blank=True, help_text="Space-separated; empty uses the defaults.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "platform"], name="one_app_per_platform")]
        verbose_name = "OAuth app (bring your own keys)"
        verbose_name_plural = "OAuth apps (bring your own keys)"

    def __str__(self) -> str:
        return f"{self.get_platform_display()} app of {self.workspace}"


class InstanceApp(models.Model):
    """Our client registration on one server of a federated platform (a Mastodon instance).

    Registered once per server and redirect URI, shared by every workspace connecting there.
    """

    platform = models.CharField(max_length=32, choices=platform_choices)
    instance_url = models.URLField()
    redirect_uri = models.URLField()
    client_id = models.CharField(max_length=255)
    client_secret = EncryptedTextField()
    scopes = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "instance_url", "redirect_uri"], name="one_app_per_instance")
        ]

    def __str__(self) -> str:
        return f"{self.platform} app on {self.instance_url}"


class Grant(WorkspaceOwned):
    """One consent at a platform: its tokens, expiry and health, shared by every account it yielded.

    The Pages and Instagram accounts of one Meta login, or a LinkedIn member and its organizations,
    act with the same user token; keeping it once means a refresh that rotates it cannot leave a
    sibling holding the old one. What only one account has (a Page token) stays on that account.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        REVOKED = "revoked", "Revoked"

    platform = models.CharField(
        max_length=32, choices=platform_choices, help_text="The provider that ran the consent (and refreshes it)."
    )
    secrets = EncryptedJSONField()
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    scope = models.CharField(max_length=1000, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # When the admins were told that this consent, which cannot be refreshed, lapses soon.
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} consent #{self.pk} ({self.status})"


class SocialAccount(WorkspaceOwned):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        DISCONNECTED = "disconnected", "Disconnected"

    platform = models.CharField(max_length=32, choices=platform_choices)
    external_id = models.CharField(max_length=255, help_text="The platform's own id for the account.")
    username = models.CharField(max_length=255)
    display_name = models.CharField(max_length=255, blank=True)
    avatar_url = models.URLField(max_length=1000, blank=True)
    profile_url = models.URLField(max_length=1000, blank=True)
    instance_url = models.URLField(blank=True, help_text="Server of a federated account (PDS, Mastodon instance).")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    # Null only for accounts made outside the connect flow (fixtures, benches): they hold all secrets.
    # RESTRICT, not PROTECT: deleting a workspace removes both, but a grant in use cannot go alone.
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.RESTRICT, related_name="accounts")
    # Only what this account alone holds (a Facebook Page token); the consent's tokens are the grant's.
    secrets = EncryptedJSONField()
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    # An opaque id a developer's product passes for its own user; carried from the connect attempt.
    tenant_id = models.CharField(max_length=255, blank=True, db_index=True)
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "platform", "external_id"], name="one_account_per_workspace")
        ]
        ordering = ["platform", "username"]

    def __str__(self) -> str:
        return f"{self.get_platform_display()}: {self.username}"

    @property
    def token_expires_at(self) -> datetime | None:
        """The consent's expiry: read from the grant, never stored twice."""
        grant = self.grant  # no query when grant_id is None
        return grant.expires_at if grant is not None else None

    @property
    def problem(self) -> str:
        """What to show beside the status: this account's own error, else its grant's."""
        grant = self.grant
        return self.last_error or (grant.last_error if grant is not None else "")

    def state(self) -> AccountState:
        """The account as providers see it: the grant's secrets overlaid by the account's own."""
        grant = self.grant
        grant_secrets = grant.secrets if grant is not None else {}
        return AccountState(
            external_id=self.external_id,
            username=self.username,
            secrets={**grant_secrets, **self.secrets},
            instance_url=self.instance_url,
            extra=dict(self.extra),
            account_keys=frozenset(self.secrets) if grant is not None else None,
            workspace_id=self.workspace_id,
        )

    def public_state(self) -> AccountState:
        """The account without its secrets: enough for rules that read only what its server said
        (instance limits), and nothing is decrypted or read from the grant to build it."""
        return AccountState(external_id=self.external_id, username=self.username, secrets={},
                            instance_url=self.instance_url, extra=dict(self.extra),
                            workspace_id=self.workspace_id)  # fmt: skip

    def grant_state(self) -> AccountState:
        """The consent alone, for grant-level calls (refresh, revoke): no per-account token mixed in."""
        grant = self.grant
        return AccountState(
            external_id=self.external_id,
            username=self.username,
            secrets=dict(grant.secrets) if grant is not None else dict(self.secrets),
            instance_url=self.instance_url,
            extra=dict(self.extra),
            workspace_id=self.workspace_id,
        )


def new_state() -> str:
    return secrets.token_urlsafe(32)


def connect_session_expiry() -> datetime:
    return timezone.now() + timedelta(minutes=settings.CONNECT_SESSION_MINUTES)


class ConnectSession(WorkspaceOwned):
    """One connect attempt: its state and PKCE verifier, then the accounts waiting to be chosen."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the platform"
        SELECTING = "selecting", "Choosing accounts"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    platform = models.CharField(max_length=32, choices=platform_choices)
    state = models.CharField(max_length=64, unique=True, default=new_state)
    # PKCE verifier and the not-yet-chosen accounts' tokens are secrets like any other.
    secrets = EncryptedJSONField()
    redirect_uri = models.URLField()
    instance_url = models.URLField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=500, blank=True)
    tenant_id = models.CharField(max_length=255, blank=True)
    reconnect_account = models.ForeignKey(SocialAccount, null=True, blank=True, on_delete=models.SET_NULL)
    # A member (the dashboard), or an API key: then the platform's consent is given by the
    # developer's own user, who is not signed in here, and the callback sends them to ``return_to``.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    api_key_id = models.BigIntegerField(null=True, blank=True, help_text="The API key that started it.")
    return_to = models.URLField(max_length=2000, blank=True, help_text="The developer's redirect_uri (API only).")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=connect_session_expiry)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        who = self.created_by or f"API key #{self.api_key_id}"
        return f"{self.platform} connect by {who} ({self.status})"

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()


class QuotaUsage(models.Model):
    """Units of a platform's daily quota spent, per quota holder (a Google project, known by a
    hash of its OAuth client) and per day as the platform counts days. Kept in the database so
    every worker counts against the same total; rows for past days are history, never read."""

    platform = models.CharField(max_length=32, choices=platform_choices)
    holder = models.CharField(max_length=64, help_text="A hash naming who the quota belongs to.")
    day = models.DateField()
    units = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "holder", "day"], name="quota_usage_once_a_day")]

    def __str__(self) -> str:
        return f"{self.platform} quota {self.day}: {self.units}"
