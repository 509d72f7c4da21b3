from django import forms

from webhooks.catalogue import PUBLIC_TYPES

REPLAY_WINDOWS = [("1", "the last hour"), ("24", "the last 24 hours"), ("168", "the last 7 days")]


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/postwright"}),
    )
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(name, name) for name in PUBLIC_TYPES],
        help_text="Leave all unticked to receive every event.",
    )  # fmt: skip


class ReplayForm(forms.Form):
    hours = forms.TypedChoiceField(choices=REPLAY_WINDOWS, coerce=int, initial="24", label="Failed in")
