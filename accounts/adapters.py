from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.http import HttpRequest

# Set in the session by the invitation page, so invitees can sign up when signups are closed.
INVITATION_SESSION_KEY = "postwright_invitation"


def signup_allowed(request: HttpRequest) -> bool:
    return settings.SIGNUPS_OPEN or bool(request.session.get(INVITATION_SESSION_KEY))


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return signup_allowed(request)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin) -> bool:
        return signup_allowed(request)
