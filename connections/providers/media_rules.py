"""What each platform accepts as media, declared as data.

A provider returns ``MediaRules`` (one ``FormatRule`` per kind of file it takes); the composer
checks attachments against them live, the same check runs when a post is saved, and the
payload builder reads ``fits`` to hand the platform a re-encoded copy instead of refusing a
photo that is merely too heavy. Messages use the platform's own names ("Instagram Reels").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

IMAGE = "image"
VIDEO = "video"
DOCUMENT = "document"  # a PDF, which some platforms post as a document (LinkedIn)

MIME_LABELS = {
    "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP", "image/heic": "HEIC",
    "video/mp4": "MP4", "video/quicktime": "MOV", "video/webm": "WebM", "application/pdf": "PDF",
}  # fmt: skip
CODEC_LABELS = {"h264": "H.264", "hevc": "HEVC", "vp8": "VP8", "vp9": "VP9", "av1": "AV1", "aac": "AAC", "opus": "Opus"}


@dataclass(frozen=True)
class MediaFacts:
    """What the checker needs to know about one file (a ``Media`` row, seen from outside)."""

    name: str
    kind: str  # IMAGE, VIDEO or DOCUMENT
    mime_type: str
    size: int
    width: int | None = None  # as displayed (rotation applied)
    height: int | None = None
    duration_s: float | None = None
    video_codec: str = ""
    audio_codec: str = ""
    fps: float | None = None


@dataclass(frozen=True)
class FormatRule:
    """One kind of file a platform takes, with its limits."""

    kind: str  # IMAGE, VIDEO or DOCUMENT
    label: str  # the platform's own name for it: "Bluesky images", "Instagram Reels"
    mime_types: tuple[str, ...]
    max_count: int = 1
    max_bytes: int | None = None
    max_pixels: int | None = None
    # Byte and pixel limits are met by a re-encoded copy made for the platform (images only):
    # the user's photo is never refused for being heavy, and the library keeps the original.
    fits: bool = False
    aspect_range: tuple[float, float] | None = None  # width / height, inclusive
    # The shapes the feed shows whole (width / height, inclusive); it takes any other but cuts it
    # to the nearer bound, which the composer warns about without refusing the image.
    feed_aspect_range: tuple[float, float] | None = None
    recommended_aspect: str = ""  # "9:16"
    duration_range: tuple[float, float] | None = None  # seconds, inclusive
    max_fps: float | None = None
    video_codecs: tuple[str, ...] = ()  # empty: any the platform's server transcodes
    audio_codecs: tuple[str, ...] = ()
    unavailable: str = ""  # why Postwright cannot post this kind here yet, when it cannot

    def summary(self) -> str:
        """The rule in one line: "Instagram Reels: MP4 or MOV, 3 s to 15 min, up to 300 MB, 9:16 recommended"."""
        bits = [_either(MIME_LABELS.get(t, t) for t in self.mime_types)]
        if self.max_count > 1:
            bits.append(f"up to {self.max_count} per post")
        if self.duration_range:
            bits.append(_duration_range(self.duration_range))
        if self.max_bytes and not self.fits:
            bits.append(f"up to {format_bytes(self.max_bytes)}")
        if self.recommended_aspect:
            bits.append(f"{self.recommended_aspect} recommended")
        return f"{self.label}: {', '.join(bits)}"


@dataclass(frozen=True)
class MediaRules:
    platform: str  # "Bluesky"
    formats: tuple[FormatRule, ...]
    may_mix: bool = False  # images and video in one post

    def rule_for(self, kind: str) -> FormatRule | None:
        return next((rule for rule in self.formats if rule.kind == kind), None)


def media_problems(rules: MediaRules, items: Sequence[MediaFacts]) -> list[str]:
    """Every way these attachments break the platform's rules, in its own words; empty when fine."""
    problems: list[str] = []
    kinds = {item.kind for item in items}
    if len(kinds) > 1 and not rules.may_mix:
        problems.append(f"{rules.platform} takes images or a video in one post, not both.")
    for kind in sorted(kinds):
        rule = rules.rule_for(kind)
        group = [item for item in items if item.kind == kind]
        if rule is None:
            problems.append(f"{rules.platform} does not take {kind}s; remove {group[0].name}.")
        elif rule.unavailable:
            problems.append(f"{rule.label}: {rule.unavailable}")
        else:
            if len(group) > rule.max_count:
                problems.append(f"{rule.label}: at most {rule.max_count} per post; this one has {len(group)}.")
            problems += [problem for item in group for problem in _item_problems(rule, item)]
    return problems


def _item_problems(rule: FormatRule, item: MediaFacts) -> list[str]:
    checks = (_type, _codecs, _bytes, _pixels, _aspect, _duration, _fps)
    return [f"{rule.label}: {problem}" for check in checks if (problem := check(rule, item))]


# The image types the media library stores: under a ``fits`` rule each reaches the platform as a
# re-encoded copy in a type it takes (Instagram gets a PNG as JPEG), so none is refused for its type.
FITTABLE_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def _type(rule: FormatRule, item: MediaFacts) -> str | None:
    if item.mime_type in rule.mime_types:
        return None
    if rule.fits and item.kind == IMAGE and item.mime_type in FITTABLE_IMAGES:
        return None
    label = MIME_LABELS.get(item.mime_type, item.mime_type)
    return f"{_either(MIME_LABELS.get(t, t) for t in rule.mime_types)} only; {item.name} is {label}."


