"""YouTube's settings, read with all the others (config/settings.py loads every registered
platform's conf.py); documented in README's settings table.

The reference marks the quota uncertain (``videos.insert`` at 1,600 units of 10,000 a day, or a
bucket of its own): both numbers are settings, to be read off the Google Cloud console."""

from config.env import EnvError, env_int, env_str

QUARTER_MIB = 256 * 1024  # chunks of a resumable upload are multiples of 256 KiB


def settings_from_env(*, testing: bool) -> dict[str, object]:
    chunk = env_int("YOUTUBE_UPLOAD_CHUNK_BYTES", 32 * QUARTER_MIB, minimum=QUARTER_MIB)
    if chunk % QUARTER_MIB:
        raise EnvError("YOUTUBE_UPLOAD_CHUNK_BYTES must be a multiple of 262144 (256 KiB)")
    return {
        "YOUTUBE_QUOTA_UNITS_PER_DAY": env_int("YOUTUBE_QUOTA_UNITS_PER_DAY", 10_000, minimum=1),
        "YOUTUBE_UPLOAD_COST_UNITS": env_int("YOUTUBE_UPLOAD_COST_UNITS", 1_600, minimum=1),
        "YOUTUBE_UPLOAD_CHUNK_BYTES": chunk,
        "YOUTUBE_WORKSPACE_QUOTA_SHARE": workspace_share(env_str("YOUTUBE_WORKSPACE_QUOTA_SHARE", "1")),
    }


def workspace_share(value: str) -> float:
    """One workspace's share of the project's daily units: a fraction up to 1 (0.25 is a
    quarter; 1, the default, the whole quota, so a single-tenant install changes nothing) or,
    above 1, a number of units."""
    try:
        share = float(value)
    except ValueError:
        share = 0.0
    if not share > 0 or (share > 1 and not share.is_integer()):  # NaN and infinity fail too
        raise EnvError(
            f"YOUTUBE_WORKSPACE_QUOTA_SHARE must be a fraction up to 1 (0.25) or a whole number of units, not {value!r}"
        )
    return share
