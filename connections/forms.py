from typing import Any

from django import forms

from connections.http import NotAServerAddress, UnsafeURL, server_origin
from connections.models import OAuthApp


def normalise_server_url(value: str, *, example: str = "") -> str:
    """Accept "example.social", "https://example.social/" or "@me@example.social" alike."""
    value = value.strip()
    if "@" in value and "://" not in value:
        value = value.rsplit("@", 1)[1]
    try:
        return server_origin(value)
    except NotAServerAddress:
        such_as = f" such as {example}" if example else " (its host name)"
        raise forms.ValidationError(f"Enter a server address{such_as}.") from None
    except UnsafeURL as exc:
        raise forms.ValidationError(f"That server cannot be used: {exc}.") from None


class InstanceForm(forms.Form):
    """The server of a federated platform; ``example`` is the provider's ``instance_example``."""

    instance = forms.CharField(
        label="Server",
        max_length=255,
        help_text="The address of your server.",
        widget=forms.TextInput(attrs={"autofocus": True}),
    )

    def __init__(self, *args: Any, example: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.example = example
        if example:
            self.fields["instance"].help_text = f"The address of your server, e.g. {example}."
            self.fields["instance"].widget.attrs["placeholder"] = example

    def clean_instance(self) -> str:
        return normalise_server_url(self.cleaned_data["instance"], example=self.example)


class OAuthAppForm(forms.ModelForm[OAuthApp]):
    """Validates the page's input; connections.services.oauth_app_save stores it (as the API does)."""

    client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only: leave empty to keep the saved secret.",
    )

    class Meta:
        model = OAuthApp
        fields = ["client_id", "scopes"]  # client_secret is declared above: write-only

    field_order = ["client_id", "client_secret", "scopes"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_saved_secret = bool(self.instance.pk and self.instance.client_secret)

    def clean_client_secret(self) -> str:
        secret: str = self.cleaned_data["client_secret"].strip()
        if not secret and not self.has_saved_secret:
            raise forms.ValidationError("Paste the client secret from the platform's developer console.")
        return secret
