from types import SimpleNamespace
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.http import HttpRequest

# Set in the session by the invitation page, so invitees can sign up when signups are closed.
INVITATION_SESSION_KEY = "postwright_invitation"


def signup_allowed(request: HttpRequest) -> bool:
    return settings.SIGNUPS_OPEN or bool(request.session.get(INVITATION_SESSION_KEY))


def email_site() -> SimpleNamespace:
    """What emails call the site: its name and public address, not the host the request used
    (without django.contrib.sites, allauth greets "Hello from 127.0.0.1:8000!")."""
    return SimpleNamespace(name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return signup_allowed(request)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        super().send_mail(template_prefix, email, {**context, "current_site": email_site()})


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin) -> bool:
        return signup_allowed(request)
