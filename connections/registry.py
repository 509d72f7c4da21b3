"""The platforms Postwright can connect. Adding one: a package under providers/ and a line here.

Everything else about a platform is derived from its line: the model field's choices, its
instance-wide ``<PLATFORM>_CLIENT_ID`` / ``_SECRET`` settings, and (when its package has them)
its Django app (``apps.py``: models, admin, migrations) and its own settings (``conf.py``).
config/settings.py reads this module, so it imports nothing from Django at module level that
needs settings, and no provider code until a provider is asked for.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from connections.providers.base import Provider

# id -> (label, dotted path). Imported lazily so a broken platform cannot break the others.
PROVIDERS: dict[str, tuple[str, str]] = {
    "demo": ("Demo network", "connections.providers.demo.provider.DemoProvider"),
    "bluesky": ("Bluesky", "connections.providers.bluesky.provider.BlueskyProvider"),
    "mastodon": ("Mastodon", "connections.providers.mastodon.provider.MastodonProvider"),
    "facebook": ("Facebook Pages", "connections.providers.meta.facebook.FacebookProvider"),
    "instagram": ("Instagram", "connections.providers.meta.instagram.InstagramProvider"),
    "x": ("X", "connections.providers.x.provider.XProvider"),
    "linkedin": ("LinkedIn", "connections.providers.linkedin.provider.LinkedInProvider"),
    "youtube": ("YouTube", "connections.providers.youtube.provider.YouTubeProvider"),
    "tiktok": ("TikTok", "connections.providers.tiktok.provider.TikTokProvider"),
    "threads": ("Threads", "connections.providers.meta.threads.ThreadsProvider"),
    "instagram_login": ("Instagram (direct)", "connections.providers.meta.instagram_login.InstagramLoginProvider"),
    "pinterest": ("Pinterest", "connections.providers.pinterest.provider.PinterestProvider"),
    "google_business": ("Google Business", "connections.providers.google_business.provider.GoogleBusinessProvider"),
    "reddit": ("Reddit", "connections.providers.reddit.provider.RedditProvider"),
}


def platform_choices() -> list[tuple[str, str]]:
    return [(platform, label) for platform, (label, _path) in PROVIDERS.items()]


def platform_package(platform: str) -> str:
    """The package holding everything of a platform: the one its provider class's module is in."""
    module = PROVIDERS[platform][1].rpartition(".")[0]
    return module.rpartition(".")[0]


def platform_packages_with(module: str) -> list[str]:
    """The registered platforms' packages that have ``module`` (e.g. "apps", "conf"), in registry
    order. Looked up without importing it, so settings can ask before Django is set up."""
    # Once each: platforms of one family may share a package (Facebook and Instagram: meta).
    packages = list(dict.fromkeys(platform_package(platform) for platform in PROVIDERS))
    return [package for package in packages if find_spec(f"{package}.{module}") is not None]


def platform_settings(*, packages: list[str], testing: bool, taken: Collection[str]) -> dict[str, object]:
    """The settings each package's ``conf.settings_from_env(testing=...)`` reads from the environment.

    A platform may only add settings: one that would replace a setting already made (``taken``)
    or another platform's is refused at start-up, so no package can quietly change SECRET_KEY."""
    found: dict[str, object] = {}
    for package in packages:
        for name, value in import_module(f"{package}.conf").settings_from_env(testing=testing).items():
            if not name.isupper() or name in taken or name in found:
                raise ImproperlyConfigured(f"{package}.conf may only add new upper-case settings, not {name!r}")
            found[name] = value
    return found


def env_prefix(platform: str) -> str:
    """How a platform's id appears in environment variable names: ``x`` -> ``X``, ``my-net`` -> ``MY_NET``."""
    return platform.upper().replace("-", "_").replace(".", "_")


def _all() -> dict[str, tuple[str, str]]:
    # Tests add providers (e.g. one for a local OAuth server) through this setting.
    return {**PROVIDERS, **getattr(settings, "EXTRA_CONNECTION_PROVIDERS", {})}


@cache
def _load(path: str) -> Provider:
    provider: Provider = import_string(path)()  # the registry names only Provider subclasses
    return provider


def get_provider(platform: str) -> Provider:
    """The provider for a platform id, or KeyError for unknown or disabled platforms."""
    provider = _load(_all()[platform][1])
    if not provider.is_enabled():
        raise KeyError(platform)
    return provider


def enabled_platforms() -> list[str]:
    # A provider says itself whether it is switched off (the Demo network by its setting).
    return [platform for platform, (_label, path) in _all().items() if _load(path).is_enabled()]


def enabled_providers() -> list[Provider]:
    return [get_provider(platform) for platform in enabled_platforms()]


def starter_hints() -> list[str]:
    """What the empty Accounts and Compose pages suggest: the enabled platforms that need no setup."""
    return [provider.starter_hint for provider in enabled_providers() if provider.starter_hint]
