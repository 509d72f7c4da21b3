"""Stored analytics: snapshots of each published part's numbers and each account's totals,
the latest numbers per part (what dashboards read), and the sync schedule that fetches them.

A metric that is None means the platform has no such number (never "zero"); a platform that
has not counted yet is retried later and nothing is stored (see analytics/sync.py).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from accounts.models import WorkspaceOwned
from connections.models import SocialAccount
from publishing.models import Target, TargetPart


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


# The per-post numbers, in the order exports and dashboards list them.
POST_METRIC_FIELDS = ("likes", "reposts", "replies", "quotes", "saves", "views", "reach", "clicks")
# Summed into ``engagement`` (views, reach and clicks are exposure, not engagement).
ENGAGEMENT_FIELDS = ("likes", "reposts", "replies", "quotes", "saves")
ACCOUNT_METRIC_FIELDS = ("followers", "following", "posts_count", "views")


class PostMetricFields(models.Model):
    """The numbers one post part has at one moment; None: the platform has no such number."""

    likes = models.PositiveBigIntegerField(null=True, blank=True)
    reposts = models.PositiveBigIntegerField(null=True, blank=True)  # shares, boosts, retweets
    replies = models.PositiveBigIntegerField(null=True, blank=True)  # comments
    quotes = models.PositiveBigIntegerField(null=True, blank=True)
    saves = models.PositiveBigIntegerField(null=True, blank=True)  # bookmarks, pins
    views = models.PositiveBigIntegerField(null=True, blank=True)  # impressions, plays
    reach = models.PositiveBigIntegerField(null=True, blank=True)  # distinct accounts reached
    clicks = models.PositiveBigIntegerField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)  # the platform's own extras, under its names

    class Meta:
        abstract = True


class PartMetricSnapshot(WorkspaceOwned, PostMetricFields):
    """The numbers of one part at one sync; written only when they changed since the last one."""

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="+")
    part = models.ForeignKey(TargetPart, on_delete=models.CASCADE, related_name="metric_snapshots")
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["part_id", "taken_at"]
        indexes = [
            models.Index(fields=["workspace", "taken_at"], name="partsnap_workspace_time"),
            models.Index(fields=["part", "taken_at"], name="partsnap_part_time"),
        ]

    def __str__(self) -> str:
        return f"metrics of part {self.part_id} at {self.taken_at:%Y-%m-%d %H:%M}"


class PartMetrics(WorkspaceOwned, PostMetricFields):
    """The latest numbers of one part, one row per part: what lists and dashboards read.

    ``published_at`` is copied from the part so a range query needs no join."""

    part = models.OneToOneField(TargetPart, on_delete=models.CASCADE, related_name="metrics")
    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="+")
    published_at = models.DateTimeField()
    engagement = models.PositiveBigIntegerField(default=0)  # likes + reposts + replies + quotes + saves
    first_synced_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "part metrics"
        indexes = [
            models.Index(fields=["workspace", "published_at"], name="partmetrics_workspace_time"),
            models.Index(fields=["account", "published_at"], name="partmetrics_account_time"),
            # The Analytics page's top posts (ORDER BY the metric, unknown last, LIMIT 10): walked in
            # order and stopped at ten, instead of sorting every part of a long range.
            *(
                models.Index(
                    F("workspace"),
                    F(name).desc(nulls_last=True),
                    F("published_at").desc(),
                    name=f"partmetrics_top_{name}",
                )
                for name in ("engagement", "likes", "reposts", "replies", "views")
            ),
        ]

    def __str__(self) -> str:
        return f"latest metrics of part {self.part_id}"


class AccountMetricSnapshot(WorkspaceOwned):
    """An account's totals at one sync (followers and the like); written only when they changed."""

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="metric_snapshots")
    taken_at = models.DateTimeField()
    followers = models.PositiveBigIntegerField(null=True, blank=True)
    following = models.PositiveBigIntegerField(null=True, blank=True)
    posts_count = models.PositiveBigIntegerField(null=True, blank=True)
    views = models.PositiveBigIntegerField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["account_id", "taken_at"]
        indexes = [models.Index(fields=["account", "taken_at"], name="accountsnap_account_time")]

    def __str__(self) -> str:
        return f"metrics of {self.account_id} at {self.taken_at:%Y-%m-%d %H:%M}"


class MetricSync(WorkspaceOwned):
    """When to fetch one part's (or one account's) numbers next: the analytics schedule's row.

    Claimed like a publishing target: a worker leases it (``claimed_until``) so another worker
    skips it, and a crashed worker's lease simply runs out."""

    class Kind(models.TextChoices):
        PART = "part", "Post part"
        ACCOUNT = "account", "Account"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    part = models.ForeignKey(TargetPart, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField(db_index=True)
    step = models.PositiveSmallIntegerField(default=0)  # position in the decaying schedule
    attempts = models.PositiveSmallIntegerField(default=0)  # failures in a row, for backoff
    last_error = models.TextField(blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(default=False)  # e.g. the account needs reconnecting
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=32, blank=True)  # the claim's token: which worker holds it

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["part"], condition=Q(kind="part"), name="metricsync_one_per_part"),
            models.UniqueConstraint(fields=["account"], condition=Q(kind="account"), name="metricsync_one_per_account"),
        ]
        indexes = [models.Index(fields=["account", "paused"], name="metricsync_account_paused")]

    def __str__(self) -> str:
        what = f"part {self.part_id}" if self.kind == self.Kind.PART else f"account {self.account_id}"
        return f"sync {what} due {self.due_at:%Y-%m-%d %H:%M}"


class DailyRollup(WorkspaceOwned):
    """One account's parts published on one day in the workspace's zone, summed: what the
    Analytics page reads instead of every PartMetrics row (see analytics/rollup.py).

    Always equal to a recomputation from PartMetrics: each write recomputes the cells it touched
    (in its own transaction), so growth is never added twice and a retried sync changes nothing.
    """

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    posts = models.PositiveIntegerField(default=0)  # distinct targets with a part that day
    # Targets also counted on an earlier day (a thread across midnight, a reply sent days later),
    # by that latest earlier day: {"2026-03-01": 1}. Lets a range count each post once.
    repeats = models.JSONField(default=dict, blank=True)
    engagement = models.PositiveBigIntegerField(default=0)
    likes = models.PositiveBigIntegerField(default=0)
    reposts = models.PositiveBigIntegerField(default=0)
    replies = models.PositiveBigIntegerField(default=0)
    quotes = models.PositiveBigIntegerField(default=0)
    saves = models.PositiveBigIntegerField(default=0)
    views = models.PositiveBigIntegerField(null=True, blank=True)  # None: no part of the day has views
    seen_engagement = models.PositiveBigIntegerField(default=0)  # engagement of the parts whose views are known
    # Main parts by local hour for the best-times grid: {"13": [posts, engagement]}.
    hours = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="rollup_one_per_account_day")]
        indexes = [models.Index(fields=["workspace", "day"], name="rollup_workspace_day")]

    def __str__(self) -> str:
        return f"rollup of {self.account_id} on {self.day}"


class RollupState(models.Model):
    """Which zone a workspace's DailyRollup rows are in. Writers hold it shared while they write;
    a rebuild (a new zone, or the command) holds it exclusively, so both never mix."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    zone = models.CharField(max_length=64, blank=True)  # blank: never built
    built_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rollup of workspace {self.workspace_id} in {self.zone or '(not built)'}"
