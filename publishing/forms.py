from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from accounts.models import Workspace
from connections.models import SocialAccount
from connections.registry import get_provider
from publishing.composer import AccountCheck, check_account
from publishing.models import Media, PostContent
from publishing.scheduling import check_schedulable, local_to_utc, next_queue_slot
from publishing.services import Attachment, PartInput, PostInput

MAX_REPLIES = 20
MAX_ID = 2**63 - 1


def is_id(value: str) -> bool:
    """A database id as typed in a query or form: digits only (not "²") and not absurdly large."""
    return value.isascii() and value.isdecimal() and len(value) <= 19 and int(value) <= MAX_ID


class AccountChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        if any(not is_id(str(item)) for item in value or []):
            raise forms.ValidationError("Pick accounts from the list.", code="invalid_choice")
        return super()._check_values(value)


class ComposerForm(forms.Form):
    WHEN = [("now", "Publish now"), ("schedule", "Schedule"), ("queue", "Add to queue"), ("draft", "Save draft")]

    accounts = AccountChoiceField(
        queryset=SocialAccount.objects.none(), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one account to publish to."},
    )  # fmt: skip
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, label="Post")
    first_comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    link = forms.URLField(
        required=False, max_length=2000, assume_scheme="https", help_text="Shown as a link card where supported."
    )
    when = forms.ChoiceField(choices=WHEN, initial="now", widget=forms.RadioSelect)
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    # Seconds allowed: posts go out on the second, so the author may say which one.
    time = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time", "step": "1"}))

    def __init__(self, *args, workspace: Workspace, zone: ZoneInfo | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        # The zone the author reads and types times in (theirs or the workspace's).
        self.zone = zone or workspace.tzinfo
        self.fields["accounts"].queryset = SocialAccount.objects.filter(
            workspace=workspace, status=SocialAccount.Status.ACTIVE
        ).order_by("platform", "username")
        self.checks: list[AccountCheck] = []
        self.publish_at: datetime | None = None

    # Repeated inputs (thread replies, attachments, overrides) come straight from the raw data.
    def replies(self) -> list[str]:
        return [text for text in self.data.getlist("reply")[:MAX_REPLIES] if text.strip()] if self.data else []

    def _attachments(self, prefix: str) -> tuple[Attachment, ...]:
        values = self.data.getlist(f"{prefix}_media")
        # An id that cannot exist (0 never does) makes clean() report the attachment as unknown.
        return tuple(Attachment(int(v) if is_id(v) else 0, self.data.get(f"alt_{v}", "")[:1500]) for v in values)

    def overrides(self) -> dict:
        """Per platform: replacement text and the platform's own options (only known values)."""
        result = {}
        for platform in {account.platform for account in self.cleaned_data.get("accounts", [])}:
            override = {}
            text = self.data.get(f"override_{platform}", "").strip()
            if text:
                override["text"] = text
            options = {}
            for name, _label, choices in get_provider(platform).composer_options:
                value = self.data.get(f"option_{platform}_{name}", "")
                if value in {choice for choice, _ in choices}:
                    options[name] = value
            if options:
                override["options"] = options
            if override:
                result[platform] = override
        return result

    def parts(self) -> list[PartInput]:
        text = self.cleaned_data.get("text", "") if hasattr(self, "cleaned_data") else self.data.get("text", "")
        parts = [PartInput(text=text or "", attachments=self._attachments("main"))]
        parts += [PartInput(text=reply, kind=PostContent.Kind.REPLY) for reply in self.replies()]
        comment = (self.cleaned_data.get("first_comment") if hasattr(self, "cleaned_data") else "") or ""
        if comment.strip():
            parts.append(PartInput(text=comment, kind=PostContent.Kind.FIRST_COMMENT))
        return parts

    def clean(self) -> dict:
        data = super().clean()
        parts = self.parts()
        if not parts[0].text.strip() and not parts[0].attachments:
            self.add_error("text", "Write something (or attach media) for the post.")
        media_ids = [a.media_id for part in parts for a in part.attachments]
        media = {m.id: m for m in Media.objects.filter(workspace=self.workspace, id__in=media_ids)}
        if len(media) != len(set(media_ids)):
            self.add_error(None, "An attachment is not in this workspace's media library.")
        overrides = self.overrides() if data.get("accounts") else {}
        self.checks = [
            check_account(account, parts, media, overrides.get(account.platform, {}).get("text", ""))
            for account in data.get("accounts", [])
        ]
        for check in self.checks:
            for error in check.errors:
                self.add_error(None, error)
        self._clean_when(data)
        return data

    def _clean_when(self, data: dict) -> None:
        when = data.get("when")
        zone = self.zone
        if when == "now":
            self.publish_at = timezone.now()
        elif when == "schedule":
            if not data.get("date") or not data.get("time"):
                self.add_error("date", "Pick a date and a time.")
                return
            try:
                self.publish_at = local_to_utc(data["date"], data["time"], zone)
            except forms.ValidationError as exc:
                self.add_error("time", exc)
                return
            try:
                check_schedulable(self.publish_at)
            except forms.ValidationError as exc:
                self.add_error("time", exc)
        elif when == "queue" and data.get("accounts"):
            try:
                # Slots are the workspace's weekly times, whoever is looking.
                self.publish_at = next_queue_slot(accounts=list(data["accounts"]), zone=self.workspace.tzinfo)
            except forms.ValidationError as exc:
                self.add_error("when", exc)

    def post_input(self) -> PostInput:
        return PostInput(
            parts=self.parts(),
            account_ids=[account.id for account in self.cleaned_data["accounts"]],
            link=self.cleaned_data.get("link", ""),
            overrides=self.overrides(),
        )


class PostingSlotForm(forms.Form):
    DAYS = [("all", "Every day"), *((str(i), day) for i, day in enumerate(
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    ))]  # fmt: skip

    weekday = forms.ChoiceField(choices=DAYS, initial="all", label="Day")
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}), label="Time")
