from typing import Any

from django import forms

from accounts.models import User, Workspace
from accounts.roles import Role
from accounts.timezones import known_zones, zone_names


class ZoneInput(forms.TextInput):
    """A text box with the zone names as suggestions: typing "berl" finds Europe/Berlin among
    ~600 names, which a plain select cannot do. The browser fills it in on new workspaces."""

    template_name = "accounts/widgets/zone_input.html"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__({"autocomplete": "off", "spellcheck": "false", "data-zone-input": "", **(attrs or {})})

    def get_context(self, name: str, value, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["list"] = context["list_id"] = f"{context['widget']['attrs']['id']}-zones"
        context["zone_names"] = zone_names()
        return context


class ZoneField(forms.CharField):
    widget = ZoneInput

    def clean(self, value):
        value = super().clean(value)
        if value and value not in known_zones():
            # Case and spaces forgiven ("europe/berlin", "America/New York"), nothing else guessed.
            wanted = value.replace(" ", "_").lower()
            match = next((name for name in known_zones() if name.lower() == wanted), None)
            if match is None:
                raise forms.ValidationError(
                    f"{value} is not a time zone we know: pick one from the list (like Europe/Berlin)."
                )
            value = match
        return value


class WorkspaceForm(forms.ModelForm):
    timezone = ZoneField(
        max_length=64,
        initial="UTC",
        label="Time zone",
        help_text="Scheduled times are shown and entered in this time zone.",
        error_messages={"required": "Pick a time zone."},
    )

    class Meta:
        model = Workspace
        fields = ["name", "timezone"]
        widgets = {"name": forms.TextInput(attrs={"autofocus": True, "placeholder": "Acme marketing"})}
        error_messages = {"name": {"required": "Give the workspace a name."}}


class WorkspaceSettingsForm(WorkspaceForm):
    """The settings page's form: what creating a workspace asks, plus the approval policy."""

    class Meta(WorkspaceForm.Meta):
        fields = ["name", "timezone", "approval_policy"]
        labels = {"approval_policy": "Approval"}
        help_texts = {
            "approval_policy": "Posts that need approval wait in Review until an admin or owner approves them. "
            "Switching it on also holds posts already scheduled (not yet approved) by those who now need approval."
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["approval_policy"].required = False  # left out: the policy stays as it is


class InvitationForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"placeholder": "teammate@example.com"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)

    def __init__(self, *args, allowed_roles: list[Role], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in allowed_roles]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class PreferencesForm(forms.ModelForm):
    timezone = ZoneField(
        max_length=64,
        required=False,
        label="Your time zone",
        help_text="Times are shown and entered in this zone in every workspace. Leave empty to use each workspace's.",
    )

    class Meta:
        model = User
        fields = ["name", "timezone"]
