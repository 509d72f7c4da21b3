import secrets
import time
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import WorkspaceOwned
from connections.models import SocialAccount
from connections.vault import EncryptedJSONField


class Post(WorkspaceOwned):
    """What the author wrote once; it fans out to one Target per selected account."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        SCHEDULED = "scheduled", "Scheduled"
        PUBLISHING = "publishing", "Publishing"
        PUBLISHED = "published", "Published"
        PARTIAL = "partially_published", "Partially published"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    class Origin(models.TextChoices):
        COMPOSED = "composed", "Composed here"
        # Found on the platform by an import (analytics/imports.py): already published there,
        # never sent by the engine, and removing it here leaves it on the platform.
        IMPORTED = "imported", "Imported"

    class Approval(models.TextChoices):
        NONE = "", "Not submitted"
        PENDING = "pending", "Awaiting approval"
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # Who last changed its words (None: only its author has, or an API key): under "everyone needs
    # approval" they are as much its author as the author, so they cannot approve it either.
    content_edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")  # fmt: skip
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.DRAFT)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.COMPOSED)
    # Where the post stands in the workspace's approval workflow (see publishing/approvals.py), and
    # when its author asked it to go out ("at", "now" or "queue"), so approving schedules it as asked.
    approval = models.CharField(max_length=24, choices=Approval.choices, default=Approval.NONE, blank=True)
    approval_when = models.CharField(max_length=8, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True, help_text="UTC; shown in the workspace time zone.")
    link = models.URLField(max_length=2000, blank=True)
    # Per platform: {"bluesky": {"text": "...", "options": {...}}}; text replaces the main text.
    overrides = models.JSONField(default=dict, blank=True)
    # Set through the API by products that embed Postwright: their own user id and their own
    # reference for the post, so they can find it again without keeping our ids.
    tenant_id = models.CharField(max_length=255, blank=True, db_index=True)
    external_ref = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-scheduled_at", "-created_at"]
        indexes = [
            models.Index(fields=["workspace", "scheduled_at"], name="post_workspace_time"),
            models.Index(fields=["workspace", "status"], name="post_workspace_status"),
            # The list's status tabs, newest first.
            models.Index(fields=["workspace", "status", "scheduled_at"], name="post_workspace_status_time"),
            models.Index(fields=["workspace", "approval"], name="post_workspace_approval"),  # the review queue
        ]

    def __str__(self) -> str:
        # Never a query: lists of hundreds of posts call this. Lists that show the text annotate
        # ``main_text`` (see publishing/admin.py); elsewhere the id is enough.
        text = getattr(self, "main_text", None)
        return (text[:60] if text else "") or f"Post {self.pk}"


class PostContent(models.Model):
    """One part of a post, in order: the main text, thread replies, and an optional first comment."""

    class Kind(models.TextChoices):
        MAIN = "main", "Main post"
        REPLY = "reply", "Thread reply"
        FIRST_COMMENT = "first_comment", "First comment"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="contents")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MAIN)
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["post_id", "position"]  # the id, not "post": that would join Post to sort
        constraints = [models.UniqueConstraint(fields=["post", "position"], name="content_position_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of post {self.post_id}"


class Media(WorkspaceOwned):
    """An uploaded file, stored once per workspace (by checksum) and reusable across posts.

    Images are stored cleaned (orientation applied, metadata stripped); ``sha256`` is the
    checksum of the bytes the user uploaded, so uploading the same photo again finds this row.
    ``width`` and ``height`` are as displayed: a video's rotation is already applied to them.
    """

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        DOCUMENT = "document", "Document"  # a PDF

    class Status(models.TextChoices):
        # A video finished as a resumable upload is inspected in the background (PyAV reads the
        # whole file): until then it is ``processing`` and cannot be attached to a post.
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    file = models.FileField(upload_to="media/%Y/%m/")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.READY)
    error = models.CharField(max_length=500, blank=True, help_text="Why inspecting it failed.")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.IMAGE)
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    # Video facts read with PyAV when the file is stored; platforms' media rules check them.
    container = models.CharField(max_length=16, blank=True)  # "mp4", "mov", "webm"
    video_codec = models.CharField(max_length=32, blank=True)
    audio_codec = models.CharField(max_length=32, blank=True)
    rotation = models.PositiveSmallIntegerField(default=0, help_text="Clockwise degrees applied when displayed.")
    fps = models.FloatField(null=True, blank=True)
    has_audio = models.BooleanField(default=False)
    cover = models.FileField(upload_to="media/covers/%Y/%m/", blank=True)  # a frame of a video, as JPEG
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "media"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["workspace", "sha256"], name="media_once_per_workspace")]

    def __str__(self) -> str:
        return self.original_name

    @property
    def duration_label(self) -> str:
        """ "0:42" or "1:02:05", as video players show it."""
        if self.duration_s is None:
            return ""
        minutes, seconds = divmod(round(self.duration_s), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


class MediaRendition(models.Model):
    """A copy of an image re-encoded to fit one platform's byte or pixel limit, made the first
    time a post needs it and kept for the next; the library keeps showing the original."""

    media = models.ForeignKey(Media, on_delete=models.CASCADE, related_name="renditions")
    key = models.CharField(max_length=200)  # the limits it was made for (see publishing/renditions.py)
    file = models.FileField(upload_to="media/renditions/%Y/%m/")
    mime_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["media", "key"], name="rendition_once_per_limit")]

    def __str__(self) -> str:
        return f"{self.media} fitted to {self.key}"


class MediaUpload(WorkspaceOwned):
    """A chunked upload in progress: the bytes so far live in a part file until it is finished,
    or, with S3 storage, in the parts of an S3 multipart upload (``s3_key``, ``s3_upload_id``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    mime_type = models.CharField(max_length=100)
    offset = models.PositiveBigIntegerField(default=0)  # bytes received, in order, without a gap
    s3_key = models.CharField(max_length=400, blank=True)  # where the finished object lands
    s3_upload_id = models.CharField(max_length=1024, blank=True)  # S3's ids are opaque and can be long
    s3_parts = models.JSONField(default=dict, blank=True)  # {"part number": "ETag"}, for CompleteMultipartUpload
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["updated_at"], name="upload_updated")]

    def __str__(self) -> str:
        return f"{self.name} ({self.offset}/{self.size})"


