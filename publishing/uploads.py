"""Chunked, resumable uploads for large files (video up to MEDIA_MAX_UPLOAD_BYTES).

The protocol is ours and small, in the shape of Google's resumable uploads rather than tus:
create (name, size, type) -> PUT chunks with ``Content-Range: bytes first-last/total`` -> ask
the offset after a reload or a dropped connection -> finish, which stores (a video is inspected
afterwards, in a task: see media_store_later). Bytes
accumulate in a part file on local disk; finishing hands it to ``media_store`` like any upload.

With S3 storage (``S3_BUCKET``) no byte touches the disk: each chunk is one part of an S3
multipart upload (s3_uploads.py), numbered from its offset, and finishing completes the upload
and inspects the object through ranged reads.
"""

import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Protocol, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils import timezone

from accounts.actors import Actor, as_actor
from accounts.models import Membership
from accounts.roles import Capability
from connections.providers.media_rules import format_bytes
from publishing import s3_uploads
from publishing.media import looks_like_video, media_store, media_store_later
from publishing.models import Media, MediaUpload


class Readable(Protocol):
    """A chunk's body: a file, or the request itself (HttpRequest reads as a stream)."""

    def read(self, size: int = ..., /) -> bytes: ...


CONTENT_RANGE = re.compile(r"bytes (\d{1,15})-(\d{1,15})/(\d{1,15})")
ACCEPTED_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/quicktime", "video/webm",
                  "application/pdf")  # fmt: skip
# Browsers leave the type empty or generic for files the OS does not know: finish inspects anyway.
UNKNOWN_TYPES = ("", "application/octet-stream")
COPY_BUFFER = 1024 * 1024
S3_PREFIX = "media/"  # Media.file's own upload_to folder


class ChunkRefused(Exception):
    """A chunk the server did not take; ``offset`` is where the client should resume from."""

    def __init__(self, message: str, *, status: int, offset: int) -> None:
        super().__init__(message)
        self.message, self.status, self.offset = message, status, offset


def _require_editor(actor: Actor | Membership) -> None:
    as_actor(actor).require(Capability.EDIT_CONTENT, "Viewers cannot upload media.")


def part_path(upload: MediaUpload) -> Path:
    return Path(settings.MEDIA_UPLOAD_TEMP_DIR) / f"{upload.pk.hex}.part"


