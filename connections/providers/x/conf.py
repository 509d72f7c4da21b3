"""X's settings, read with all the others (config/settings.py loads every registered platform's
conf.py); documented in README's settings table.

Where platforms-other.md section 1 marks a fact uncertain (the upload chunk size "4-5 MB", the
alt-text call's exact shape, how long a monthly usage cap lasts), it is a setting here."""

from config.env import EnvError, env_bool, env_int, env_str

MAX_CHUNK = 5 * 1024 * 1024


def settings_from_env(*, testing: bool) -> dict[str, object]:
    chunk = env_int("X_UPLOAD_CHUNK_BYTES", 4 * 1024 * 1024, minimum=64 * 1024)
    if chunk > MAX_CHUNK:
        raise EnvError(f"X_UPLOAD_CHUNK_BYTES must be at most {MAX_CHUNK} (X takes segments of 4-5 MB)")
    metadata_path = env_str("X_MEDIA_METADATA_PATH", "/2/media/metadata")
    if not metadata_path.startswith("/2/"):
        raise EnvError(f"X_MEDIA_METADATA_PATH must be an API v2 path such as /2/media/metadata, not {metadata_path!r}")
    return {
        "X_UPLOAD_CHUNK_BYTES": chunk,
        "X_MEDIA_METADATA_PATH": metadata_path,
        # A 429 whose type ends /usage-capped (the app's monthly cap) carries no reset we can trust.
        "X_USAGE_CAP_WAIT_SECONDS": env_int("X_USAGE_CAP_WAIT_SECONDS", 6 * 60 * 60, minimum=60),
        # Verified (Premium) accounts may post up to 25,000 weighted characters.
        "X_VERIFIED_LONG_POSTS": env_bool("X_VERIFIED_LONG_POSTS", True),
    }