class MediaImport(WorkspaceOwned):
    """A file being fetched from a URL into the library, in the background (a large video can
    take minutes): processing, then ready (its media) or failed (and why)."""

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    url = models.URLField(max_length=2000)
    name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROCESSING)
    error = models.CharField(max_length=500, blank=True)
    media = models.ForeignKey(Media, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.url} ({self.status})"


class ContentMedia(models.Model):
    content = models.ForeignKey(PostContent, on_delete=models.CASCADE, related_name="attachments")
    media = models.ForeignKey(Media, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    alt_text = models.CharField(max_length=1500, blank=True)

    class Meta:
        ordering = ["content_id", "position"]

    def __str__(self) -> str:
        return f"{self.media} in {self.content}"


def new_idempotency_key() -> str:
    """A UUIDv7: unique, and it carries its creation time (Bluesky derives record keys from it,
    so the key reads like the moment the post was written)."""
    millis = time.time_ns() // 1_000_000
    rand = secrets.randbits(74)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return uuid.UUID(int=value).hex


class Target(WorkspaceOwned):
    """One post going to one account: the unit that succeeds or fails, with its own clock."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        # Submitted and held until an admin approves it: not a due state, so never claimed.
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        SCHEDULED = "scheduled", "Scheduled"
        QUEUED = "queued", "Queued"  # claimed by a dispatcher, not yet sent
        PUBLISHING = "publishing", "Publishing"  # a worker may have sent the create call
        PROCESSING = "processing", "Processing"  # the platform is working; no worker is held
        RETRY_WAIT = "retry_wait", "Waiting to retry"
        PUBLISHED = "published", "Published"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Outcome unknown"
        CANCELED = "canceled", "Canceled"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="targets")
    account = models.ForeignKey(SocialAccount, on_delete=models.PROTECT, related_name="targets")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.DRAFT)
    due_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=64, default=new_idempotency_key, editable=False)
    # The main post's id and link, copied from its part when it lands (lists show them).
    platform_post_id = models.CharField(max_length=255, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    # Which worker pool runs it: long media work must never delay a text post that is due.
    lane = models.CharField(max_length=16, default="default")
    resuming = models.BooleanField(default=False)  # back from waiting at the platform: no attempt spent
    status_reason = models.CharField(max_length=300, blank=True)  # "Mastodon is processing the media"
    error_class = models.CharField(max_length=16, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["post_id", "id"]
        constraints = [models.UniqueConstraint(fields=["post", "account"], name="one_target_per_account")]
        indexes = [
            # The dispatcher's only query: due work, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                name="target_due",
                condition=Q(status__in=["scheduled", "retry_wait", "processing"]),
            ),
            models.Index(fields=["status", "lease_expires_at"], name="target_lease"),
            # "Add to queue": which slots an account has taken.
            models.Index(fields=["account", "due_at"], name="target_account_due"),
        ]

    def __str__(self) -> str:
        return f"post {self.post_id} -> {self.account}"


class TargetPart(models.Model):
    """One part of one target (the main post, a thread reply, the first comment), recorded the
    moment it lands so a retry, a crash or a lost answer never sends it twice or loses it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Not sent yet"
        SENDING = "sending", "Sending"  # a step is running; a create call may be in flight
        PROCESSING = "processing", "Processing"  # waiting at the platform; ``state`` says how to resume
        PUBLISHED = "published", "Published"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Outcome unknown"

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="parts")
    position = models.PositiveSmallIntegerField()  # 0 is the main post
    kind = models.CharField(max_length=16, choices=PostContent.Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    platform_post_id = models.CharField(max_length=255, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    facts = models.JSONField(default=dict, blank=True)  # what later parts need (Bluesky's cid)
    # Resume state of a Pending answer (container ids, media ids); it may name upload sessions.
    state = EncryptedJSONField()
    # When the platform first answered "still working on it" for this attempt: the engine gives
    # up after PUBLISH_MAX_PROCESSING_SECONDS rather than wait for ever.
    processing_since = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_class = models.CharField(max_length=16, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    landed_at = models.DateTimeField(null=True, blank=True)
    # Deleted from the platform afterwards (post_delete); the part stays published in our history.
    removed_at = models.DateTimeField(null=True, blank=True)
    # Not a column: set by the engine when a batch moved this part to "sending" for the run at hand.
    sending_now = False
    # Not a column: whether that move counted an attempt (none when resuming from processing).
    attempt_spent = True

    class Meta:
        constraints = [models.UniqueConstraint(fields=["target", "position"], name="one_part_per_position")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.position} of target {self.target_id}"

    @property
    def label(self) -> str:
        """How people name it: "the post", "reply 2", "the first comment"."""
        if self.kind == PostContent.Kind.REPLY:
            return f"reply {self.position}"
        return "the first comment" if self.kind == PostContent.Kind.FIRST_COMMENT else "the post"


class UploadSession(models.Model):
    """An upload to a platform in progress (for resuming after a crash or a deploy)."""

    part = models.ForeignKey(TargetPart, on_delete=models.CASCADE, related_name="uploads")
    key = models.CharField(max_length=200)  # the provider's name for it (e.g. the media checksum)
    state = EncryptedJSONField()  # platform media id, session URL, byte offset, expiry
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["part", "key"], name="one_upload_per_key")]

    def __str__(self) -> str:
        return f"upload {self.key} of {self.part}"


class PostingSlot(models.Model):
    """A weekly time at which an account likes to post; "Add to queue" takes the next free one."""

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="posting_slots")
    weekday = models.PositiveSmallIntegerField(choices=[(i, d) for i, d in enumerate(
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    )])  # fmt: skip
    time = models.TimeField(help_text="In the workspace's time zone.")

    class Meta:
        ordering = ["account_id", "weekday", "time"]
        constraints = [models.UniqueConstraint(fields=["account", "weekday", "time"], name="slot_unique")]

    def __str__(self) -> str:
        return f"{self.account} {self.get_weekday_display()} {self.time:%H:%M}"


class RateBudget(models.Model):
    """The earliest time the next call on a platform app's budget may start (see pacing.py)."""

    key = models.CharField(max_length=255, unique=True)
    next_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key} @ {self.next_at:%H:%M:%S.%f}"


class PostComment(models.Model):
    """A members-only note on a post (never sent to a platform): the review thread, and any
    discussion. ``@name`` mentions notify the members named."""

    class Kind(models.TextChoices):
        COMMENT = "comment", "Comment"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        APPROVED = "approved", "Approved"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.COMMENT)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post_id", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on post {self.post_id}"