def upload_create(*, actor: Actor | Membership, name: str, size: int, mime_type: str) -> MediaUpload:
    _require_editor(actor)
    name = Path(name.strip()).name[:255]
    if not name:
        raise ValidationError("Name the file being uploaded.")
    if size <= 0:
        raise ValidationError(f"{name} is empty.")
    if size > settings.MEDIA_MAX_UPLOAD_BYTES:
        raise ValidationError(f"{name} is {format_bytes(size)}; the limit is "
                              f"{format_bytes(settings.MEDIA_MAX_UPLOAD_BYTES)}.")  # fmt: skip
    if mime_type.startswith("image/") and size > settings.MEDIA_MAX_IMAGE_BYTES:
        raise ValidationError(f"{name} is {format_bytes(size)}; images may be up to "
                              f"{format_bytes(settings.MEDIA_MAX_IMAGE_BYTES)}.")  # fmt: skip
    if mime_type not in ACCEPTED_TYPES + UNKNOWN_TYPES:
        raise ValidationError(f"{name} is {mime_type}; upload an image (JPEG, PNG, GIF, WebP), "
                              "a video (MP4, MOV, WebM) or a PDF.")  # fmt: skip
    if not s3_uploads.s3_enabled() and not free_space_ok(size):
        raise ValidationError(f"The server has no room for {format_bytes(size)} right now; try again later.")
    upload = MediaUpload(workspace=actor.workspace, name=name, size=size, mime_type=mime_type, created_by=actor.user)
    if s3_uploads.s3_enabled():
        # Started before the row exists, so a row always has its multipart upload (a failure
        # in between leaves a stray that expiry aborts). The key is final, in the library's own
        # folders: a video is kept where it lands.
        upload.s3_key = timezone.now().strftime(f"{S3_PREFIX}%Y/%m/") + f"{upload.pk.hex[:16]}-{name[-80:]}"
        upload.s3_upload_id = s3_uploads.multipart_create(key=upload.s3_key, content_type=mime_type)
        upload.save(force_insert=True)
        return upload
    upload.save(force_insert=True)
    path = part_path(upload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return upload


def parse_content_range(value: str, *, size: int) -> tuple[int, int]:
    """(first, last) byte of a chunk, inclusive, as Content-Range states them."""
    match = CONTENT_RANGE.fullmatch(value.strip())
    example = f"'bytes 0-{min(size, settings.MEDIA_UPLOAD_CHUNK_BYTES) - 1}/{size}'"
    if not match:
        raise ValidationError(f"Send Content-Range as {example}: first byte, last byte, total size.")
    first, last, total = (int(group) for group in match.groups())
    if total != size:
        raise ValidationError(f"This upload is {size} bytes; the Content-Range says {total}.")
    if last < first or last >= size:
        raise ValidationError(f"Bytes {first}-{last} are not inside a {size}-byte file (the last byte is {size - 1}).")
    return first, last


def upload_write_chunk(
    *, actor: Actor | Membership, upload: MediaUpload, content_range: str, body: Readable, length: int | None
) -> int:
    """Append one chunk at the current offset; returns the new offset. A chunk that starts
    elsewhere, or arrives short (a dropped connection), changes nothing."""
    _require_editor(actor)
    try:
        first, last = parse_content_range(content_range, size=upload.size)
    except ValidationError as exc:
        raise ChunkRefused(exc.messages[0], status=400, offset=upload.offset) from None
    expected = last - first + 1
    if expected > settings.MEDIA_UPLOAD_CHUNK_BYTES:
        limit = format_bytes(settings.MEDIA_UPLOAD_CHUNK_BYTES)
        raise ChunkRefused(f"Chunks may be up to {limit}; this one is {expected} bytes.", status=413,
                           offset=upload.offset)  # fmt: skip
    if first != upload.offset:
        raise ChunkRefused(f"The server has the first {upload.offset} bytes: send from byte {upload.offset}.",
                           status=409, offset=upload.offset)  # fmt: skip
    if length is not None and length != expected:
        raise ChunkRefused(f"The body is {length} bytes but Content-Range names {expected}.", status=400,
                           offset=upload.offset)  # fmt: skip
    changes: dict[str, object] = {}
    if upload.s3_upload_id:
        changes["s3_parts"] = _put_part(upload, first, last, body)
    else:
        received = _write_at(part_path(upload), first, body, expected)
        _require_whole(received, expected, first)
    moved = MediaUpload.objects.filter(pk=upload.pk, offset=first).update(
        offset=last + 1, updated_at=timezone.now(), **changes
    )
    if not moved:  # another request for the same bytes won the race
        upload.refresh_from_db()
        raise ChunkRefused(f"Send from byte {upload.offset}.", status=409, offset=upload.offset)
    upload.offset = last + 1
    if "s3_parts" in changes:
        upload.s3_parts = changes["s3_parts"]
    return upload.offset


def _require_whole(received: int, expected: int, first: int) -> None:
    if received != expected:
        raise ChunkRefused(
            f"The chunk ended after {received} of {expected} bytes (the connection dropped?); "
            f"send from byte {first} again.", status=400, offset=first,
        )  # fmt: skip


def _put_part(upload: MediaUpload, first: int, last: int, body: Readable) -> dict[str, str]:
    """Send one chunk to S3 as the part its offset names; returns the parts with its ETag.

    S3 refuses parts under 5 MiB except the last, so every chunk but the last must be the full
    chunk size (settings refuse a chunk size under 5 MiB with S3). Then chunk n always starts at
    byte n * chunk size, and a chunk sent again after a lost reply replaces the same part."""
    step = settings.MEDIA_UPLOAD_CHUNK_BYTES
    expected = last - first + 1
    if expected != step and last != upload.size - 1:
        raise ChunkRefused(f"Every chunk but the last must be {step} bytes; this one is {expected}.",
                           status=400, offset=upload.offset)  # fmt: skip
    data = _read_body(body, expected)
    _require_whole(len(data), expected, first)
    number = first // step + 1
    etag = s3_uploads.multipart_put_part(key=upload.s3_key, upload_id=upload.s3_upload_id, number=number, data=data)
    return {**upload.s3_parts, str(number): etag}


def _read_body(body: Readable, expected: int) -> bytes:
    """At most one chunk (MEDIA_UPLOAD_CHUNK_BYTES) in memory: S3 needs a part's length up front."""
    pieces, received = [], 0
    try:
        while received < expected:
            piece = body.read(min(COPY_BUFFER, expected - received))
            if not piece:
                break
            pieces.append(piece)
            received += len(piece)
    except OSError:  # the client went away mid-body
        return b""
    return b"".join(pieces)


def _write_at(path: Path, offset: int, body: Readable, expected: int) -> int:
    """Copy up to ``expected`` bytes into the part file at ``offset``; on a short body, cut the
    file back so the next attempt starts clean."""
    received = 0
    try:
        with path.open("r+b") as part:
            part.seek(offset)
            while received < expected:
                piece = body.read(min(COPY_BUFFER, expected - received))
                if not piece:
                    break
                part.write(piece)
                received += len(piece)
            if received < expected:
                part.truncate(offset)
    except FileNotFoundError:
        raise ChunkRefused("This upload has expired; start it again.", status=410, offset=0) from None
    except OSError:  # the client went away mid-body
        with path.open("r+b") as part:
            part.truncate(offset)
        return 0
    return received


def upload_finish(*, actor: Actor | Membership, upload: MediaUpload) -> Media:
    """Store the complete file (deduplicated by checksum), then forget the upload. An image is
    inspected now: one that does not decode is refused, and neither it nor the upload is kept. A
    video comes back ``processing`` and is inspected by a task (``ready`` or ``failed``)."""
    _require_editor(actor)
    if upload.offset != upload.size:
        raise ChunkRefused(f"{upload.offset} of {upload.size} bytes have arrived; send the rest first.",
                           status=409, offset=upload.offset)  # fmt: skip
    if upload.s3_upload_id:
        return _finish_s3(actor, upload)
    path = part_path(upload)
    try:
        with path.open("rb") as part:
            return _store(actor, File(part, name=upload.name), upload.name)
    except FileNotFoundError:
        raise ChunkRefused("This upload has expired; start it again.", status=410, offset=0) from None
    finally:
        upload_discard(upload=upload)


def _store(actor: Actor | Membership, file: File[bytes], name: str, *, stored_name: str = "") -> Media:
    """A video is kept now and inspected in the background (PyAV reads all of a file that may be
    a gigabyte: not inside a request); an image is cleaned and stored at once."""
    if looks_like_video(file):
        return media_store_later(actor=actor, upload=file, name=name, stored_name=stored_name)
    return media_store(actor=actor, upload=file, name=name, stored_name=stored_name)


def _finish_s3(actor: Actor | Membership, upload: MediaUpload) -> Media:
    """Complete the multipart upload, then inspect the object where it is (ranged reads: PyAV
    and Pillow seek in a RangeReader). The object stays only if the Media keeps it (a video not
    seen before); a refused, cleaned (image) or duplicate file leaves nothing in the bucket."""
    key, media = upload.s3_key, None
    try:
        s3_uploads.multipart_complete(key=key, upload_id=upload.s3_upload_id, parts=upload.s3_parts)
    except s3_uploads.UploadGone:
        upload_discard(upload=upload)
        raise ChunkRefused("This upload has expired; start it again.", status=410, offset=0) from None
    MediaUpload.objects.filter(pk=upload.pk).update(s3_upload_id="")  # nothing left to abort
    try:
        reader = cast("IO[bytes]", s3_uploads.RangeReader(key=key, size=upload.size))
        media = _store(actor, File(reader, name=upload.name), upload.name, stored_name=key)
        return media
    finally:
        if media is None or media.file.name != key:
            s3_uploads.object_delete(key=key)
        MediaUpload.objects.filter(pk=upload.pk).delete()


def upload_discard(*, upload: MediaUpload) -> None:
    if upload.s3_upload_id:
        s3_uploads.multipart_abort(key=upload.s3_key, upload_id=upload.s3_upload_id)
    else:
        part_path(upload).unlink(missing_ok=True)
    MediaUpload.objects.filter(pk=upload.pk).delete()


def uploads_expire(*, older_than: timedelta) -> int:
    """Drop uploads nobody has added to for ``older_than`` (abandoned tabs, lost phones), and
    part files with no upload left; returns how many uploads went. The retention job calls it."""
    cutoff = timezone.now() - older_than
    stale = list(MediaUpload.objects.filter(updated_at__lt=cutoff))
    for upload in stale:
        upload_discard(upload=upload)
    if s3_uploads.s3_enabled():
        _abort_stray_multiparts(before=cutoff)
    folder = Path(settings.MEDIA_UPLOAD_TEMP_DIR)
    if folder.is_dir():
        known = {upload.pk.hex for upload in MediaUpload.objects.only("id")}
        for path in folder.glob("*.part"):
            if path.stem not in known and path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
    return len(stale)


def _abort_stray_multiparts(*, before: datetime) -> None:
    """Multipart uploads S3 still holds with no MediaUpload left (a crash between the two)."""
    known = set(MediaUpload.objects.exclude(s3_upload_id="").values_list("s3_upload_id", flat=True))
    for key, upload_id in s3_uploads.multipart_stale(prefix=S3_PREFIX, before=before):
        if upload_id not in known:
            s3_uploads.multipart_abort(key=key, upload_id=upload_id)


def uploads_expire_task() -> int:
    """The scheduled job: a day without a new chunk is abandoned."""
    return uploads_expire(older_than=timedelta(hours=settings.MEDIA_UPLOAD_EXPIRE_HOURS))


def free_space_ok(size: int) -> bool:
    """Whether the part folder's disk can take ``size`` more bytes (with a margin)."""
    folder = Path(settings.MEDIA_UPLOAD_TEMP_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(folder).free > size * 1.1
