import hashlib
import secrets
import zoneinfo
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from accounts.roles import Role


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (use a name like Europe/Paris).")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May log in to the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    # The workspace the dashboard shows; kept per user so it survives logins and devices.
    current_workspace = models.ForeignKey(
        "Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Empty: the user sees times in each workspace's zone; set it to travel or to work remotely.
    timezone = models.CharField(
        max_length=64, blank=True, validators=[validate_timezone],
        help_text="Leave empty to use each workspace's time zone.",
    )  # fmt: skip

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]

    @property
    def initials(self) -> str:
        words = self.display_name.replace(".", " ").replace("_", " ").split()
        return "".join(word[0] for word in words[:2]).upper() or "?"


class Plan(models.Model):
    """What a workspace may use. Operators edit the limits in Django admin; empty means no limit.

    The services check these (see accounts/plans.py), so the dashboard and the API refuse the same
    things with the same words."""

    name = models.CharField(max_length=50, unique=True)
    is_default = models.BooleanField(default=False, help_text="Given to workspaces that have no plan of their own.")
    connected_accounts = models.PositiveIntegerField(null=True, blank=True)
    members = models.PositiveIntegerField(null=True, blank=True)
    scheduled_posts_per_month = models.PositiveIntegerField(null=True, blank=True)
    api_requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    webhook_endpoints = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ApprovalPolicy(models.TextChoices):
    """Whose scheduled posts wait for an admin or owner to approve them before anything goes out."""

    OFF = "off", "No approval needed"
    EDITORS = "editors", "Editors' posts need approval"
    EVERYONE = "everyone", "Everyone's posts need approval (by another admin or owner)"


class Workspace(models.Model):
    name = models.CharField(max_length=100)
    approval_policy = models.CharField(max_length=16, choices=ApprovalPolicy.choices, default=ApprovalPolicy.OFF)
    plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="workspaces",
        help_text="Empty: the default plan.",
    )  # fmt: skip
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    created_at = models.DateTimeField(auto_now_add=True)
    # An owner asked to delete it: nothing is published meanwhile, and after ``purge_after`` the
    # daily job revokes its accounts and deletes all it holds (accounts/deletion.py). Undo clears both.
    deletion_requested_at = models.DateTimeField(null=True, blank=True)
    purge_after = models.DateTimeField(null=True, blank=True)
    purge_reminded_at = models.DateTimeField(null=True, blank=True)  # the "deleted tomorrow" email went out
    # Purge runs that found a platform unreachable for revoking a consent: the purge waits for
    # the next run, up to PURGE_REVOKE_ATTEMPTS of them (accounts/deletion.py).
    purge_revoke_attempts = models.PositiveSmallIntegerField(default=0)
    members: "models.ManyToManyField[User, Membership]" = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="workspaces"
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EDITOR)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]
        ordering = ["workspace_id", "id"]  # ids: ordering by related fields joins on every query

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


class WorkspaceOwned(models.Model):
    """Base for every model that belongs to a workspace: the tenant boundary lives on this field."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> "InvitationQuerySet":
        return self.filter(accepted_at=None, declined_at=None, revoked_at=None, expires_at__gt=timezone.now())


class Invitation(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EDITOR)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # Only a hash is stored: the link in the email is the credential, like a password reset.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.workspace} ({self.role})"

    @classmethod
    def new_token(cls) -> tuple[str, str]:
        token = secrets.token_urlsafe(32)
        return token, hash_token(token)

    @staticmethod
    def default_expiry() -> datetime:
        return timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS)

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.declined_at:
            return "declined"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class NotificationQuerySet(models.QuerySet["Notification"]):
    def visible_to(self, user: User) -> "NotificationQuerySet":
        """The user's notices, less those of workspaces they no longer belong to: a removed member
        must not go on reading what happens there."""
        member_of = Membership.objects.filter(user=user).values("workspace_id")
        return self.filter(user=user).filter(models.Q(workspace=None) | models.Q(workspace__in=member_of))


class Notification(models.Model):
    """An in-app notice for one user (also sent by email where it matters)."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        SUCCESS = "success", "Success"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.title


