"""The connect form: a handle or email, an app password, and the server for self-hosted accounts."""

import re

from django import forms

from connections.http import NotAServerAddress, UnsafeURL, server_origin

DEFAULT_SERVICE = "https://bsky.social"

# @atproto/pds (Bluesky's hosting and self-hosted servers alike) generates every app password
# itself as four groups of four characters from the base32 alphabet a-z and 2-7; the
# createAppPassword method takes only a name, so no other shape can exist. The account's own
# password never has this shape, which is how we refuse it before it leaves the browser.
APP_PASSWORD = re.compile(r"^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$")


class InvalidServer(ValueError):
    pass


def normalise_service_url(value: str) -> str:
    """ "pds.example.com", "https://pds.example.com/" and "" (Bluesky itself) alike, checked for SSRF."""
    try:
        return server_origin(value.strip() or DEFAULT_SERVICE)
    except NotAServerAddress:
        raise InvalidServer("Enter a server address such as pds.example.com, or leave it empty for Bluesky.") from None
    except UnsafeURL as exc:
        raise InvalidServer(f"That server cannot be used: {exc}.") from None


def normalise_identifier(value: str) -> str:
    return value.strip().removeprefix("@")


class BlueskyConnectForm(forms.Form):
    identifier = forms.CharField(
        label="Handle or email",
        max_length=253,
        help_text="Your Bluesky handle, such as alice.bsky.social, or the email address you sign in with.",
        widget=forms.TextInput(attrs={"placeholder": "alice.bsky.social", "autocomplete": "username"}),
    )
    app_password = forms.CharField(
        label="App password",
        help_text=(
            "Not your account password: in Bluesky, open Settings → Privacy and security → App passwords, "
            "add one named “Postwright” and paste it here. It looks like abcd-efgh-ijkl-mnop, and you can "
            "revoke it there at any time."
        ),
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "placeholder": "xxxx-xxxx-xxxx-xxxx"}
        ),
    )
    service_url = forms.CharField(
        label="Server (self-hosted accounts only)",
        required=False,
        max_length=255,
        help_text="Leave empty for accounts hosted by Bluesky. For your own PDS, enter its address: pds.example.com.",
        widget=forms.TextInput(attrs={"placeholder": "bsky.social"}),
    )

    def clean_identifier(self) -> str:
        identifier = normalise_identifier(self.cleaned_data["identifier"])
        if not identifier or any(char.isspace() for char in identifier):
            raise forms.ValidationError("Enter your handle (like alice.bsky.social) or your email address.")
        if "." not in identifier and not identifier.startswith("did:"):
            raise forms.ValidationError(f"Enter your full handle, such as {identifier}.bsky.social.")
        return identifier

    def clean_app_password(self) -> str:
        # Generated app passwords are lower case; people retyping one sometimes use capitals.
        password: str = self.cleaned_data["app_password"].strip().lower()
        if not APP_PASSWORD.match(password):
            raise forms.ValidationError(
                "That is not an app password. Create one in Bluesky under Settings → Privacy and security → "
                "App passwords: it has the form xxxx-xxxx-xxxx-xxxx. Your account password is never accepted here."
            )
        return password

    def clean_service_url(self) -> str:
        try:
            return normalise_service_url(self.cleaned_data["service_url"])
        except InvalidServer as exc:
            raise forms.ValidationError(str(exc)) from None
