"""Reddit's settings, read with all the others (config/settings.py loads every registered
platform's conf.py); documented in README's settings table.

platforms-other.md section 8 marks the media upload (an unofficial lease flow) and the media
post's id (sent only over a websocket) uncertain, and does not give the subreddit's post
requirements call: each is a setting here, so an operator can follow Reddit without a release."""

from config.env import EnvError, env_bool, env_int, env_str

DEFAULT_USER_AGENT = "web:postwright:v0.1.0 (self-hosted Postwright)"
# Reddit throttles generic agents hard; refuse the library defaults outright.
GENERIC_AGENTS = ("python-requests", "python-urllib", "curl/", "mozilla/")


def settings_from_env(*, testing: bool) -> dict[str, object]:
    agent = env_str("REDDIT_USER_AGENT", DEFAULT_USER_AGENT).strip()
    if not agent or agent.lower().startswith(GENERIC_AGENTS):
        raise EnvError(
            "REDDIT_USER_AGENT must describe the app, like 'web:com.example.postwright:v1.0 (by /u/yourname)', "
            f"not {agent!r}"
        )
    requirements = env_str("REDDIT_POST_REQUIREMENTS_PATH", "/api/v1/{subreddit}/post_requirements")
    if not requirements.startswith("/") or "{subreddit}" not in requirements:
        raise EnvError(f"REDDIT_POST_REQUIREMENTS_PATH must be a path with {{subreddit}} in it, not {requirements!r}")
    asset = env_str("REDDIT_MEDIA_ASSET_PATH", "/api/media/asset.json")
    if not asset.startswith("/"):
        raise EnvError(f"REDDIT_MEDIA_ASSET_PATH must be a path such as /api/media/asset.json, not {asset!r}")
    return {
        "REDDIT_USER_AGENT": agent,
        "REDDIT_POST_REQUIREMENTS_PATH": requirements,
        "REDDIT_MEDIA_ASSET_PATH": asset,
        # Image and video posts go through Reddit's media lease, which its API pages do not document.
        "REDDIT_MEDIA_POSTS": env_bool("REDDIT_MEDIA_POSTS", True),
        # A media post's id arrives only on a websocket: the user's submitted listing is read instead,
        # for this long, before the post is left to reconciliation.
        "REDDIT_MEDIA_POST_WAIT_SECONDS": env_int("REDDIT_MEDIA_POST_WAIT_SECONDS", 600, minimum=30),
        "REDDIT_IMAGE_MAX_BYTES": env_int("REDDIT_IMAGE_MAX_BYTES", 20 * 1024 * 1024, minimum=1),
        "REDDIT_VIDEO_MAX_BYTES": env_int("REDDIT_VIDEO_MAX_BYTES", 1024 * 1024 * 1024, minimum=1),
        # The composer lists at most this many subscribed subreddits (100 per call).
        "REDDIT_SUBREDDITS_MAX": env_int("REDDIT_SUBREDDITS_MAX", 1000, minimum=100),
        # Flairs are offered for the subreddits the account posted to last, at most this many.
        "REDDIT_FLAIR_SUBREDDITS": env_int("REDDIT_FLAIR_SUBREDDITS", 5, minimum=0),
        # A RATELIMIT refusal whose message names no wait waits this long.
        "REDDIT_RATELIMIT_WAIT_SECONDS": env_int("REDDIT_RATELIMIT_WAIT_SECONDS", 600, minimum=1),
    }