def _codecs(rule: FormatRule, item: MediaFacts) -> str | None:
    if rule.video_codecs and item.video_codec and item.video_codec not in rule.video_codecs:
        wanted = _either(CODEC_LABELS.get(c, c) for c in rule.video_codecs)
        return f"{wanted} video; {item.name} is {CODEC_LABELS.get(item.video_codec, item.video_codec)}."
    if rule.audio_codecs and item.audio_codec and item.audio_codec not in rule.audio_codecs:
        wanted = _either(CODEC_LABELS.get(c, c) for c in rule.audio_codecs)
        return f"{wanted} audio; {item.name} has {CODEC_LABELS.get(item.audio_codec, item.audio_codec)}."
    return None


def _bytes(rule: FormatRule, item: MediaFacts) -> str | None:
    if rule.fits or not rule.max_bytes or item.size <= rule.max_bytes:
        return None
    return f"up to {format_bytes(rule.max_bytes)}; {item.name} is {format_bytes(item.size)}."


def _pixels(rule: FormatRule, item: MediaFacts) -> str | None:
    if rule.fits or not rule.max_pixels or not item.width or not item.height:
        return None
    if item.width * item.height <= rule.max_pixels:
        return None
    return f"up to {rule.max_pixels / 1e6:.3g} megapixels; {item.name} is {item.width}x{item.height}."


def _aspect(rule: FormatRule, item: MediaFacts) -> str | None:
    if not rule.aspect_range or not item.width or not item.height:
        return None
    low, high = rule.aspect_range
    ratio = item.width / item.height
    if low - 1e-6 <= ratio <= high + 1e-6:
        return None
    wanted = f"aspect ratio {_ratio(low)} to {_ratio(high)}"
    if rule.recommended_aspect:
        wanted += f", {rule.recommended_aspect} recommended"
    return f"{wanted}; {item.name} is {item.width}x{item.height} ({_ratio(ratio)})."


# --- Aspect guidance ----------------------------------------------------------------------

# Shapes people name by their sides; any other is written as "1.23:1".
NAMED_RATIOS = ((1, 1), (4, 5), (5, 4), (4, 3), (3, 4), (3, 2), (2, 3), (16, 9), (9, 16), (2, 1), (1, 2), (3, 1))


@dataclass(frozen=True)
class AspectFit:
    """How one image's shape meets a platform's: whether it shows whole, and when not, the share
    of its width and height the platform keeps (the composer draws that frame on the preview)."""

    verdict: str  # "fits", "cut" (the feed crops it) or "refused" (the platform takes no such shape)
    message: str
    kept: tuple[float, float] | None = None  # (width share, height share), each 0-1, when not whole

    @property
    def fits(self) -> bool:
        return self.verdict == "fits"


def ratio_name(value: float) -> str:
    """4:5, 16:9, 1.91:1: a shape as people write it."""
    for width, height in NAMED_RATIOS:
        if abs(value / (width / height) - 1) <= 0.015:
            return f"{width}:{height}"
    return f"{value:.3g}:1"


def aspect_fit(rule: FormatRule, item: MediaFacts) -> AspectFit | None:
    """Whether an image's shape fits ``rule``: a hard ``aspect_range`` refuses others, a
    ``feed_aspect_range`` only crops them. None when the rule says nothing of shape."""
    bounds = rule.aspect_range or rule.feed_aspect_range
    if item.kind != IMAGE or not bounds or not item.width or not item.height:
        return None
    low, high = bounds
    ratio = item.width / item.height
    shape = f"{item.name} ({ratio_name(ratio)})"
    span = f"{ratio_name(low)} to {ratio_name(high)}"
    if low - 1e-6 <= ratio <= high + 1e-6:
        return AspectFit("fits", f"{rule.label}: {span}; {shape} fits.")
    target = low if ratio < low else high
    kept = (1.0, ratio / target) if ratio < low else (target / ratio, 1.0)
    edges = "top and bottom" if ratio < low else "sides"
    if rule.aspect_range:
        message = f"{rule.label}: {span} only; crop {shape} to {ratio_name(target)} (its {edges}) before posting."
        return AspectFit("refused", message, kept)
    message = f"{rule.label}: the feed shows {span} whole; {shape} will be cut to {ratio_name(target)} at the {edges}."
    return AspectFit("cut", message, kept)


def _duration(rule: FormatRule, item: MediaFacts) -> str | None:
    if not rule.duration_range or item.duration_s is None:
        return None
    low, high = rule.duration_range
    if low <= item.duration_s <= high:
        return None
    wanted = _duration_range(rule.duration_range)
    if rule.recommended_aspect:
        wanted += f", {rule.recommended_aspect} recommended"
    return f"{wanted}; {item.name} is {format_duration(item.duration_s)}."


def _fps(rule: FormatRule, item: MediaFacts) -> str | None:
    if not rule.max_fps or not item.fps or item.fps <= rule.max_fps + 0.01:
        return None
    return f"up to {rule.max_fps:g} fps; {item.name} is {item.fps:.3g} fps."


def _either(labels: Iterable[str]) -> str:
    unique = list(dict.fromkeys(labels))
    return unique[0] if len(unique) == 1 else f"{', '.join(unique[:-1])} or {unique[-1]}"


def _ratio(value: float) -> str:
    return f"{value:.3g}:1"


def _duration_range(bounds: tuple[float, float]) -> str:
    low, high = bounds
    return f"up to {format_duration(high)}" if low <= 0 else f"{format_duration(low)} to {format_duration(high)}"


def format_duration(seconds: float) -> str:
    """3 s, 2 min 20 s, 15 min, 1 h 30 min: how the platforms write their limits."""
    whole = round(seconds) if seconds >= 1 else seconds
    if whole < 60:
        return f"{whole:g} s"
    hours, rest = divmod(int(whole), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    parts += [f"{secs} s"] if secs and not hours else []
    return " ".join(parts)


def format_bytes(size: int) -> str:
    """Decimal units, as the platforms state them (Bluesky's "1,000,000 bytes" is 1 MB)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"
