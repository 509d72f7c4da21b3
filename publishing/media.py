"""The media library: uploads checked, stored once per workspace, served by signed URLs.

Images are cleaned before they are stored (see images.py); videos are inspected with PyAV and
get a cover frame (see video.py). A platform whose rules say ``fits`` gets a re-encoded copy
(a MediaRendition), made the first time a post needs it.
"""

from __future__ import annotations  # File[bytes] is a type checker's generic only

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath
from typing import IO, Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task
from PIL import Image, UnidentifiedImageError

from accounts.actors import Actor, as_actor
from accounts.models import Membership
from accounts.roles import Capability, Role
from connections.http import RequestException, UnsafeURL, check_public_url, platform_session
from connections.providers.base import MediaItem
from connections.providers.media_rules import FormatRule, MediaFacts, format_bytes
from events.services import EventSpec, event_emit
from publishing import s3_uploads
from publishing.images import image_clean, image_fit
from publishing.inputs import Problem, problems_error
from publishing.models import ContentMedia, Media, MediaImport, MediaRendition
from publishing.video import ACCEPTED, video_inspect

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
SIGNING_SALT = "postwright.media"
log = logging.getLogger(__name__)
MAX_PIXELS = 50_000_000  # refuse decompression bombs before any platform sees them
PDF = "application/pdf"
DOCUMENT_ICON = "img/document.svg"  # what lists show for a PDF: it has no picture of its own


@dataclass
class _Inspected:
    fields: dict[str, Any]
    content: File[bytes]
    cover: bytes | None = None


def _inspect_image(upload: File[bytes], name: str) -> tuple[str, int, int] | None:
    """The real type and size, read from the file itself rather than trusting its name;
    None when Pillow does not recognise it at all (it may be a video)."""
    try:
        with Image.open(upload) as image:
            kind, width, height = image.format, image.width, image.height
            if width * height > MAX_PIXELS:
                raise ValidationError(f"{name} is {width}x{height} pixels; the limit is 50 megapixels.")
            image.verify()
    except UnidentifiedImageError:
        return None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(f"{name} is not an image we can read (JPEG, PNG, GIF or WebP).") from None
    finally:
        upload.seek(0)
    if kind not in IMAGE_TYPES:
        raise ValidationError(f"{name} is a {kind} image; use JPEG, PNG, GIF or WebP.")
    return IMAGE_TYPES[kind], width, height


def _inspect(upload: File[bytes], name: str, size: int) -> _Inspected:
    image = _inspect_image(upload, name)
    if image is not None:
        if size > settings.MEDIA_MAX_IMAGE_BYTES:
            raise ValidationError(f"{name} is {format_bytes(size)}; images may be up to "
                                  f"{format_bytes(settings.MEDIA_MAX_IMAGE_BYTES)}.")  # fmt: skip
        cleaned = image_clean(upload)
        fields = {"kind": Media.Kind.IMAGE, "mime_type": cleaned.mime_type, "size": len(cleaned.data),
                  "width": cleaned.width, "height": cleaned.height}  # fmt: skip
        return _Inspected(fields, ContentFile(cleaned.data))
    if looks_like_pdf(upload):
        fields = {"kind": Media.Kind.DOCUMENT, "mime_type": PDF, "size": size}
        return _Inspected(fields, upload)
    if not looks_like_video(upload):
        raise ValidationError(f"{name} is not an image, video or PDF we can read: images (JPEG, PNG, GIF, "
                              f"WebP), video ({ACCEPTED}) or PDF.")  # fmt: skip
    video = video_inspect(upload, name=name)
    fields = {
        "kind": Media.Kind.VIDEO, "mime_type": video.mime_type, "size": size, "width": video.width,
        "height": video.height, "duration_s": video.duration_s, "container": video.container,
        "video_codec": video.video_codec, "audio_codec": video.audio_codec, "rotation": video.rotation,
        "fps": video.fps, "has_audio": bool(video.audio_codec),
    }  # fmt: skip
    return _Inspected(fields, upload, video.cover_jpeg)


