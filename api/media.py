"""/media: the workspace's library, filled by a direct upload, a resumable upload or a URL.

The same services as the dashboard (publishing/media.py, publishing/uploads.py): files are
inspected as they are stored (an image decoded and cleaned, a video read with PyAV for its
codecs, duration and a cover frame); a file that does not pass is refused with the reason and
nothing is kept. A video finished as a resumable upload is the exception: it is stored at once as
``processing``, inspected in the background, then ``ready`` or ``failed`` with the reason (only
``ready`` media can be attached to a post). A resumable upload's status
is ``uploading`` until every byte has arrived, then ``uploaded`` until it is finished. An import
by URL runs in the background: ``processing``, then ``ready`` or ``failed`` with the reason.
"""

import uuid
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile
from pydantic import ConfigDict

from accounts.roles import Capability
from api.auth import principal_of
from api.idempotency import idempotent
from api.pages import PageQuery, page_of
from api.problems import ApiError, problem_response, service_error
from api.schemas import ERRORS, READ_ERRORS, Id, ProblemOut, Text
from connections.providers.media_rules import format_bytes
from publishing import uploads
from publishing.media import media_delete, media_import_start, media_store, signed_media_url
from publishing.models import Media, MediaImport, MediaUpload

router = Router(tags=["media"])
# One request holds the whole file: beyond this, use the resumable upload (chunks, resumes).
DIRECT_MAX_BYTES = 100 * 1024 * 1024


class MediaOut(Schema):
    id: int
    status: Literal["processing", "ready", "failed"] = Field(
        description="ready: inspected, can be attached. A video finished as a resumable upload is "
        "processing while it is inspected, then ready, or failed with the reason in error."
    )
    error: str = Field(description="Why it failed; empty otherwise.")
    kind: str = Field(description="image, video or document (a PDF, for platforms that post documents).")
    name: str
    mime_type: str
    size: int
    width: int | None
    height: int | None
    duration_s: float | None
    sha256: str = Field(description="Of the bytes uploaded; the same file again returns this media.")
    url: str = Field(description="A signed link to the file, valid for 2 hours.")
    created_at: datetime


class MediaPage(Schema):
    data: list[MediaOut]
    next_cursor: str | None


class MediaFilters(PageQuery):
    kind: Literal["image", "video", "document"] | None = None
    status: Literal["processing", "ready", "failed"] | None = None


class ImportIn(Schema):
    model_config = ConfigDict(extra="forbid")
    url: Text = Field(max_length=2000, description="A public http(s) URL; private addresses are refused.")
    name: Text = Field("", max_length=255, description="The file name to keep; default: the URL's.")


class ImportOut(Schema):
    id: int
    url: str
    status: Literal["processing", "ready", "failed"]
    error: str = Field(description="Why it failed; empty otherwise.")
    media: MediaOut | None = Field(description="Once ready.")
    created_at: datetime
    finished_at: datetime | None


class UploadIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: Text = Field(min_length=1, max_length=255)
    size: int = Field(ge=1, le=2**53)
    mime_type: Text = Field("", max_length=100, description="image/jpeg, video/mp4, …; empty lets us look.")


class UploadOut(Schema):
    id: uuid.UUID
    status: Literal["uploading", "uploaded"]
    name: str
    size: int
    offset: int = Field(description="Bytes received: send the next chunk from here.")
    chunk_bytes: int = Field(description="The largest chunk accepted.")
    expires_hours: int = Field(description="An upload with no new chunk for this long is dropped.")


def media_out(media: Media) -> dict[str, Any]:
    return {"id": media.pk, "status": media.status, "error": media.error, "kind": media.kind,
            "name": media.original_name, "mime_type": media.mime_type, "size": media.size, "width": media.width,
            "height": media.height,
            "duration_s": media.duration_s, "sha256": media.sha256, "url": signed_media_url(media),
            "created_at": media.created_at}  # fmt: skip


def _import_out(job: MediaImport) -> dict[str, Any]:
    media = media_out(job.media) if job.media is not None else None
    return {"id": job.pk, "url": job.url, "status": job.status, "error": job.error, "media": media,
            "created_at": job.created_at, "finished_at": job.finished_at}  # fmt: skip


