"""Every rule a post must meet before it is written, in one place: the dashboard and the API both
reach them through publishing.services, so neither can skip one.

``post_plan`` checks an input against a workspace and resolves it (accounts, media, publish time);
it collects every problem rather than stopping at the first, so the author fixes them in one go.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone

from accounts.models import Workspace
from connections.models import SocialAccount
from connections.providers.base import Provider
from connections.registry import get_provider
from publishing.composer import AccountCheck, check_account
from publishing.inputs import PartInput, PostInput, Problem, When, WhenKind
from publishing.media import media_attach_problem, media_facts
from publishing.models import ContentMedia, Media, PostContent
from publishing.scheduling import check_schedulable, next_queue_slot

MAX_REPLIES = 20
MAX_LINK = 2000
MAX_ALT_TEXT: int = ContentMedia._meta.get_field("alt_text").max_length or 0  # a CharField's is always set
OVERRIDE_KEYS = {"text", "options"}
ACCOUNT_CHOICE = re.compile(r"[A-Za-z0-9_:.-]+")
ACCOUNT_CHOICE_MAX = 200
TYPED_OPTION_MAX = 2000  # a typed option (a link, a title, a date) is short; the platform checks more
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
K = PostContent.Kind


@dataclass
class Plan:
    """What an input resolves to once checked: the rows to write and the moment to publish."""

    accounts: list[SocialAccount]
    checks: list[AccountCheck]
    due_at: datetime | None
    problems: list[Problem]


def post_plan(*, workspace: Workspace, data: PostInput, lock: bool = False, moving_post: int | None = None) -> Plan:
    """``lock`` (inside a transaction) holds the accounts so two posts queued at once cannot take
    the same slot; ``moving_post`` is a post being edited, whose own slot is free for it."""
    accounts, problems = _accounts(workspace, data.account_ids, lock=lock)
    problems += _parts(data.parts)
    media, media_problems = _media(workspace, data.parts)
    problems += media_problems + _link(data.link) + _overrides(data.overrides, accounts)
    if data.when.kind != WhenKind.DRAFT:  # a draft may leave choices for later
        problems += _required_options(data.overrides, accounts) + _options_together(data.overrides, accounts)
        problems += _account_media(data, accounts, media)
    checks = [
        check_account(
            account,
            data.parts,
            media,
            _override_text(data.overrides, account.platform),
            _override_options(data.overrides, account.platform),
        )
        for account in accounts
    ]
    problems += [problem for check in checks for problem in check.problems]
    due_at, when_problems = _due_at(data.when, accounts, workspace, moving_post)
    problems += when_problems
    return Plan(accounts=accounts, checks=checks, due_at=due_at, problems=list(dict.fromkeys(problems)))


def _accounts(workspace: Workspace, ids: list[int], *, lock: bool) -> tuple[list[SocialAccount], list[Problem]]:
    if not ids:
        return [], [Problem("account_ids", "Pick at least one account to publish to.", "required")]
    queryset = SocialAccount.objects.filter(workspace=workspace, id__in=ids, status=SocialAccount.Status.ACTIVE)
    accounts = list((queryset.select_for_update() if lock else queryset).order_by("id"))
    if len(accounts) != len(set(ids)):
        message = "Pick accounts that are connected and active in this workspace."
        return accounts, [Problem("account_ids", message, "unknown_account")]
    return accounts, []


def _parts(parts: list[PartInput]) -> list[Problem]:
    if not parts or parts[0].kind != K.MAIN:
        return [Problem("parts", "Start with the main post.", "no_main")]
    problems = []
    if not (parts[0].text.strip() or parts[0].attachments):
        problems.append(Problem("parts[0].text", "Write something (or attach media) for the post.", "required"))
    kinds = [part.kind for part in parts]
    if kinds.count(K.REPLY) > MAX_REPLIES:
        problems.append(Problem("parts", f"A thread can have at most {MAX_REPLIES} replies.", "too_many_parts"))
    for index, part in enumerate(parts[1:], start=1):
        problems += _later_part(part, index, last=index == len(parts) - 1)
    for index, part in enumerate(parts):
        problems += [
            Problem(f"parts[{index}].attachments[{i}].alt_text", f"Keep alt text under {MAX_ALT_TEXT} characters.",
                    "too_long")
            for i, attachment in enumerate(part.attachments)
            if len(attachment.alt_text) > MAX_ALT_TEXT
        ]  # fmt: skip
    return problems


def _later_part(part: PartInput, index: int, *, last: bool) -> list[Problem]:
    if part.kind not in (K.REPLY, K.FIRST_COMMENT):
        return [Problem(f"parts[{index}].kind", "After the main post come replies, then one first comment.", "kind")]
    if part.kind == K.FIRST_COMMENT and not last:
        return [Problem(f"parts[{index}].kind", "The first comment goes last, after any replies.", "kind")]
    if not (part.text.strip() or part.attachments):
        what = "first comment" if part.kind == K.FIRST_COMMENT else "thread reply"
        return [Problem(f"parts[{index}].text", f"This {what} is empty: write it or remove it.", "required")]
    return []


def _media(workspace: Workspace, parts: list[PartInput]) -> tuple[dict[int, Media], list[Problem]]:
    wanted = {a.media_id for part in parts for a in part.attachments}
    media = Media.objects.filter(workspace=workspace, id__in=wanted).in_bulk()
    problems = [
        Problem(f"parts[{index}].attachments[{i}]", "An attachment is not in this workspace's media library.",
                "unknown_media")
        for index, part in enumerate(parts)
        for i, attachment in enumerate(part.attachments)
        if attachment.media_id not in media
    ]  # fmt: skip
    problems += [
        Problem(f"parts[{index}].attachments[{i}]", reason, "media_not_ready")
        for index, part in enumerate(parts)
        for i, attachment in enumerate(part.attachments)
        if attachment.media_id in media and (reason := media_attach_problem(media[attachment.media_id]))
    ]  # fmt: skip
    return media, problems


def _link(link: str) -> list[Problem]:
    if not link:
        return []
    if len(link) > MAX_LINK:
        return [Problem("link", f"Keep the link under {MAX_LINK} characters (it has {len(link)}).", "too_long")]
    try:
        URLValidator(schemes=["http", "https"])(link)
    except ValidationError:
        return [Problem("link", "Enter a valid link, like https://example.com/article.", "invalid_link")]
    return []


def _override_text(overrides: dict[str, Any], platform: str) -> str:
    override = overrides.get(platform)
    text = override.get("text", "") if isinstance(override, dict) else ""
    return text if isinstance(text, str) else ""


def _override_options(overrides: dict[str, Any], platform: str) -> dict[str, Any]:
    override = overrides.get(platform) if isinstance(overrides, dict) else None
    options = override.get("options", {}) if isinstance(override, dict) else {}
    return options if isinstance(options, dict) else {}


def _overrides(overrides: dict[str, Any], accounts: list[SocialAccount]) -> list[Problem]:
    if not isinstance(overrides, dict):
        return [Problem("overrides", "Give per-platform settings as an object keyed by platform.", "invalid")]
    chosen = {account.platform for account in accounts}
    problems = []
    for platform, override in overrides.items():
        path = f"overrides.{platform}"
        if platform not in chosen:
            problems.append(Problem(path, f"No selected account is on {platform}: remove these settings.", "platform"))
        elif not isinstance(override, dict) or set(override) - OVERRIDE_KEYS:
            problems.append(Problem(path, "Per-platform settings take a text and options, nothing else.", "invalid"))
        else:
            problems += _override(platform, override)
    return problems


def moment_ok(value: Any) -> bool:
    """A moment option's value: an ISO 8601 date and time with its zone (the platform judges
    whether it is early enough)."""
    if not isinstance(value, str) or len(value) > 40:
        return False
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def account_choice_ok(value: Any) -> bool:
    """The shape of a choice from an account's own list (a board id): a short token of letters,
    digits and ``-_:.``, nothing the platform could take for anything else."""
    return (
        isinstance(value, str) and 0 < len(value) <= ACCOUNT_CHOICE_MAX and ACCOUNT_CHOICE.fullmatch(value) is not None
    )


def _required_options(overrides: dict[str, Any], accounts: list[SocialAccount]) -> list[Problem]:
    """Choices a platform requires the author to make (no default is allowed, as YouTube's "made
    for kids" and TikTok's privacy level): missing or left on the empty choice is refused."""
    problems = []
    for platform in sorted({account.platform for account in accounts}):
        provider = get_provider(platform)
        options = _override_options(overrides, platform)
        labels = {name: label for name, label, _choices in provider.composer_options}
        for name in provider.options_required(options=options):
            if options.get(name) in (None, ""):
                message = f"Choose {labels.get(name, name)} for {provider.name}: there is no default."
                problems.append(Problem(f"overrides.{platform}.options.{name}", message, "required"))
    return problems


def _options_together(overrides: dict[str, Any], accounts: list[SocialAccount]) -> list[Problem]:
    """The platform's own check of its options as a whole (an event needs its start and end)."""
    problems = []
    for platform in sorted({account.platform for account in accounts}):
        provider = get_provider(platform)
        for name, message in provider.options_problems(options=_override_options(overrides, platform)):
            problems.append(Problem(f"overrides.{platform}.options.{name}", f"{provider.name}: {message}", "option"))
    return problems


def _account_media(data: PostInput, accounts: list[SocialAccount], media: dict[int, Media]) -> list[Problem]:
    """The main post's media against limits the platform sets per account now (a TikTok
    creator's longest video), so a post the platform would refuse at upload is refused here,
    from the dashboard and the API alike. Only for platforms that declare such limits: asking
    decrypts the account's secrets and may call the platform."""
    if not data.parts:
        return []
    attached = [media_facts(media[a.media_id]) for a in data.parts[0].attachments if a.media_id in media]
    if not attached:
        return []
    problems = []
    for account in accounts:
        provider = get_provider(account.platform)
        if not provider.checks_account_media:
            continue
        options = _override_options(data.overrides, account.platform)
        for message in provider.account_media_problems(account=account.state(), media=attached, options=options):
            problems.append(
                Problem("parts[0].attachments", f"{provider.name} ({account.username}): {message}", "media")
            )
    return problems


def typed_option_ok(value: Any) -> bool:
    """A typed option's value: one short line of text (what it means, the platform checks)."""
    return isinstance(value, str) and len(value) <= TYPED_OPTION_MAX and CONTROL.search(value) is None


def _override(platform: str, override: dict[str, Any]) -> list[Problem]:
    path = f"overrides.{platform}"
    if not isinstance(override.get("text", ""), str):
        return [Problem(f"{path}.text", "The replacement text must be text.", "invalid")]
    options = override.get("options", {})
    if not isinstance(options, dict):
        return [Problem(f"{path}.options", "Give options as an object of name and value.", "invalid")]
    provider = get_provider(platform)
    declared = {name: (label, choices) for name, label, choices in provider.composer_options}
    problems = []
    for name, value in options.items():
        if name not in declared:
            problems.append(Problem(f"{path}.options.{name}", f"{provider.name} has no option {name!r}.", "option"))
            continue
        label, choices = declared[name]
        if name in provider.account_options and account_choice_ok(value):
            continue  # chosen from the account's own list, which only the platform knows
        if name in provider.moment_options:
            if value != "" and not moment_ok(value):
                message = f"{label} for {provider.name} must be a date and time that exists, or left empty."
                problems.append(Problem(f"{path}.options.{name}", message, "option"))
            continue
        if name in dict(provider.typed_options):
            problem = _typed_problem(provider, name, label, value, options)
            if problem:
                problems.append(Problem(f"{path}.options.{name}", problem, "option"))
            continue
        if value not in [choice for choice, _ in choices]:  # a list: the value may be unhashable JSON
            allowed = ", ".join(choice for choice, _ in choices)
            message = f"{label} for {provider.name} must be one of: {allowed}."
            problems.append(Problem(f"{path}.options.{name}", message, "option"))
    return problems


def _typed_problem(provider: Provider, name: str, label: str, value: Any, options: dict[str, Any]) -> str:
    """The shape of what was typed (one line of text), then the platform's own check of it."""
    if not typed_option_ok(value):
        return f"{label} for {provider.name} must be text of at most {TYPED_OPTION_MAX} characters, on one line."
    problem = provider.option_problem(name=name, value=value.strip(), options=options) if value.strip() else ""
    return f"{label} for {provider.name}: {problem}" if problem else ""


def _due_at(
    when: When, accounts: list[SocialAccount], workspace: Workspace, moving_post: int | None
) -> tuple[datetime | None, list[Problem]]:
    if when.kind == WhenKind.DRAFT:
        return None, []
    if when.kind == WhenKind.NOW:
        return timezone.now(), []
    if when.kind == WhenKind.AT:
        return at_problems(when.moment, path="when.at")
    if not accounts:
        return None, []  # "pick an account" already says what to do
    try:
        return next_queue_slot(accounts=accounts, zone=workspace.tzinfo, ignore_post=moving_post), []
    except ValidationError as exc:
        return None, [Problem("when", exc.messages[0], "no_slot")]


def at_problems(moment: datetime | None, *, path: str) -> tuple[datetime | None, list[Problem]]:
    """A publish time given by the caller: aware, in the future, and not absurdly far."""
    if moment is None or timezone.is_naive(moment):
        return None, [Problem(path, "Give the time with its time zone or offset.", "naive_time")]
    try:
        check_schedulable(moment)
    except ValidationError as exc:
        return None, [Problem(path, exc.messages[0], "past" if moment <= timezone.now() else "too_far")]
    return moment, []