def looks_like_pdf(upload: File[bytes]) -> bool:
    """A PDF by the header it starts with; stored as it is, for the platforms that post
    documents: nothing here renders it."""
    head: bytes = upload.read(5)
    upload.seek(0)
    return head == b"%PDF-"


def looks_like_video(upload: File[bytes]) -> bool:
    """ISO media (MP4, MOV) or Matroska (WebM) by their first bytes, so a random file is refused
    as what it is before FFmpeg guesses at it."""
    head = upload.read(12)
    upload.seek(0)
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip") or head[:4] == b"\x1a\x45\xdf\xa3"


def _checksum(upload: File[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def media_store(*, actor: Actor | Membership, upload: File[bytes], name: str = "", stored_name: str = "") -> Media:
    """Validate and store a file; the same file uploaded again returns the stored one.
    A file that is refused leaves nothing behind. ``stored_name``: the upload is already in
    storage under that name (an S3 multipart upload), so a file kept as it is (a video) stays
    there rather than being copied; the caller removes it if the Media names another file."""
    actor = as_actor(actor)
    actor.require(Capability.EDIT_CONTENT, "Viewers cannot upload media.")
    name = PurePath(name or upload.name or "upload").name[:255]
    if upload.size > settings.MEDIA_MAX_UPLOAD_BYTES:
        raise ValidationError(f"{name} is larger than {format_bytes(settings.MEDIA_MAX_UPLOAD_BYTES)}.")
    sha256 = _checksum(upload)
    existing = Media.objects.filter(workspace=actor.workspace, sha256=sha256).first()
    if existing:
        return existing
    inspected = _inspect(upload, name, upload.size)
    media = Media(workspace=actor.workspace, sha256=sha256, original_name=name, uploaded_by=actor.user,
                  **inspected.fields)  # fmt: skip
    if stored_name and inspected.content is upload:
        media.file.name = stored_name
    else:
        media.file.save(f"{sha256[:16]}-{name[-80:]}", inspected.content, save=False)
    if inspected.cover:
        media.cover.save(f"{sha256[:16]}.jpg", ContentFile(inspected.cover), save=False)
    try:
        with transaction.atomic():
            media.save()
    except IntegrityError:  # the same file, uploaded twice at once
        media.file.delete(save=False)
        if media.cover:
            media.cover.delete(save=False)
        return Media.objects.get(workspace=actor.workspace, sha256=sha256)
    return media


def media_store_later(*, actor: Actor | Membership, upload: File[bytes], name: str, stored_name: str = "") -> Media:
    """Keep a video now and inspect it in the background (``media_inspect_run``), so finishing a
    large upload answers at once with a ``processing`` media. Only the checksum is read here (one
    sequential pass, to find the same file uploaded before); decoding waits for the task."""
    actor = as_actor(actor)
    actor.require(Capability.EDIT_CONTENT, "Viewers cannot upload media.")
    name = PurePath(name or upload.name or "upload").name[:255]
    if upload.size > settings.MEDIA_MAX_UPLOAD_BYTES:
        raise ValidationError(f"{name} is larger than {format_bytes(settings.MEDIA_MAX_UPLOAD_BYTES)}.")
    sha256 = _checksum(upload)
    existing = Media.objects.filter(workspace=actor.workspace, sha256=sha256).first()
    if existing:
        return existing
    media = Media(workspace=actor.workspace, sha256=sha256, original_name=name, uploaded_by=actor.user,
                  kind=Media.Kind.VIDEO, mime_type=_video_type_guess(upload), size=upload.size,
                  status=Media.Status.PROCESSING)  # fmt: skip
    if stored_name:
        media.file.name = stored_name
    else:
        media.file.save(f"{sha256[:16]}-{name[-80:]}", upload, save=False)
    try:
        with transaction.atomic():
            media.save()
    except IntegrityError:  # the same file, finished twice at once
        if not stored_name:
            media.file.delete(save=False)
        return Media.objects.get(workspace=actor.workspace, sha256=sha256)
    transaction.on_commit(lambda: _enqueue_inspect(media.pk))
    return media


def _video_type_guess(upload: File[bytes]) -> str:
    """What the first bytes say until PyAV has read the file (QuickTime's brand is ``qt``)."""
    head = upload.read(12)
    upload.seek(0)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"


def _enqueue_inspect(media_id: int) -> None:
    async_task("publishing.media.media_inspect_run", media_id, cluster=settings.PUBLISH_MEDIA_CLUSTER,
               task_name=f"media-inspect-{media_id}", save=False)  # fmt: skip


def _stored_source(media: Media) -> IO[bytes]:
    """The stored video, seekable: ranged reads on S3 rather than downloading the whole object."""
    if s3_uploads.s3_enabled():
        return cast("IO[bytes]", s3_uploads.RangeReader(key=media.file.name, size=media.size))
    return cast("IO[bytes]", default_storage.open(media.file.name, "rb"))


def media_inspect_run(media_id: int) -> None:
    """The task: read a ``processing`` video with PyAV, then record ``ready`` with its facts and
    cover (and say media.ready, in the same transaction), or ``failed`` with the reason, its bytes
    dropped. A task delivered again after that does nothing (conditional updates)."""
    media = Media.objects.filter(pk=media_id, status=Media.Status.PROCESSING).first()
    if media is None:
        return
    try:
        with _stored_source(media) as source:
            video = video_inspect(source, name=media.original_name)
    except ValidationError as exc:
        _media_failed(media, exc.messages[0])
        return
    except Exception:
        # Nobody waits on this task: the media must end failed, not stay "processing" for ever.
        log.exception("inspecting media %s failed", media.pk)
        _media_failed(media, "The video could not be inspected (an error on our side; it has been logged).")
        return
    cover = ""
    if video.cover_jpeg:
        cover = default_storage.save(f"media/covers/{media.sha256[:16]}.jpg", ContentFile(video.cover_jpeg))
    facts = {
        "mime_type": video.mime_type, "width": video.width, "height": video.height, "duration_s": video.duration_s,
        "container": video.container, "video_codec": video.video_codec, "audio_codec": video.audio_codec,
        "rotation": video.rotation, "fps": video.fps, "has_audio": bool(video.audio_codec),
    }  # fmt: skip
    with transaction.atomic():
        done = Media.objects.filter(pk=media.pk, status=Media.Status.PROCESSING).update(
            status=Media.Status.READY, cover=cover, **facts
        )
        if done:
            payload = {"kind": media.kind, "mime_type": video.mime_type}
            event_emit(EventSpec(workspace_id=media.workspace_id, type="media.ready", subject_type="media",
                                 subject_id=media.pk, payload=payload))  # fmt: skip
        elif cover:  # a second delivery lost the race: its cover is nobody's
            transaction.on_commit(lambda: default_storage.delete(cover))


def _media_failed(media: Media, reason: str) -> None:
    """Keep the row, so whoever follows it sees why; drop the bytes nobody can publish."""
    with transaction.atomic():
        failed = Media.objects.filter(pk=media.pk, status=Media.Status.PROCESSING).update(
            status=Media.Status.FAILED, error=reason[:500]
        )
        if failed:
            name = media.file.name
            transaction.on_commit(lambda: default_storage.delete(name))


def media_attach_problem(media: Media) -> str:
    """Why this media cannot be attached to a post yet (or ever); empty when it can."""
    if media.status == Media.Status.PROCESSING:
        return f"{media.original_name} is still being processed: attach it once it is ready."
    if media.status == Media.Status.FAILED:
        return f"{media.original_name} could not be processed ({media.error}): upload another file."
    return ""


def media_facts(media: Media) -> MediaFacts:
    return MediaFacts(
        name=media.original_name, kind=media.kind, mime_type=media.mime_type, size=media.size,
        width=media.width, height=media.height, duration_s=media.duration_s,
        video_codec=media.video_codec, audio_codec=media.audio_codec, fps=media.fps,
    )  # fmt: skip


def media_thumb_url(media: Media) -> str:
    """What the library grid and the composer show: the image itself, or a video's cover."""
    return media_thumb_url_for(media.pk, media.kind)


def media_thumb_url_for(media_id: int, kind: str) -> str:
    """The same, from the id and kind alone (lists read them as values, not models)."""
    if kind == Media.Kind.DOCUMENT:
        return static(DOCUMENT_ICON)
    return reverse("media_cover" if kind == Media.Kind.VIDEO else "media_preview", args=[media_id])


# --- Fitting copies ------------------------------------------------------------------------


def _needs_fitting(media: Media, rule: FormatRule) -> bool:
    if not rule.fits or media.kind != Media.Kind.IMAGE:
        return False
    too_heavy = bool(rule.max_bytes and media.size > rule.max_bytes)
    too_big = bool(rule.max_pixels and (media.width or 0) * (media.height or 0) > rule.max_pixels)
    return too_heavy or too_big or media.mime_type not in rule.mime_types


def _rendition_key(rule: FormatRule) -> str:
    types = ".".join(sorted(t.removeprefix("image/") for t in rule.mime_types))
    return f"b{rule.max_bytes or 0}-p{rule.max_pixels or 0}-{types}"[:200]


def media_rendition_for(*, media: Media, rule: FormatRule | None) -> MediaRendition | None:
    """The copy of an image that fits the rule's limits, made once and reused; None when the
    original already fits (or the rule asks for no fitting)."""
    if rule is None or not _needs_fitting(media, rule):
        return None
    key = _rendition_key(rule)
    found = MediaRendition.objects.filter(media=media, key=key).first()
    if found:
        return found
    with default_storage.open(media.file.name, "rb") as source:
        fitted = image_fit(source, max_bytes=rule.max_bytes, max_pixels=rule.max_pixels, mime_types=rule.mime_types)
    extension = fitted.mime_type.removeprefix("image/").replace("jpeg", "jpg")
    rendition = MediaRendition(media=media, key=key, mime_type=fitted.mime_type, size=len(fitted.data),
                               width=fitted.width, height=fitted.height)  # fmt: skip
    rendition.file.save(f"{media.sha256[:16]}-{key[:40]}.{extension}", ContentFile(fitted.data), save=False)
    try:
        with transaction.atomic():
            rendition.save()
    except IntegrityError:  # two publishes fitted it at once: keep the first
        rendition.file.delete(save=False)
        return MediaRendition.objects.get(media=media, key=key)
    return rendition


def storage_read_range(name: str, offset: int, length: int) -> bytes:
    """``length`` bytes from ``offset`` of a stored file, without fetching the rest."""
    storage = default_storage
    bucket = getattr(storage, "bucket", None)
    if bucket is not None and length > 0:
        # django-storages' S3File downloads the whole object on first read: ask for the range instead.
        from storages.utils import clean_name

        # The object key S3Storage itself uses; a bucket means default_storage is an S3Storage.
        key = storage._normalize_name(clean_name(name))  # type: ignore[attr-defined]  # S3Storage's own method
        body: bytes = bucket.Object(key).get(Range=f"bytes={offset}-{offset + length - 1}")["Body"].read()
        return body
    with storage.open(name, "rb") as stream:
        stream.seek(offset)
        data: bytes = stream.read(length)
        return data


def media_item(media: Media, *, alt_text: str = "", rule: FormatRule | None = None) -> MediaItem:
    """What a provider receives for one attachment: the fitting copy when the platform's rule
    asks for one, the stored (already cleaned) file otherwise, as a stream with ranged reads."""
    rendition = media_rendition_for(media=media, rule=rule)
    source = rendition or media
    name = source.file.name
    filename = media.original_name
    if rendition is not None:
        filename = f"{PurePath(filename).stem}.{rendition.mime_type.removeprefix('image/').replace('jpeg', 'jpg')}"
    return MediaItem(
        filename=filename,
        mime_type=source.mime_type,
        size=source.size,
        open=lambda: default_storage.open(name, "rb"),
        ranged=lambda offset, length: storage_read_range(name, offset, length),
        public_url=signed_media_url(media, rendition=rendition),
        alt_text=alt_text,
        width=source.width,
        height=source.height,
        duration_s=media.duration_s,
        kind=media.kind,
    )


# --- Signed URLs ---------------------------------------------------------------------------


def signed_media_url(
    media: Media, *, valid_for: timedelta = timedelta(hours=2), rendition: MediaRendition | None = None
) -> str:
    """A URL platforms that pull media (Instagram, Threads, TikTok) can fetch without a login."""
    payload = {"m": media.pk, "ttl": int(valid_for.total_seconds())}
    if rendition is not None:
        payload["r"] = rendition.pk
    token = signing.dumps(payload, salt=SIGNING_SALT)
    return settings.SITE_URL + reverse("media_signed", args=[token])


def media_from_token(token: str) -> Media | MediaRendition:
    """The file a signed URL names: the stored media, or the fitted copy it was signed for."""
    try:
        unsigned = signing.loads(token, salt=SIGNING_SALT, max_age=timedelta(days=7))
        unsigned = signing.loads(token, salt=SIGNING_SALT, max_age=unsigned["ttl"])
    except (signing.BadSignature, KeyError, TypeError):
        raise Media.DoesNotExist from None
    if "r" in unsigned:
        try:
            return MediaRendition.objects.get(pk=unsigned["r"], media_id=unsigned["m"])
        except MediaRendition.DoesNotExist:
            raise Media.DoesNotExist from None
    return Media.objects.get(pk=unsigned["m"])


# --- Import by URL and deletion --------------------------------------------------------------

IMPORT_MAX_REDIRECTS = 3
IMPORT_BUFFER = 1024 * 1024


def media_import_url(*, actor: Actor | Membership, url: str, name: str = "") -> Media:
    """Fetch a file from a public URL and store it like an upload. The fetch goes through the
    HTTP chokepoint, whose guard refuses private, loopback and link-local addresses at every
    hop (in production), and stops reading past MEDIA_MAX_UPLOAD_BYTES."""
    as_actor(actor).require(Capability.EDIT_CONTENT, "Viewers cannot upload media.")
    try:
        check_public_url(url)
    except UnsafeURL as exc:
        raise ValidationError({"url": f"That URL cannot be fetched: {exc}."}) from None
    name = PurePath(name or urlsplit(url).path).name[:255] or "imported"
    with tempfile.SpooledTemporaryFile(max_size=8 * IMPORT_BUFFER) as spool:
        _download(url, spool)
        spool.seek(0)
        return media_store(actor=actor, upload=File(spool, name=name), name=name)


def _download(url: str, into: IO[bytes]) -> None:
    limit = settings.MEDIA_MAX_UPLOAD_BYTES
    session = platform_session()
    session.max_redirects = IMPORT_MAX_REDIRECTS
    try:
        with session.get(url, stream=True) as response:
            if response.status_code != 200:
                raise ValidationError({"url": f"Fetching it answered HTTP {response.status_code}."})
            received = 0
            for chunk in response.iter_content(IMPORT_BUFFER):
                received += len(chunk)
                if received > limit:
                    raise ValidationError({"url": f"The file is larger than {format_bytes(limit)}."})
                into.write(chunk)
    except UnsafeURL as exc:  # a redirect hop into a private network
        raise ValidationError({"url": f"That URL cannot be fetched: {exc}."}) from None
    except RequestException as exc:
        raise ValidationError({"url": f"It could not be fetched: {type(exc).__name__}."}) from None


def media_delete(*, actor: Actor | Membership, media: Media) -> None:
    """Remove a file from the library, with its cover and fitted copies. One that a post uses
    stays (posts keep their media): remove it from those posts first."""
    actor = as_actor(actor)
    actor.require(Capability.EDIT_CONTENT, "Viewers cannot delete media.")
    if media.workspace_id != actor.workspace.pk:
        raise Media.DoesNotExist("No such media in this workspace.")
    with transaction.atomic():
        if ContentMedia.objects.filter(media=media).exists():
            raise problems_error([Problem("media", "A post uses this file: remove it from the post first.", "in_use")])
        files = [media.file.name, media.cover.name or ""]
        files += [r.file.name for r in MediaRendition.objects.filter(media=media)]
        media.delete()  # renditions go with it (CASCADE)
    for name in filter(None, files):
        transaction.on_commit(lambda name=name: default_storage.delete(name))  # type: ignore[misc]


# --- Imports in the background ---------------------------------------------------------------


def media_import_start(*, actor: Actor | Membership, url: str, name: str = "") -> MediaImport:
    """Queue a fetch from ``url`` (checked now, and again at every hop when it runs) and answer
    at once; ``media_import_run`` does the work on the media cluster, like a video publish."""
    actor = as_actor(actor)
    actor.require(Capability.EDIT_CONTENT, "Viewers cannot upload media.")
    try:
        check_public_url(url)
    except UnsafeURL as exc:
        raise ValidationError({"url": f"That URL cannot be fetched: {exc}."}) from None
    job = MediaImport.objects.create(workspace=actor.workspace, url=url, name=PurePath(name).name[:255])
    transaction.on_commit(lambda: _enqueue_import(job.pk))
    return job


def _enqueue_import(import_id: int) -> None:
    cluster = settings.PUBLISH_MEDIA_CLUSTER
    async_task("publishing.media.media_import_run", import_id, cluster=cluster, task_name=f"media-import-{import_id}",
               save=False)  # fmt: skip


def _import_failed(job: MediaImport, reason: str) -> None:
    MediaImport.objects.filter(pk=job.pk, status=MediaImport.Status.PROCESSING).update(
        status=MediaImport.Status.FAILED, error=reason[:500], finished_at=timezone.now()
    )


def media_import_run(import_id: int) -> None:
    """The task: fetch and store, then record ready (and say media.ready) or failed with why.
    A task delivered again after the import finished does nothing; two at once store one media
    (deduplicated by checksum) and record the outcome once (conditional updates)."""
    job = MediaImport.objects.select_related("workspace").filter(pk=import_id).first()
    if job is None or job.status != MediaImport.Status.PROCESSING:
        return
    # The import's own actor: the check that it may upload was made when it was queued.
    actor = Actor(workspace=job.workspace, role=Role.EDITOR, label="media import")
    try:
        media = media_import_url(actor=actor, url=job.url, name=job.name)
    except ValidationError as exc:
        _import_failed(job, exc.messages[0])
        return
    except Exception:
        # Nobody waits on this task: the import must end failed, not stay "processing" for ever.
        log.exception("media import %s failed", job.pk)
        _import_failed(job, "The file could not be imported (an error on our side; it has been logged).")
        return
    with transaction.atomic():
        done = MediaImport.objects.filter(pk=job.pk, status=MediaImport.Status.PROCESSING).update(
            status=MediaImport.Status.READY, media=media, finished_at=timezone.now()
        )
        if done:
            payload = {"kind": media.kind, "mime_type": media.mime_type}
            event_emit(EventSpec(workspace_id=job.workspace_id, type="media.ready", subject_type="media",
                                 subject_id=media.pk, payload=payload))  # fmt: skip


def media_imports_prune(*, older_than: timedelta) -> int:
    """Delete import records older than ``older_than``; returns how many went. Their media stay in
    the library (an import only points at it), and one still "processing" that long lost its task."""
    deleted, _ = MediaImport.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted


def media_imports_prune_task() -> int:
    """The daily job: an import's status is worth following for MEDIA_IMPORT_RETENTION_DAYS."""
    return media_imports_prune(older_than=timedelta(days=settings.MEDIA_IMPORT_RETENTION_DAYS))
