"""The composer's form reads what the author typed into a PostInput and shows the services' problems
next to the fields they are about. It holds no rules: publishing.rules does (the API shares them)."""

import re
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import QuerySet
from django.utils.datastructures import MultiValueDict

from accounts.models import Workspace
from connections.models import SocialAccount
from connections.registry import get_provider
from publishing.inputs import Attachment, PartInput, PostInput, Problem, When
from publishing.models import PostContent
from publishing.rules import account_choice_ok
from publishing.scheduling import local_to_utc

MAX_ID = 2**63 - 1
# The form reads this many reply boxes; publishing.rules refuses threads longer than it allows.
MAX_REPLY_BOXES = 50
PART = re.compile(r"^parts\[(\d+)\](\.text)?$")
# Where a problem about a PostInput path shows on this form (None: above the form).
FIELD_OF_PATH = {"account_ids": "accounts", "link": "link", "when": "when", "when.at": "time"}


def is_id(value: str) -> bool:
    """A database id as typed in a query or form: digits only (not "²") and not absurdly large."""
    return value.isascii() and value.isdecimal() and len(value) <= 19 and int(value) <= MAX_ID


class IdListField(forms.Field):
    """Checked boxes as a list of ids; which ids may be used is the services' call."""

    widget = forms.MultipleHiddenInput  # the template draws the checkboxes itself

    def to_python(self, value: object) -> list[int]:
        items = value if isinstance(value, list | tuple) else [value] if value else []
        values = [str(item) for item in items]
        if any(not is_id(item) for item in values):
            raise forms.ValidationError("Pick accounts from the list.", code="invalid_choice")
        return list(dict.fromkeys(int(item) for item in values))


