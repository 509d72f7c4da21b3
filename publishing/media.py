"""The media library: uploads checked, stored once per workspace, served by signed URLs."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from PIL import Image, UnidentifiedImageError

from accounts.actors import Actor, as_actor
from accounts.models import Membership
from accounts.roles import Capability
from publishing.models import Media

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
SIGNING_SALT = "postwright.media"
MAX_PIXELS = 50_000_000  # refuse decompression bombs before any platform sees them


def _inspect_image(upload: UploadedFile) -> tuple[str, int, int]:
    """The real type and size, read from the file itself rather than trusting its name."""
    try:
        with Image.open(upload) as image:
            kind, width, height = image.format, image.width, image.height
            if width * height > MAX_PIXELS:
                raise ValidationError(f"{upload.name} is {width}x{height} pixels; the limit is 50 megapixels.")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(f"{upload.name} is not an image we can read (JPEG, PNG, GIF or WebP).") from None
    finally:
        upload.seek(0)
    if kind not in IMAGE_TYPES:
        raise ValidationError(f"{upload.name} is a {kind} image; use JPEG, PNG, GIF or WebP.")
    return IMAGE_TYPES[kind], width, height


def _checksum(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def media_store(*, actor: Actor | Membership, upload: UploadedFile) -> Media:
    """Validate and store an upload; the same file uploaded again returns the stored one."""
    actor = as_actor(actor)
    actor.require(Capability.EDIT_CONTENT, "Viewers cannot upload media.")
    if upload.size > settings.MEDIA_MAX_UPLOAD_BYTES:
        limit = settings.MEDIA_MAX_UPLOAD_BYTES // 1_000_000
        raise ValidationError(f"{upload.name} is larger than {limit} MB.")
    mime_type, width, height = _inspect_image(upload)
    sha256 = _checksum(upload)
    existing = Media.objects.filter(workspace=actor.workspace, sha256=sha256).first()
    if existing:
        return existing
    media = Media(
        workspace=actor.workspace, sha256=sha256, original_name=upload.name[:255], mime_type=mime_type,
        size=upload.size, width=width, height=height, uploaded_by=actor.user,
    )  # fmt: skip
    media.file.save(f"{sha256[:16]}-{upload.name[-80:]}", upload, save=False)
    try:
        with transaction.atomic():
            media.save()
    except IntegrityError:  # the same file, uploaded twice at once
        media.file.delete(save=False)
        return Media.objects.get(workspace=actor.workspace, sha256=sha256)
    return media


def signed_media_url(media: Media, *, valid_for: timedelta = timedelta(hours=2)) -> str:
    """A URL platforms that pull media (Instagram, Threads, TikTok) can fetch without a login."""
    token = signing.dumps({"m": media.pk, "ttl": int(valid_for.total_seconds())}, salt=SIGNING_SALT)
    return settings.SITE_URL + reverse("media_signed", args=[token])


def media_from_token(token: str) -> Media:
    try:
        unsigned = signing.loads(token, salt=SIGNING_SALT, max_age=timedelta(days=7))
        unsigned = signing.loads(token, salt=SIGNING_SALT, max_age=unsigned["ttl"])
    except (signing.BadSignature, KeyError, TypeError):
        raise Media.DoesNotExist from None
    return Media.objects.get(pk=unsigned["m"])
