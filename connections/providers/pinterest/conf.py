"""Pinterest's settings, read with all the others (config/settings.py loads every registered
platform's conf.py); documented in README's settings table.

platforms-other.md section 5 marks several facts uncertain (the Trial sandbox, the size limits,
how a video's cover frame is given) or leaves calls out (the board's pins, the user's pins, the
board's sections); each is a setting here."""

from config.env import EnvError, env_int, env_str

HOSTS = ("https://api.pinterest.com/v5", "https://api-sandbox.pinterest.com/v5")


def settings_from_env(*, testing: bool) -> dict[str, object]:
    api = env_str("PINTEREST_API_URL", HOSTS[0]).rstrip("/")
    if api not in HOSTS:
        raise EnvError(f"PINTEREST_API_URL must be one of {', '.join(HOSTS)}, not {api!r}")
    board_pins = env_str("PINTEREST_BOARD_PINS_PATH", "/boards/{board_id}/pins")
    if not board_pins.startswith("/") or "{board_id}" not in board_pins:
        raise EnvError(f"PINTEREST_BOARD_PINS_PATH must be a path with {{board_id}} in it, not {board_pins!r}")
    pins = env_str("PINTEREST_PINS_PATH", "/pins")
    if not pins.startswith("/"):
        raise EnvError(f"PINTEREST_PINS_PATH must be an API path such as /pins, not {pins!r}")
    sections = env_str("PINTEREST_BOARD_SECTIONS_PATH", "/boards/{board_id}/sections")
    if not sections.startswith("/") or "{board_id}" not in sections:
        raise EnvError(f"PINTEREST_BOARD_SECTIONS_PATH must be a path with {{board_id}} in it, not {sections!r}")
    return {
        # Apps with Trial access may create pins only on the sandbox host until Standard access.
        "PINTEREST_API_URL": api,
        "PINTEREST_BOARD_PINS_PATH": board_pins,
        # The token user's own pins, for importing them; the board's sections, for the composer.
        "PINTEREST_PINS_PATH": pins,
        "PINTEREST_BOARD_SECTIONS_PATH": sections,
        # Sections take one call per board: the composer lists those of this many boards at most.
        "PINTEREST_SECTIONS_MAX_BOARDS": env_int("PINTEREST_SECTIONS_MAX_BOARDS", 50, minimum=0),
        "PINTEREST_IMAGE_MAX_BYTES": env_int("PINTEREST_IMAGE_MAX_BYTES", 20 * 1024 * 1024, minimum=1),
        "PINTEREST_VIDEO_MAX_BYTES": env_int("PINTEREST_VIDEO_MAX_BYTES", 2 * 1024 * 1024 * 1024, minimum=1),
        # A video pin needs a cover; without an image beside the video, this frame (seconds in) is it.
        "PINTEREST_VIDEO_COVER_FRAME": env_int("PINTEREST_VIDEO_COVER_FRAME", 0, minimum=0),
        # Pinterest's anti-spam block names no reset: wait this long before trying again.
        "PINTEREST_SPAM_BLOCK_WAIT_SECONDS": env_int("PINTEREST_SPAM_BLOCK_WAIT_SECONDS", 3600, minimum=60),
    }
