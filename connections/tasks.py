"""Thin scheduled tasks: load, call a service, let it decide."""

from connections import services


def refresh_expiring_tokens() -> dict[str, int]:
    return services.refresh_expiring_tokens()


def warn_expiring_consents() -> dict[str, int]:
    return services.warn_expiring_consents()


def expire_connect_sessions() -> int:
    return services.expire_connect_sessions()
