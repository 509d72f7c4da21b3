"""Images made safe and fit: metadata stripped on store, copies re-encoded to a platform's limits.

A phone photo carries its GPS position, the phone's serial-ish model data and a capture time
in EXIF and XMP; none of it may leave Postwright. The orientation tag is the one piece of
metadata that changes how the picture looks, so it is applied to the pixels first.
The ICC colour profile is kept: it is colour data (a Display P3 phone photo looks washed out
without it), not facts about the person or the place.
"""

import io
import math
from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import ValidationError
from PIL import Image, ImageOps

# What each format needs from ``info`` to look the same; everything else (exif, xmp, comments,
# text chunks, dpi) is dropped.
KEEP_INFO = {
    "JPEG": ("icc_profile",),
    "PNG": ("icc_profile", "transparency"),
    "GIF": ("transparency", "duration", "loop", "background"),
    "WEBP": ("icc_profile", "duration", "loop", "background"),
}
MIME_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
FORMAT_MIMES = {value: key for key, value in MIME_FORMATS.items()}


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    mime_type: str
    width: int
    height: int


def image_clean(source: IO[bytes]) -> EncodedImage:
    """The same picture, upright, with no metadata but its colour profile, in its own format."""
    source.seek(0)
    with Image.open(source) as image:
        fmt = image.format
        if fmt not in KEEP_INFO:  # media_store let only these through; say so to any other caller
            raise ValidationError(f"A {fmt} image cannot be cleaned; use JPEG, PNG, GIF or WebP.")
        animated = getattr(image, "n_frames", 1) > 1
        orientation = image.getexif().get(0x0112, 1)
        frames: Image.Image
        if animated:
            # GIF and WebP animations carry no orientation; re-saving every frame drops the rest.
            frames = image
        elif orientation != 1:
            frames = ImageOps.exif_transpose(image)
        else:
            frames = image
        kept = {key: image.info[key] for key in KEEP_INFO[fmt] if key in image.info}
        frames.info = {}
        out = io.BytesIO()
        options = _options(image, fmt, transposed=orientation != 1 and not animated)
        frames.save(out, format=fmt, save_all=animated, **kept, **options)
        width, height = frames.size
    source.seek(0)
    return EncodedImage(out.getvalue(), FORMAT_MIMES[fmt], width, height)


def _options(image: Image.Image, fmt: str, *, transposed: bool) -> dict[str, Any]:
    if fmt == "JPEG":
        # Untouched pixels keep the original's quantisation tables: no visible generation loss.
        return {"quality": 92, "optimize": True} if transposed else {"quality": "keep", "subsampling": "keep"}
    if fmt == "WEBP":
        return {"quality": 90}
    if fmt == "PNG":
        return {"optimize": False}
    return {}


def image_fit(
    source: IO[bytes], *, max_bytes: int | None, max_pixels: int | None, mime_types: tuple[str, ...]
) -> EncodedImage:
    """A copy under the byte and pixel limits, in a format the platform takes.

    Photos become JPEG (the smallest for them); pictures with transparency stay PNG or WebP so
    the background does not turn black. Quality goes down a little before the size does.
    """
    source.seek(0)
    with Image.open(source) as original:
        original.seek(0)  # an animation is fitted as its first frame: platforms with limits show stills
        icc = original.info.get("icc_profile")
        image = original.convert("RGBA") if _has_alpha(original) else original.convert("RGB")
    fmt = _fit_format(image.mode == "RGBA", mime_types)
    if fmt == "JPEG" and image.mode == "RGBA":
        image = image.convert("RGB")
    scale = min(1.0, math.sqrt(max_pixels / (image.width * image.height))) if max_pixels else 1.0
    byte_limit = max_bytes or math.inf  # no limit: the first encoding fits
    for _attempt in range(12):
        size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
        resized = image.resize(size, Image.Resampling.LANCZOS) if size != image.size else image
        for quality in (88, 80, 72) if fmt != "PNG" else (None,):
            data = _encode(resized, fmt, quality, icc)
            if len(data) <= byte_limit:
                return EncodedImage(data, FORMAT_MIMES[fmt], *size)
        # Bytes shrink roughly with the pixel count: aim a little under the limit next time.
        scale *= min(0.9, math.sqrt(byte_limit / len(data)) * 0.95)
    raise ValidationError("This image cannot be made small enough for the platform's limit.")


def _encode(image: Image.Image, fmt: str, quality: int | None, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    options: dict[str, Any] = {"optimize": True} if fmt in ("PNG", "JPEG") else {}
    if quality is not None:
        options["quality"] = quality
    if icc:
        options["icc_profile"] = icc
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _fit_format(alpha: bool, mime_types: tuple[str, ...]) -> str:
    preferred = ("image/webp", "image/png", "image/jpeg") if alpha else ("image/jpeg", "image/webp", "image/png")
    return next((MIME_FORMATS[t] for t in preferred if t in mime_types), "JPEG")
