"""The composer's rules: what each selected account will receive, measured by its platform."""

from dataclasses import dataclass

from connections.models import SocialAccount
from connections.registry import get_provider
from publishing.models import Media, PostContent
from publishing.services import PartInput
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
    errors: list[str]
    preview: str = ""  # the main text this account will receive

    @property
    def ok(self) -> bool:
        return not self.errors


def check_account(
    account: SocialAccount, parts: list[PartInput], media: dict[int, Media], override_text: str = ""
) -> AccountCheck:
    provider = get_provider(account.platform)
    rules = provider.text_rules(account=account.state())
    checks: list[PartCheck] = []
    errors: list[str] = []
    name = f"{provider.name} ({account.username})"
    for index, part in enumerate(parts):
        text = override_text if index == 0 and override_text else part.text
        label = {PostContent.Kind.MAIN: "Post", PostContent.Kind.FIRST_COMMENT: "First comment"}.get(
            part.kind, f"Reply {index}"
        )
        check = PartCheck(label, text_length(text, rules), rules.max_length)
        checks.append(check)
        if check.over:
            errors.append(f"{name}: {label.lower()} is {check.length}/{check.limit} — shorten it by {check.over}.")
        attached = [media[a.media_id] for a in part.attachments if a.media_id in media]
        if len(attached) > rules.max_media:
            errors.append(f"{name}: {label.lower()} has {len(attached)} files; at most {rules.max_media} allowed.")
        for item in attached:
            if item.mime_type not in rules.accepted_mime_types:
                errors.append(f"{name}: {item.original_name} ({item.mime_type}) is not a type it accepts.")
            elif rules.max_image_bytes and item.mime_type.startswith("image/") and item.size > rules.max_image_bytes:
                limit_mb = rules.max_image_bytes / 1_000_000
                errors.append(f"{name}: {item.original_name} is larger than {limit_mb:g} MB.")
    preview = override_text or (parts[0].text if parts else "")
    return AccountCheck(account=account, parts=checks, errors=errors, preview=preview)
