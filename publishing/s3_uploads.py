"""The S3 calls behind chunked uploads when media storage is S3 (``S3_BUCKET``): one multipart
upload per MediaUpload, one part per chunk, and a seekable reader that fetches byte ranges.

Everything goes through the client of django-storages' own S3Storage, so the bucket, endpoint,
region and keys are the ones the media library already uses.
"""

import io
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import default_storage

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

# A reader that asks for small ranges while something seeks about (PyAV reading a header, then
# the index at the end), and doubles the range while reads run on in order (the checksum).
FIRST_WINDOW = 256 * 1024
MAX_WINDOW = 8 * 1024 * 1024


def s3_enabled() -> bool:
    return bool(settings.S3_BUCKET)


def _storage() -> Any:  # storages.backends.s3.S3Storage ships no types
    return default_storage


def _client() -> "S3Client":
    return cast("S3Client", _storage().connection.meta.client)


def _bucket() -> str:
    return str(_storage().bucket_name)


def multipart_create(*, key: str, content_type: str) -> str:
    """Start a multipart upload of ``key``; returns S3's upload id."""
    started = _client().create_multipart_upload(
        Bucket=_bucket(), Key=key, ContentType=content_type or "application/octet-stream"
    )
    return started["UploadId"]


def multipart_put_part(*, key: str, upload_id: str, number: int, data: bytes) -> str:
    """Upload one part; returns its ETag. The same number again replaces the part, so a chunk
    sent twice (a lost reply, a resume) is harmless."""
    sent = _client().upload_part(Bucket=_bucket(), Key=key, UploadId=upload_id, PartNumber=number, Body=data)
    return sent["ETag"]


class UploadGone(Exception):
    """S3 no longer knows the multipart upload (aborted, or expired by a bucket lifecycle rule)."""


def multipart_complete(*, key: str, upload_id: str, parts: dict[str, str]) -> None:
    """Join the parts, in order, into the object at ``key``."""
    ordered: list[CompletedPartTypeDef] = [
        {"PartNumber": int(number), "ETag": etag} for number, etag in sorted(parts.items(), key=_by_number)
    ]
    try:
        _client().complete_multipart_upload(
            Bucket=_bucket(), Key=key, UploadId=upload_id, MultipartUpload={"Parts": ordered}
        )
    except ClientError as exc:
        if _code(exc) == "NoSuchUpload":
            raise UploadGone(upload_id) from None
        raise


def _by_number(item: tuple[str, str]) -> int:
    return int(item[0])


def multipart_abort(*, key: str, upload_id: str) -> None:
    """Drop the parts S3 holds (they are billed until aborted). An upload S3 no longer knows
    (completed, or aborted already) is fine: there is nothing left to drop."""
    try:
        _client().abort_multipart_upload(Bucket=_bucket(), Key=key, UploadId=upload_id)
    except ClientError as exc:
        if _code(exc) != "NoSuchUpload":
            raise


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def multipart_stale(*, prefix: str, before: datetime) -> list[tuple[str, str]]:
    """(key, upload id) of multipart uploads under ``prefix`` started before ``before``."""
    found: list[tuple[str, str]] = []
    for page in _client().get_paginator("list_multipart_uploads").paginate(Bucket=_bucket(), Prefix=prefix):
        for item in page.get("Uploads", []):
            if "Initiated" in item and item["Initiated"] < before:
                found.append((item.get("Key", ""), item.get("UploadId", "")))
    return found


def object_delete(*, key: str) -> None:
    _client().delete_object(Bucket=_bucket(), Key=key)


class RangeReader(io.RawIOBase):
    """A read-only, seekable view of one S3 object that fetches only the ranges asked for.

    Pillow and PyAV want a seekable file; this gives them one without downloading the object or
    copying it to disk. ``size`` lets Django's File know the length without seeking to the end.
    """

    def __init__(self, *, key: str, size: int) -> None:
        super().__init__()
        self.key, self.size = key, size
        self._position = 0
        self._window_start, self._window = 0, b""
        self._next_window = FIRST_WINDOW

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any, /) -> int:
        view = memoryview(buffer).cast("B")
        if self._position >= self.size or not len(view):
            return 0
        if not self._window_start <= self._position < self._window_start + len(self._window):
            self._fetch()
        start = self._position - self._window_start
        piece = self._window[start : start + len(view)]
        view[: len(piece)] = piece
        self._position += len(piece)
        return len(piece)

    def _fetch(self) -> None:
        sequential = self._position == self._window_start + len(self._window)
        self._next_window = min(self._next_window * 2, MAX_WINDOW) if sequential else FIRST_WINDOW
        last = min(self._position + self._next_window, self.size) - 1
        got = _client().get_object(Bucket=_bucket(), Key=self.key, Range=f"bytes={self._position}-{last}")
        self._window_start, self._window = self._position, got["Body"].read()
