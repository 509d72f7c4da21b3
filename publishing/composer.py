"""What each selected account will receive, measured by its platform's own rules."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connections.models import SocialAccount
from connections.providers.base import TextRules
from connections.providers.media_rules import IMAGE, VIDEO, AspectFit, MediaRules, aspect_fit, media_problems
from connections.registry import get_provider
from publishing.inputs import PartInput, Problem
from publishing.media import media_facts
from publishing.models import Media, PostContent
from publishing.textcount import text_length


@dataclass(frozen=True)
class PartCheck:
    label: str
    length: int
    limit: int

    @property
    def over(self) -> int:
        return max(0, self.length - self.limit)


@dataclass
class AccountCheck:
    account: SocialAccount
    parts: list[PartCheck]
    problems: list[Problem]
    preview: str = ""  # the main text this account will receive
    media_hints: list[str] = field(default_factory=list)  # the rules for the kinds attached, in one line each
    # The main post's images by media id: whether each one's shape shows whole on this platform.
    image_fits: dict[int, AspectFit] = field(default_factory=dict)
    # How the main post's video shows there: "portrait" (9:16) or "landscape" (16:9); "" for none.
    video_frame: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def errors(self) -> list[str]:
        return [problem.message for problem in self.problems]


def part_label(part: PartInput, index: int) -> str:
    labels: dict[str, str] = {PostContent.Kind.MAIN: "Post", PostContent.Kind.FIRST_COMMENT: "First comment"}
    return labels.get(part.kind, f"Reply {index}")


def check_account(
    account: SocialAccount,
    parts: list[PartInput],
    media: dict[int, Media],
    override_text: str = "",
    options: Mapping[str, Any] | None = None,
) -> AccountCheck:
    """Lengths, media counts, types and sizes for one account, under the rules of the format its
    per-platform ``options`` chose. ``media`` holds only the workspace's own files: an unknown
    attachment is reported once, by the caller, not once per account."""
    provider = get_provider(account.platform)
    state = account.public_state()  # the live check runs per keystroke: no secret decrypted
    rules = provider.text_rules(account=state)
    media_rules = provider.format_media_rules(account=state, options=options or {})
    checks: list[PartCheck] = []
    problems: list[Problem] = []
    kinds: set[str] = set()
    name = f"{provider.name} ({account.username})"
    for index, part in enumerate(parts):
        overridden = index == 0 and bool(override_text)
        text = override_text if overridden else part.text
        label = part_label(part, index)
        check = PartCheck(label, text_length(text, rules), rules.max_length)
        checks.append(check)
        path = f"overrides.{account.platform}.text" if overridden else f"parts[{index}].text"
        if check.over:
            message = f"{name}: {label.lower()} is {check.length}/{check.limit} — shorten it by {check.over}."
            problems.append(Problem(path, message, "too_long"))
        if index == 0:
            problems += _title_problems(rules, text, name, path)
        attached = [media_facts(media[a.media_id]) for a in part.attachments if a.media_id in media]
        if attached:
            problems += [Problem(f"parts[{index}].attachments", f"{name}: {problem}", "media")
                         for problem in media_problems(media_rules, attached)]  # fmt: skip
            kinds |= {item.kind for item in attached}
    preview = override_text or (parts[0].text if parts else "")
    hints = [rule.summary() for kind in sorted(kinds) if (rule := media_rules.rule_for(kind)) and not rule.unavailable]
    return AccountCheck(account=account, parts=checks, problems=problems, preview=preview, media_hints=hints,
                        image_fits=_image_fits(media_rules, parts, media),
                        video_frame=video_frame(media_rules, parts, media))  # fmt: skip


def _title_problems(rules: TextRules, text: str, name: str, path: str) -> list[Problem]:
    """Where the platform's post has a title (the main text's first line): present, and short enough."""
    if rules.title_max_length is None:
        return []
    title = text.strip().partition("\n")[0].strip()
    if rules.title_required and not title:
        return [Problem(path, f"{name}: the post needs a title, its first line.", "title_required")]
    if len(title) > rules.title_max_length:
        over = len(title) - rules.title_max_length
        message = f"{name}: the title (first line) is {len(title)}/{rules.title_max_length} — shorten it by {over}."
        return [Problem(path, message, "title_too_long")]
    return []


def _image_fits(rules: MediaRules, parts: list[PartInput], media: dict[int, Media]) -> dict[int, AspectFit]:
    """Only the main post's images: they are the ones its preview draws."""
    rule = rules.rule_for(IMAGE)
    if rule is None or rule.unavailable or not parts:
        return {}
    found = {a.media_id: aspect_fit(rule, media_facts(media[a.media_id]))
             for a in parts[0].attachments if a.media_id in media}  # fmt: skip
    return {media_id: fit for media_id, fit in found.items() if fit}


def video_frame(rules: MediaRules, parts: list[PartInput], media: dict[int, Media]) -> str:
    """The frame the main post's video plays in: "portrait" (9:16) where the platform's format is
    vertical (TikTok, a YouTube Short, an Instagram Reel: their rule recommends 9:16) or the
    video itself is, else "landscape" (16:9, a YouTube video); "" when there is no video."""
    attached = [media[a.media_id] for a in parts[0].attachments if a.media_id in media] if parts else []
    video = next((item for item in attached if item.kind == VIDEO), None)
    if video is None:
        return ""
    rule = rules.rule_for(VIDEO)
    if rule is not None and rule.recommended_aspect == "9:16":
        return "portrait"
    return "portrait" if video.width and video.height and video.height > video.width else "landscape"