def _upload_out(upload: MediaUpload) -> dict[str, Any]:
    status = "uploaded" if upload.offset >= upload.size else "uploading"
    return {"id": upload.pk, "status": status, "name": upload.name, "size": upload.size,
            "offset": upload.offset, "chunk_bytes": settings.MEDIA_UPLOAD_CHUNK_BYTES,
            "expires_hours": settings.MEDIA_UPLOAD_EXPIRE_HOURS}  # fmt: skip


def _media_json(media: Media, status: int) -> HttpResponse:
    body = MediaOut.model_validate(media_out(media)).model_dump(mode="json")
    response = JsonResponse(body, status=status)
    response["Location"] = f"/api/v1/media/{media.pk}"
    return response


def _refused(request: HttpRequest, exc: ValidationError, field: str) -> HttpResponse:
    """The file (or URL) did not pass: the reason, on the field it is about."""
    if hasattr(exc, "error_dict"):
        return service_error(request, exc)
    message = exc.messages[0]
    errors = [{"field": field, "message": message, "code": "invalid"}]
    return problem_response(request, 422, message, errors=errors)


def _media(request: HttpRequest, media_id: int) -> Media:
    return Media.objects.get(pk=media_id, workspace=principal_of(request).actor.workspace)


def _upload(request: HttpRequest, upload_id: uuid.UUID) -> MediaUpload:
    return MediaUpload.objects.get(pk=upload_id, workspace=principal_of(request).actor.workspace)


def _chunk_refused(request: HttpRequest, exc: uploads.ChunkRefused) -> HttpResponse:
    status = 422 if exc.status == 400 else exc.status  # 409 resume elsewhere, 410 expired, 413 too big
    return problem_response(request, status, exc.message, headers={"Upload-Offset": str(exc.offset)})


@router.get("", response={200: MediaPage, READ_ERRORS: ProblemOut}, summary="List the media library")
def list_media(request: HttpRequest, filters: Query[MediaFilters]) -> dict:
    queryset = Media.objects.filter(workspace=principal_of(request).actor.workspace)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    return page_of(queryset, filters, media_out)


@router.post("", response={201: MediaOut, ERRORS | {413}: ProblemOut}, summary="Upload a file in one request")
def upload_media(request: HttpRequest, file: File[UploadedFile]) -> HttpResponse:
    """Multipart form data with the file as ``file``, up to 100 MB; larger files: /media/uploads."""
    principal = principal_of(request)
    if file.size is None or file.size > DIRECT_MAX_BYTES:
        raise ApiError(413, f"Send files over {format_bytes(DIRECT_MAX_BYTES)} as a resumable upload (/media/uploads).")

    def run() -> HttpResponse:
        try:
            media = media_store(actor=principal.actor, upload=file, name=file.name or "")
        except ValidationError as exc:
            return _refused(request, exc, "file")
        return _media_json(media, 201)

    return idempotent(request, principal, run)


@router.post("/import", response={202: ImportOut, ERRORS: ProblemOut}, summary="Import a file from a URL")
def import_media(request: HttpRequest, data: ImportIn) -> HttpResponse:
    """Answers at once (202, ``processing``); the file is fetched and inspected in the background.
    Follow ``Location`` (GET /media/imports/{id}) until it is ``ready`` (with its media) or
    ``failed`` (with the reason); a ``media.ready`` webhook says so too."""
    principal = principal_of(request)

    def run() -> HttpResponse:
        try:
            job = media_import_start(actor=principal.actor, url=data.url, name=data.name)
        except ValidationError as exc:
            return _refused(request, exc, "url")
        response = JsonResponse(ImportOut.model_validate(_import_out(job)).model_dump(mode="json"), status=202)
        response["Location"] = f"/api/v1/media/imports/{job.pk}"
        return response

    return idempotent(request, principal, run)


@router.get("/imports/{import_id}", response={200: ImportOut, READ_ERRORS: ProblemOut}, summary="An import's status")
def get_import(request: HttpRequest, import_id: Id) -> dict:
    job = MediaImport.objects.select_related("media").get(pk=import_id, workspace=principal_of(request).actor.workspace)
    return _import_out(job)


