"""Strict readers for settings that come from the environment.

Every reader names the variable in its error, so a typo in a deployment fails at start-up
with a message that says which variable to fix instead of misbehaving later.
Each reader also accepts a ``NAME_FILE`` variant (Docker/Kubernetes secrets) holding the value.
"""

import os
from pathlib import Path
from typing import overload

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class EnvError(ImproperlyConfigured):
    """A variable is present but malformed."""


def _raw(name: str) -> str | None:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise EnvError(f"{name}_FILE: cannot read {file_name!r}: {exc.strerror}") from None
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


# A default that is a string gives a string, so settings such as SITE_URL need no None check.
@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise EnvError(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise EnvError(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise EnvError(f"{name} must be at least {minimum}, not {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


@overload
def env_url(name: str, default: str, *, schemes: tuple[str, ...] = ...) -> str: ...
@overload
def env_url(name: str, default: None, *, schemes: tuple[str, ...] = ...) -> str | None: ...
def env_url(name: str, default: str | None, *, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    value = env_str(name, default)
    if value is None:
        return None
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in schemes or not rest or rest.startswith("/"):
        allowed = " or ".join(schemes)
        raise EnvError(f"{name} must be an absolute {allowed} URL, not {value!r}")
    return value.rstrip("/")


def env_file_load(path: Path) -> None:
    """KEY=VALUE lines (``#`` comments) into the environment, never over a variable already set.

    ``make run`` writes its development settings to ``.local/env`` so that ``manage.py`` run
    from another terminal (createsuperuser, shell) starts with the same ones.
    """
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip().isidentifier():
            raise EnvError(f"{path}, line {number}: expected NAME=value, not {line!r}")
        os.environ.setdefault(name.strip(), value.strip())


def env_client_credentials(prefix: str) -> tuple[str | None, str | None]:
    """``<PREFIX>_CLIENT_ID`` and ``<PREFIX>_CLIENT_SECRET``: an OAuth client, both or neither."""
    client_id, client_secret = env_str(f"{prefix}_CLIENT_ID"), env_str(f"{prefix}_CLIENT_SECRET")
    if bool(client_id) != bool(client_secret):
        raise EnvError(f"{prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET must be set together")
    return client_id, client_secret
