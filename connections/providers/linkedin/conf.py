"""LinkedIn's settings, read with all the others (config/settings.py loads every registered
platform's conf.py); documented in README's settings table.

LinkedIn versions its REST API by month and retires each version after about a year, so the
version is a setting to keep current, not a constant (platforms-other.md section 2)."""

import re

from config.env import EnvError, env_bool, env_int, env_str, env_url

VERSION = re.compile(r"^20\d{2}(0[1-9]|1[0-2])$")


def settings_from_env(*, testing: bool) -> dict[str, object]:
    version = env_str("LINKEDIN_VERSION", "202511")
    if not VERSION.match(version):
        raise EnvError(f"LINKEDIN_VERSION must be a month such as 202511 (YYYYMM), not {version!r}")
    posts_sort = env_str("LINKEDIN_POSTS_SORT", "CREATED")
    if posts_sort not in ("CREATED", "LAST_MODIFIED"):
        raise EnvError(f"LINKEDIN_POSTS_SORT must be CREATED or LAST_MODIFIED, not {posts_sort!r}")
    return {
        "LINKEDIN_VERSION": version,
        # Where LinkedIn's API and its consent pages answer (a fake LinkedIn on loopback in tests).
        "LINKEDIN_API_URL": env_url("LINKEDIN_API_URL", "https://api.linkedin.com"),
        "LINKEDIN_OAUTH_URL": env_url("LINKEDIN_OAUTH_URL", "https://www.linkedin.com/oauth/v2"),
        # Company pages need the Community Management API product (approval): without it, asking
        # for its scopes makes LinkedIn refuse the whole consent.
        "LINKEDIN_ORGANIZATIONS": env_bool("LINKEDIN_ORGANIZATIONS", True),
        # The reference marks these limits uncertain ("~500 MB", "<=100 MB").
        "LINKEDIN_VIDEO_MAX_BYTES": env_int("LINKEDIN_VIDEO_MAX_BYTES", 500 * 1024 * 1024, minimum=1),
        # How the posts finder orders an author's posts for importing them (newest first either
        # way; CREATED is what an import wants, LAST_MODIFIED what the reference shows).
        "LINKEDIN_POSTS_SORT": posts_sort,
        # Whether the app is approved to read members' posts (r_member_social, a restricted
        # permission): then the consent asks for it and a member's past posts can be imported.
        "LINKEDIN_MEMBER_POSTS": env_bool("LINKEDIN_MEMBER_POSTS", False),
        # The network-size edge that counts an organization's followers; the reference is unsure
        # of its casing.
        "LINKEDIN_FOLLOWER_EDGE": env_str("LINKEDIN_FOLLOWER_EDGE", "COMPANY_FOLLOWED_BY_MEMBER"),
        "LINKEDIN_DOCUMENT_MAX_BYTES": env_int("LINKEDIN_DOCUMENT_MAX_BYTES", 100_000_000, minimum=1),
    }
