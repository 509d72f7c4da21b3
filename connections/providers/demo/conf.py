"""The Demo network's settings, read from the environment with all the others (config/settings.py
loads every registered platform's conf.py); documented in README's settings table."""

from config.env import env_bool, env_int


def settings_from_env(*, testing: bool) -> dict[str, object]:
    # The suite wants it instant and reliable; a person trying it wants it to feel real.
    return {
        "DEMO_NETWORK_ENABLED": env_bool("DEMO_NETWORK_ENABLED", True),
        "DEMO_LATENCY_MS": env_int("DEMO_LATENCY_MS", 0 if testing else 400, minimum=0),
        "DEMO_FAILURE_RATE": env_int("DEMO_FAILURE_PERCENT", 0 if testing else 5, minimum=0) / 100,
        # Posts a new Demo account "already had" before Postwright, so importing shows a past.
        "DEMO_PAST_POSTS": env_int("DEMO_PAST_POSTS", 0 if testing else 36, minimum=0),
        "DEMO_VIDEO_PROCESSING_SECONDS": env_int("DEMO_VIDEO_PROCESSING_SECONDS", 0 if testing else 20, minimum=0),
    }
