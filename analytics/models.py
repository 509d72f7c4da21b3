from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import WorkspaceOwned
from connections.models import SocialAccount


class ImportRun(WorkspaceOwned):
    """One import of an account's existing posts, paged and resumable (see analytics/imports.py).

    ``cursor`` is where the next page starts, saved in the transaction that stores a page's
    posts, so a run that crashed resumes exactly after the last page it committed."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="import_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    cursor = models.CharField(max_length=1000, blank=True)
    pages = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)  # already here: imported before, or published by us
    total = models.PositiveIntegerField(null=True, blank=True)  # when known: the cap, or the platform's count
    failures = models.PositiveSmallIntegerField(default=0)  # in a row; a page that lands resets it
    # When the queued run may go (a platform's pace asked it to wait) and how long a worker holds it.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")  # fmt: skip
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One import at a time per account: a second request joins the one under way.
            models.UniqueConstraint(
                fields=["account"], condition=Q(status__in=["queued", "running"]), name="one_live_import_per_account"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="import_due")]

    def __str__(self) -> str:
        return f"import of {self.account} ({self.status})"

    @property
    def live(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, round(100 * (self.imported + self.skipped) / self.total))


class ImportedPost(models.Model):
    """A platform post an import has seen, once per account: what makes a re-run skip it. It
    outlives the post it became (SET_NULL), so a post removed here does not come back."""

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="+")
    platform_post_id = models.CharField(max_length=255)
    post = models.ForeignKey("publishing.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "platform_post_id"], name="import_once_per_account")]

    def __str__(self) -> str:
        return f"{self.platform_post_id} of {self.account}"
