"""TikTok's settings, read with all the others (config/settings.py loads every registered
platform's conf.py); documented in README's settings table."""

from config.env import EnvError, env_bool, env_int

MIB = 1024 * 1024
CHUNK_MIN, CHUNK_MAX = 5 * MIB, 64 * MIB  # TikTok's chunk rules: 5-64 MB, the last up to 128 MB


def settings_from_env(*, testing: bool) -> dict[str, object]:
    chunk = env_int("TIKTOK_UPLOAD_CHUNK_BYTES", 10_000_000, minimum=CHUNK_MIN)
    if chunk > CHUNK_MAX:
        raise EnvError(f"TIKTOK_UPLOAD_CHUNK_BYTES must be at most {CHUNK_MAX} (64 MB)")
    return {
        "TIKTOK_UPLOAD_CHUNK_BYTES": chunk,
        # TikTok pulls from a URL only on a domain verified in its developer portal.
        "TIKTOK_PULL_FROM_URL": env_bool("TIKTOK_PULL_FROM_URL", False),
        # Whether TikTok has audited this app; until it has, the composer says every post is private.
        "TIKTOK_APP_AUDITED": env_bool("TIKTOK_APP_AUDITED", False),
    }