@router.post("/uploads", response={201: UploadOut, ERRORS: ProblemOut}, summary="Start a resumable upload")
def create_upload(request: HttpRequest, data: UploadIn) -> HttpResponse:
    """Then PUT each chunk to /media/uploads/{id} with ``Content-Range: bytes first-last/size``
    (at most ``chunk_bytes``, in order), GET it to learn the offset after a dropped connection,
    and POST …/finish once every byte has arrived."""
    principal = principal_of(request)

    def run() -> HttpResponse:
        try:
            upload = uploads.upload_create(actor=principal.actor, name=data.name, size=data.size,
                                           mime_type=data.mime_type)  # fmt: skip
        except ValidationError as exc:
            return _refused(request, exc, "file")
        body = UploadOut.model_validate(_upload_out(upload)).model_dump(mode="json")
        return JsonResponse(body, status=201)

    return idempotent(request, principal, run)


@router.get("/uploads/{upload_id}", response={200: UploadOut, READ_ERRORS: ProblemOut}, summary="An upload's offset")
def get_upload(request: HttpRequest, upload_id: uuid.UUID) -> HttpResponse:
    upload = _upload(request, upload_id)
    response = JsonResponse(UploadOut.model_validate(_upload_out(upload)).model_dump(mode="json"))
    response["Upload-Offset"] = str(upload.offset)
    return response


@router.put("/uploads/{upload_id}", response={200: UploadOut, ERRORS | {410, 413}: ProblemOut},
            summary="Send the next chunk (raw bytes, with Content-Range)")  # fmt: skip
def put_chunk(request: HttpRequest, upload_id: uuid.UUID) -> HttpResponse:
    principal = principal_of(request)
    upload = _upload(request, upload_id)
    length = request.headers.get("Content-Length", "")
    try:
        uploads.upload_write_chunk(
            actor=principal.actor, upload=upload, content_range=request.headers.get("Content-Range", ""),
            body=request, length=int(length) if length.isdecimal() else None,
        )  # fmt: skip
    except uploads.ChunkRefused as exc:
        return _chunk_refused(request, exc)
    response = JsonResponse(UploadOut.model_validate(_upload_out(upload)).model_dump(mode="json"))
    response["Upload-Offset"] = str(upload.offset)
    return response


@router.post("/uploads/{upload_id}/finish", response={201: MediaOut, 202: MediaOut, ERRORS | {410}: ProblemOut},
             summary="Store the uploaded file")  # fmt: skip
def finish_upload(request: HttpRequest, upload_id: uuid.UUID) -> HttpResponse:
    """An image is inspected at once (201, ``ready``). A video answers at once (202,
    ``processing``) and is inspected in the background: follow ``Location`` (GET /media/{id})
    until it is ``ready`` or ``failed`` (with the reason); a ``media.ready`` webhook says so too."""
    principal = principal_of(request)
    upload = _upload(request, upload_id)
    try:
        media = uploads.upload_finish(actor=principal.actor, upload=upload)
    except uploads.ChunkRefused as exc:
        return _chunk_refused(request, exc)
    except ValidationError as exc:
        return _refused(request, exc, "file")
    return _media_json(media, 202 if media.status == Media.Status.PROCESSING else 201)


@router.delete("/uploads/{upload_id}", response={204: None, ERRORS: ProblemOut}, summary="Give up an upload")
def discard_upload(request: HttpRequest, upload_id: uuid.UUID) -> HttpResponse:
    principal = principal_of(request)
    principal.actor.require(Capability.EDIT_CONTENT, "Viewers cannot upload media.")
    uploads.upload_discard(upload=_upload(request, upload_id))
    return HttpResponse(status=204)


@router.get("/{media_id}", response={200: MediaOut, READ_ERRORS: ProblemOut}, summary="Get a media file's status")
def get_media(request: HttpRequest, media_id: Id) -> dict:
    return media_out(_media(request, media_id))


@router.delete("/{media_id}", response={204: None, ERRORS: ProblemOut}, summary="Delete an unused media file")
def delete_media(request: HttpRequest, media_id: Id) -> HttpResponse:
    media_delete(actor=principal_of(request).actor, media=_media(request, media_id))
    return HttpResponse(status=204)
