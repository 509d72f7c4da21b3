"""The composer's rules: what each selected account will receive, measured by its platform."""

from dataclasses import dataclass, field

from connections.models import SocialAccount
from connections.providers.media_rules import media_problems
from connections.registry import get_provider
from publishing.media import media_facts
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
    media_hints: list[str] = field(default_factory=list)  # the rules for the kinds attached, in one line each

    @property
    def ok(self) -> bool:
        return not self.errors


def check_account(
    account: SocialAccount, parts: list[PartInput], media: dict[int, Media], override_text: str = ""
) -> AccountCheck:
    provider = get_provider(account.platform)
    state = account.state()
    rules = provider.text_rules(account=state)
    media_rules = provider.media_rules(account=state)
    checks: list[PartCheck] = []
    errors: list[str] = []
    kinds: set[str] = set()
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
        attached = [media_facts(media[a.media_id]) for a in part.attachments if a.media_id in media]
        if attached:
            errors += [f"{name}: {problem}" for problem in media_problems(media_rules, attached)]
            kinds |= {item.kind for item in attached}
    preview = override_text or (parts[0].text if parts else "")
    hints = [rule.summary() for kind in sorted(kinds) if (rule := media_rules.rule_for(kind)) and not rule.unavailable]
    return AccountCheck(account=account, parts=checks, errors=errors, preview=preview, media_hints=hints)
