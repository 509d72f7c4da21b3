"""Video inspection with PyAV (FFmpeg's libraries, bundled in the ``av`` wheel).

Every video is opened and its first frames decoded before it is stored: a file that only looks
like an MP4 is refused here with a clear message instead of failing at the platform hours later.
"""

import io
from dataclasses import dataclass
from typing import IO

import av
from django.core.exceptions import ValidationError
from PIL import Image

COVER_MAX_SIDE = 640
# The containers platforms take, by what FFmpeg reports (MP4 and MOV share one demuxer).
CODECS_FOR_WEBM = {"vp8", "vp9", "av1"}
ACCEPTED = "MP4, MOV or WebM"


@dataclass(frozen=True)
class VideoInfo:
    mime_type: str
    container: str  # "mp4", "mov", "webm"
    video_codec: str
    audio_codec: str
    duration_s: float | None
    width: int  # as displayed: rotation applied
    height: int
    rotation: int  # clockwise degrees a player turns the frames
    fps: float | None
    cover_jpeg: bytes


def video_inspect(source: IO[bytes], *, name: str) -> VideoInfo:
    source.seek(0)
    try:
        with av.open(source, mode="r", metadata_errors="ignore") as container:
            return _inspect(container, name)
    except av.FFmpegError:
        raise ValidationError(f"{name} is not a video we can read ({ACCEPTED}).") from None
    finally:
        source.seek(0)


def _inspect(container: av.container.InputContainer, name: str) -> VideoInfo:
    if not container.streams.video:
        raise ValidationError(f"{name} has no video track; upload an image or a video ({ACCEPTED}).")
    stream = container.streams.video[0]
    audio = container.streams.audio[0] if container.streams.audio else None
    kind, mime_type = _container(container, stream.codec_context.name)
    if not kind:
        raise ValidationError(f"{name} is a {container.format.long_name} file; upload {ACCEPTED}.")
    frame = _cover_frame(container, stream, name)
    rotation = (-round(frame.rotation)) % 360
    width, height = stream.codec_context.width, stream.codec_context.height
    if rotation in (90, 270):
        width, height = height, width
    still: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]  # PyAV's stub leaves it unannotated
    cover = still.rotate(frame.rotation, expand=True) if rotation else still
    return VideoInfo(
        mime_type=mime_type, container=kind, video_codec=stream.codec_context.name,
        audio_codec=audio.codec_context.name if audio else "", duration_s=_duration(container, stream),
        width=width, height=height, rotation=rotation,
        fps=float(stream.average_rate) if stream.average_rate else None, cover_jpeg=_jpeg(cover),
    )  # fmt: skip


def _container(container: av.container.InputContainer, video_codec: str) -> tuple[str, str]:
    formats = set(container.format.name.split(","))
    if "mp4" in formats or "mov" in formats:
        # One demuxer reads both; the file's brand says which it is ("qt  " for QuickTime).
        brand = container.metadata.get("major_brand", "").strip()
        return ("mov", "video/quicktime") if brand == "qt" else ("mp4", "video/mp4")
    if "webm" in formats and video_codec in CODECS_FOR_WEBM:
        return "webm", "video/webm"
    return "", ""


def _cover_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, name: str
) -> av.VideoFrame:
    """A frame about a second in (the very first is often black), else the first one."""
    try:
        frame = next(container.decode(stream), None)
        if frame is not None and container.duration and container.duration > 2 * av.time_base:
            container.seek(av.time_base, any_frame=False)
            frame = next(container.decode(stream), frame)
    except av.FFmpegError:
        frame = None
    if frame is None:
        raise ValidationError(f"{name} does not decode: its video track is damaged or unsupported.")
    return frame


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if container.duration:
        return container.duration / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def _jpeg(image: Image.Image) -> bytes:
    image.thumbnail((COVER_MAX_SIDE, COVER_MAX_SIDE))
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=85)
    return out.getvalue()
