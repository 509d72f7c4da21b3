"""LINKEDIN_API_URL and LINKEDIN_OAUTH_URL: where LinkedIn answers (a fake on loopback in the
browser tests), and which upload URLs are followed."""

import pytest

from connections.providers.linkedin.client import _upload_allowed, userinfo_url
from connections.registry import get_provider


def test_the_defaults_are_linkedins_own():
    provider = get_provider("linkedin")
    authorize, token, _revoke = provider.endpoints()
    assert (authorize, token) == (provider.authorize_url, provider.token_url)
    assert userinfo_url() == "https://api.linkedin.com/v2/userinfo"


def test_the_settings_move_every_endpoint(settings):
    settings.LINKEDIN_API_URL = "http://127.0.0.1:8123"
    settings.LINKEDIN_OAUTH_URL = "http://127.0.0.1:8123/oauth/v2"
    authorize, token, _revoke = get_provider("linkedin").endpoints()
    assert (authorize, token) == (
        "http://127.0.0.1:8123/oauth/v2/authorization",
        "http://127.0.0.1:8123/oauth/v2/accessToken",
    )
    assert userinfo_url() == "http://127.0.0.1:8123/v2/userinfo"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://www.linkedin.com/dms-uploads/sp/upload-1", True),
        ("https://api.linkedin.com/mediaUpload/abc", True),
        ("http://www.linkedin.com/dms-uploads/sp/upload-1", False),  # LinkedIn's hosts, but not over https
        ("https://evil.example/upload", False),
        ("https://www.linkedin.com.evil.example/upload", False),
        ("http://127.0.0.1:8123/dms-uploads/1", False),  # a loopback origin only when it is the configured API
    ],
)
def test_upload_urls_on_linkedins_hosts_only_by_default(url, allowed):
    assert _upload_allowed(url) is allowed


def test_the_configured_api_origin_may_hand_out_upload_urls(settings):
    settings.LINKEDIN_API_URL = "http://127.0.0.1:8123"
    assert _upload_allowed("http://127.0.0.1:8123/dms-uploads/1")
    assert not _upload_allowed("http://127.0.0.1:8124/dms-uploads/1")  # another port is another origin
    assert _upload_allowed("https://www.linkedin.com/dms-uploads/sp/upload-1")
