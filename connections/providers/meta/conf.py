"""Meta's settings, read with all the others (config/settings.py loads every registered
platform's conf.py); documented in README's settings table.

Where the reference marks a fact uncertain ([?]: Graph v25 or v26, the carousel size, whether
the app requires appsecret_proof), it is a setting here rather than a constant."""

import re

from config.env import EnvError, env_bool, env_int, env_str, env_url

VERSION = re.compile(r"^v\d{1,3}\.\d$")


def settings_from_env(*, testing: bool) -> dict[str, object]:
    version = env_str("META_GRAPH_VERSION", "v25.0")
    if not VERSION.match(version):
        raise EnvError(f"META_GRAPH_VERSION must look like v25.0, not {version!r}")
    slowdown = env_int("META_USAGE_SLOWDOWN_PERCENT", 80, minimum=1)
    if slowdown > 100:
        raise EnvError("META_USAGE_SLOWDOWN_PERCENT must be at most 100")
    threads_version = env_str("META_THREADS_VERSION", "v1.0")
    if not VERSION.match(threads_version):
        raise EnvError(f"META_THREADS_VERSION must look like v1.0, not {threads_version!r}")
    return {
        "META_GRAPH_VERSION": version,
        "META_THREADS_VERSION": threads_version,
        # Where each of Meta's APIs and consent pages answers. Meta's own hosts in production; a
        # test (or a staging fake) points them at a server of its own. Plain http only reaches
        # anything where ALLOW_PRIVATE_NETWORK_URLS is on (the chokepoint refuses it otherwise).
        "META_GRAPH_URL": env_url("META_GRAPH_URL", "https://graph.facebook.com"),
        "META_DIALOG_URL": env_url("META_DIALOG_URL", "https://www.facebook.com"),
        "META_INSTAGRAM_GRAPH_URL": env_url("META_INSTAGRAM_GRAPH_URL", "https://graph.instagram.com"),
        "META_INSTAGRAM_AUTHORIZE_URL": env_url(
            "META_INSTAGRAM_AUTHORIZE_URL", "https://www.instagram.com/oauth/authorize"
        ),
        "META_INSTAGRAM_TOKEN_URL": env_url("META_INSTAGRAM_TOKEN_URL", "https://api.instagram.com/oauth/access_token"),
        # The docs show threads.net and (since Aug 2026) threads.com; both appear to work [?].
        "META_THREADS_API_URL": env_url("META_THREADS_API_URL", "https://graph.threads.net"),
        "META_THREADS_AUTHORIZE_URL": env_url("META_THREADS_AUTHORIZE_URL", "https://threads.net/oauth/authorize"),
        "META_THREADS_CAROUSEL_MAX": env_int("META_THREADS_CAROUSEL_MAX", 20, minimum=2),
        # Sending the proof when the app does not require it is harmless (django-allauth always does).
        "META_APPSECRET_PROOF": env_bool("META_APPSECRET_PROOF", True),
        # Facebook Login for Business: the configuration's id replaces the scope list.
        "META_LOGIN_CONFIG_ID": env_str("META_LOGIN_CONFIG_ID", ""),
        "META_USAGE_SLOWDOWN_PERCENT": slowdown,
        "META_IG_CAROUSEL_MAX": env_int("META_IG_CAROUSEL_MAX", 10, minimum=2),
        "META_FB_PHOTOS_MAX": env_int("META_FB_PHOTOS_MAX", 10, minimum=1),
        # Posts per page when importing an account's past posts: Graph lists default to 25 and
        # most edges take up to 100, but the maximum per edge is not in the reference [?].
        "META_IMPORT_PAGE_SIZE": env_int("META_IMPORT_PAGE_SIZE", 50, minimum=1),
    }