class ComposerForm(forms.Form):
    # Bound to request.POST (unbound: Django's empty MultiValueDict): repeated inputs are read with getlist.
    data: MultiValueDict[str, str]
    WHEN = [("now", "Publish now"), ("schedule", "Schedule"), ("queue", "Add to queue"), ("draft", "Save draft")]

    accounts = IdListField(required=False)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, label="Post")
    first_comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    link = forms.CharField(required=False, help_text="Shown as a link card where supported.")
    when = forms.ChoiceField(choices=WHEN, initial="now", widget=forms.RadioSelect)
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    # Seconds allowed: posts go out on the second, so the author may say which one.
    time = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time", "step": "1"}))

    def __init__(self, *args: Any, workspace: Workspace, zone: ZoneInfo | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        # The zone the author reads and types times in (theirs or the workspace's).
        self.zone = zone or workspace.tzinfo
        self.timing: When | None = None

    def account_choices(self) -> QuerySet[SocialAccount]:
        """The accounts the page offers (display only: the services judge what was picked)."""
        return SocialAccount.objects.filter(workspace=self.workspace, status=SocialAccount.Status.ACTIVE).order_by(
            "platform", "username"
        )

    # Repeated inputs (thread replies, attachments, overrides) come straight from the raw data.
    def replies(self) -> list[str]:
        return [text for text in self.data.getlist("reply")[:MAX_REPLY_BOXES] if text.strip()] if self.data else []

    def _attachments(self, prefix: str) -> tuple[Attachment, ...]:
        values = self.data.getlist(f"{prefix}_media")
        # An id that cannot exist (0 never does) makes the services report the attachment as unknown.
        return tuple(Attachment(int(v) if is_id(v) else 0, self.data.get(f"alt_{v}", "")) for v in values)

    def _cleaned(self, name: str, default: Any) -> Any:
        return getattr(self, "cleaned_data", {}).get(name) or default

    def overrides(self) -> dict[str, Any]:
        """Per platform of the picked accounts: replacement text and the platform's own options."""
        ids = self._cleaned("accounts", [])
        platforms = SocialAccount.objects.filter(workspace=self.workspace, id__in=ids).values_list(
            "platform", flat=True
        )
        result: dict[str, Any] = {}
        for platform in sorted(set(platforms)):
            override: dict[str, Any] = {}
            text = self.data.get(f"override_{platform}", "").strip()
            if text:
                override["text"] = text
            options = {}
            provider = get_provider(platform)
            for name, _label, choices in provider.composer_options:
                value = self.data.get(f"option_{platform}_{name}", "")
                if name in provider.typed_options:
                    if value.strip():
                        options[name] = value.strip()  # the services check what was typed
                    continue
                # A select sends one of its own values; anything else was not chosen from it.
                # An account's own list (boards) is only known to the platform: the services
                # check the value's form and the platform the rest.
                if value in {choice for choice, _ in choices} or (
                    name in provider.account_options and account_choice_ok(value)
                ):
                    options[name] = value
            if options:
                override["options"] = options
            if override:
                result[platform] = override
        return result

    def parts(self) -> list[PartInput]:
        text = self._cleaned("text", "") if hasattr(self, "cleaned_data") else self.data.get("text", "")
        parts = [PartInput(text=text or "", attachments=self._attachments("main"))]
        parts += [PartInput(text=reply, kind=PostContent.Kind.REPLY) for reply in self.replies()]
        comment = self._cleaned("first_comment", "")
        if comment.strip():
            parts.append(PartInput(text=comment, kind=PostContent.Kind.FIRST_COMMENT))
        return parts

    def clean_link(self) -> str:
        link = self.cleaned_data["link"]
        # Typed without a scheme ("example.com/a"): the author means the web address.
        return f"https://{link}" if link and "://" not in link else link

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns, typed without its Optional
        kind = data.get("when")
        if kind in ("now", "queue", "draft"):
            self.timing = {"now": When.now, "queue": When.next_slot, "draft": When.draft}[kind]()
        elif kind == "schedule":
            self.timing = self._scheduled(data)
        return data

    def _scheduled(self, data: dict[str, Any]) -> When | None:
        if not data.get("date") or not data.get("time"):
            if not self.has_error("date") and not self.has_error("time"):
                self.add_error("date", "Pick a date and a time.")
            return None
        try:
            # Wall-clock time in the author's zone (theirs or the workspace's); refuses times a DST change skips.
            return When.at(local_to_utc(data["date"], data["time"], self.zone))
        except forms.ValidationError as exc:
            self.add_error("time", exc)
            return None

    def post_input(self) -> PostInput:
        """What was typed, as far as it could be read; an unreadable time saves nothing (a draft's
        rules are checked, not a time's), so the page still lists every other problem at once."""
        return PostInput(
            parts=self.parts(),
            account_ids=self._cleaned("accounts", []),
            link=self._cleaned("link", ""),
            overrides=self.overrides(),
            when=self.timing or When.draft(),
        )

    def show_problems(self, problems: list[Problem]) -> None:
        """Each problem next to its field; none repeated where the field already says it cannot be read."""
        parts = self.parts()
        for problem in problems:
            name = self._field_for(problem.field, parts)
            if name is not None and self.has_error(name):
                continue
            self.add_error(name, forms.ValidationError(problem.message, code=problem.code))

    @staticmethod
    def _field_for(path: str, parts: list[PartInput]) -> str | None:
        if path in FIELD_OF_PATH:
            return FIELD_OF_PATH[path]
        match = PART.match(path)
        if match and int(match[1]) < len(parts):
            kind = parts[int(match[1])].kind
            fields: dict[str, str] = {PostContent.Kind.MAIN: "text", PostContent.Kind.FIRST_COMMENT: "first_comment"}
            return fields.get(kind)
        return None


class PostingSlotForm(forms.Form):
    DAYS = [("all", "Every day"), *((str(i), day) for i, day in enumerate(
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    ))]  # fmt: skip

    weekday = forms.ChoiceField(choices=DAYS, initial="all", label="Day")
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}), label="Time")
