"""YouTube's settings, read with all the others (config/settings.py loads every registered
platform's conf.py); documented in README's settings table.

The reference marks the quota uncertain (``videos.insert`` at 1,600 units of 10,000 a day, or a
bucket of its own): both numbers are settings, to be read off the Google Cloud console."""

from config.env import EnvError, env_int

QUARTER_MIB = 256 * 1024  # chunks of a resumable upload are multiples of 256 KiB


def settings_from_env(*, testing: bool) -> dict[str, object]:
    chunk = env_int("YOUTUBE_UPLOAD_CHUNK_BYTES", 32 * QUARTER_MIB, minimum=QUARTER_MIB)
    if chunk % QUARTER_MIB:
        raise EnvError("YOUTUBE_UPLOAD_CHUNK_BYTES must be a multiple of 262144 (256 KiB)")
    return {
        "YOUTUBE_QUOTA_UNITS_PER_DAY": env_int("YOUTUBE_QUOTA_UNITS_PER_DAY", 10_000, minimum=1),
        "YOUTUBE_UPLOAD_COST_UNITS": env_int("YOUTUBE_UPLOAD_COST_UNITS", 1_600, minimum=1),
        "YOUTUBE_UPLOAD_CHUNK_BYTES": chunk,
    }
