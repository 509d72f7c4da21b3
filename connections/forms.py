from typing import Any

from django import forms

from connections.http import NotAServerAddress, UnsafeURL, server_origin
from connections.models import OAuthApp


def normalise_server_url(value: str) -> str:
    """Accept "mastodon.social", "https://mastodon.social/" or "@me@mastodon.social" alike."""
    value = value.strip()
    if "@" in value and "://" not in value:
        value = value.rsplit("@", 1)[1]
    try:
        return server_origin(value)
    except NotAServerAddress:
        raise forms.ValidationError("Enter a server address such as mastodon.social.") from None
    except UnsafeURL as exc:
        raise forms.ValidationError(f"That server cannot be used: {exc}.") from None


class InstanceForm(forms.Form):
    instance = forms.CharField(
        label="Server",
        max_length=255,
        help_text="The address of your server, e.g. mastodon.social.",
        widget=forms.TextInput(attrs={"placeholder": "mastodon.social", "autofocus": True}),
    )

    def clean_instance(self) -> str:
        return normalise_server_url(self.cleaned_data["instance"])


class OAuthAppForm(forms.ModelForm[OAuthApp]):
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

    def save(self, commit: bool = True) -> OAuthApp:
        app = super().save(commit=False)
        if self.cleaned_data["client_secret"]:
            app.client_secret = self.cleaned_data["client_secret"]
        if commit:
            app.save()
        return app