class Heartbeat(models.Model):
    """Last sign of life of a background process (worker, dispatcher), shown on the dashboard."""

    name = models.CharField(max_length=50, unique=True)
    last_seen = models.DateTimeField()
    detail = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"


class AppendOnly(RuntimeError):
    """Audit records are written once and never changed; only retention may remove old ones."""


class AuditQuerySet(models.QuerySet["AuditRecord"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly("audit records cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("audit records cannot be deleted; retention removes them by age (audit_expire)")

    def expire(self, *, before: datetime) -> int:
        """The retention job's one way to remove records: those older than ``before``."""
        return models.QuerySet.delete(self.filter(created_at__lt=before))[0]

    def scrub(self) -> int:
        """Erasure, the one change allowed: keep that something happened (action, time, ids) and
        drop every word and address in it. For a purged workspace or a deleted user."""
        blank: dict[str, Any] = {"actor_label": "", "object_label": "", "ip": None, "user_agent": "", "details": {}}
        return models.QuerySet.update(self, **blank)


class AuditRecord(models.Model):
    """One security-relevant action: who, in which workspace, on what, from where, when.

    Append-only (save refuses to change a stored row; update and delete refuse); Django admin
    shows them read-only. ``workspace_id`` is a plain number, not a foreign key: the record
    that a workspace was deleted must outlive the workspace."""

    workspace_id = models.BigIntegerField(null=True, blank=True)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")  # fmt: skip
    actor_label = models.CharField(max_length=200, blank=True)  # an email, "API key ci-bot", "" (the system)
    action = models.CharField(max_length=64)  # see accounts/audit.py ACTIONS
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace_id", "created_at"], name="audit_workspace_time"),
            models.Index(fields=["actor_user", "created_at"], name="audit_actor_time"),
            models.Index(fields=["action", "created_at"], name="audit_action_time"),
            models.Index(fields=["created_at"], name="audit_time"),  # retention
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label or 'system'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("audit records cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly("audit records cannot be deleted")


class KnownDevice(models.Model):
    """A browser a user has signed in from (a hash of its user agent), so a sign-in from one
    never seen before can be told to them by email."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="known_devices")
    fingerprint = models.CharField(max_length=64)
    user_agent = models.CharField(max_length=300, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "fingerprint"], name="device_once_per_user")]

    def __str__(self) -> str:
        return f"{self.user} on {self.user_agent[:60]}"


class DataExport(models.Model):
    """A ZIP of a workspace's data (owners) or of one person's own (anyone), built in the
    background with its progress saved as it goes, kept EXPORT_RETENTION_DAYS once ready."""

    class Kind(models.TextChoices):
        WORKSPACE = "workspace", "Workspace"
        PERSONAL = "personal", "Personal"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Being built"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    step = models.CharField(max_length=100, blank=True)  # what is being written now
    file = models.FileField(upload_to="exports/", blank=True)
    size = models.PositiveBigIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} export {self.pk} ({self.status})"

    @property
    def expires_at(self) -> datetime | None:
        if self.finished_at is None:
            return None
        return self.finished_at + timedelta(days=settings.EXPORT_RETENTION_DAYS)


class LegalPage(models.Model):
    """The operator's own text for a public page (privacy policy, terms, data deletion), edited
    in Django admin; without one, the page shows the default text in accounts/legal.py's templates."""

    class Slug(models.TextChoices):
        PRIVACY = "privacy", "Privacy policy"
        TERMS = "terms", "Terms of service"
        DATA_DELETION = "data-deletion", "Data deletion instructions"

    slug = models.CharField(max_length=32, choices=Slug.choices, unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Plain text: blank lines separate paragraphs; web addresses become links.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.get_slug_display()
