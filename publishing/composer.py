"""What each selected account will receive, measured by its platform's own rules."""

from dataclasses import dataclass

from connections.models import SocialAccount
from connections.registry import get_provider
from publishing.inputs import PartInput, Problem
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

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def errors(self) -> list[str]:
        return [problem.message for problem in self.problems]


def part_label(part: PartInput, index: int) -> str:
    return {PostContent.Kind.MAIN: "Post", PostContent.Kind.FIRST_COMMENT: "First comment"}.get(
        part.kind, f"Reply {index}"
    )


def check_account(
    account: SocialAccount, parts: list[PartInput], media: dict[int, Media], override_text: str = ""
) -> AccountCheck:
    """Lengths, media counts, types and sizes for one account. ``media`` holds only the workspace's
    own files: an unknown attachment is reported once, by the caller, not once per account."""
    provider = get_provider(account.platform)
    rules = provider.text_rules(account=account.state())
    checks: list[PartCheck] = []
    problems: list[Problem] = []
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
        attached = [(i, media[a.media_id]) for i, a in enumerate(part.attachments) if a.media_id in media]
        if len(attached) > rules.max_media:
            message = f"{name}: {label.lower()} has {len(attached)} files; at most {rules.max_media} allowed."
            problems.append(Problem(f"parts[{index}].attachments", message, "too_many_media"))
        for position, item in attached:
            problem = _media_problem(name, item, rules.accepted_mime_types, rules.max_image_bytes)
            if problem:
                problems.append(Problem(f"parts[{index}].attachments[{position}]", *problem))
    preview = override_text or (parts[0].text if parts else "")
    return AccountCheck(account=account, parts=checks, problems=problems, preview=preview)


def _media_problem(
    name: str, item: Media, accepted: tuple[str, ...], max_image_bytes: int | None
) -> tuple[str, str] | None:
    if item.mime_type not in accepted:
        return f"{name}: {item.original_name} ({item.mime_type}) is not a type it accepts.", "media_type"
    if max_image_bytes and item.mime_type.startswith("image/") and item.size > max_image_bytes:
        return f"{name}: {item.original_name} is larger than {max_image_bytes / 1_000_000:g} MB.", "media_too_large"
    return None
