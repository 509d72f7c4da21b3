"""The platforms Postwright can connect. Adding one: a package under providers/ and a line here."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from connections.providers.base import Provider

# id -> (label, dotted path). Imported lazily so a broken platform cannot break the others.
PROVIDERS: dict[str, tuple[str, str]] = {
    "demo": ("Demo network", "connections.providers.demo.provider.DemoProvider"),
    "bluesky": ("Bluesky", "connections.providers.bluesky.provider.BlueskyProvider"),
    "mastodon": ("Mastodon", "connections.providers.mastodon.provider.MastodonProvider"),
}


def platform_choices() -> list[tuple[str, str]]:
    return [(platform, label) for platform, (label, _path) in PROVIDERS.items()]


def _all() -> dict[str, tuple[str, str]]:
    # Tests add providers (e.g. one for a local OAuth server) through this setting.
    return {**PROVIDERS, **getattr(settings, "EXTRA_CONNECTION_PROVIDERS", {})}


@cache
def _load(path: str) -> Provider:
    provider: Provider = import_string(path)()  # the registry names only Provider subclasses
    return provider


def get_provider(platform: str) -> Provider:
    """The provider for a platform id, or KeyError for unknown or disabled platforms."""
    if platform not in enabled_platforms():
        raise KeyError(platform)
    return _load(_all()[platform][1])


def enabled_platforms() -> list[str]:
    return [p for p in _all() if p != "demo" or settings.DEMO_NETWORK_ENABLED]


def enabled_providers() -> list[Provider]:
    return [get_provider(platform) for platform in enabled_platforms()]
