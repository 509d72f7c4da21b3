import zoneinfo

from django import forms

from accounts.models import Workspace
from accounts.roles import Role


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class WorkspaceForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        choices=timezone_choices,
        initial="UTC",
        help_text="Scheduled times are shown and entered in this time zone.",
    )

    class Meta:
        model = Workspace
        fields = ["name", "timezone"]
        widgets = {"name": forms.TextInput(attrs={"autofocus": True, "placeholder": "Acme marketing"})}
        error_messages = {"name": {"required": "Give the workspace a name."}}


class InvitationForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"placeholder": "teammate@example.com"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)

    def __init__(self, *args, allowed_roles: list[Role], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in allowed_roles]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
