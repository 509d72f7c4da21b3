"""Google Business Profile's settings, read with all the others (config/settings.py loads every
registered platform's conf.py); documented in README's settings table.

platforms-google-snap.md section 1 marks several facts uncertain: whether ``readMask`` is
required on locations (we always send it, and its fields are a setting), whether local posts
take video, how long Google reviews a post, whether post-level insights (the deprecated v4
``reportInsights``) still answer, and the language posts are written in. Each is a setting."""

from config.env import EnvError, env_bool, env_int, env_list, env_str

PERFORMANCE_METRICS = (
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
    "BUSINESS_CONVERSATIONS",
    "BUSINESS_DIRECTION_REQUESTS",
    "CALL_CLICKS",
    "WEBSITE_CLICKS",
    "BUSINESS_BOOKINGS",
    "BUSINESS_FOOD_ORDERS",
    "BUSINESS_FOOD_MENU_CLICKS",
)


def settings_from_env(*, testing: bool) -> dict[str, object]:
    metrics = env_list("GOOGLE_BUSINESS_DAILY_METRICS", ["WEBSITE_CLICKS", "CALL_CLICKS", "BUSINESS_DIRECTION_REQUESTS",
                       "BUSINESS_IMPRESSIONS_MOBILE_MAPS", "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
                       "BUSINESS_IMPRESSIONS_DESKTOP_MAPS", "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH"])  # fmt: skip
    unknown = sorted(set(metrics) - set(PERFORMANCE_METRICS))
    if unknown:
        raise EnvError(f"GOOGLE_BUSINESS_DAILY_METRICS has unknown metrics: {', '.join(unknown)}")
    read_mask = env_str("GOOGLE_BUSINESS_LOCATION_READ_MASK", "name,title,storefrontAddress,metadata")
    if not {"name", "title"} <= set(read_mask.split(",")):
        raise EnvError("GOOGLE_BUSINESS_LOCATION_READ_MASK must name at least name and title")
    return {
        # Google grants API access on application (quota 0 until then): switched off, the
        # platform is not offered at all.
        "GOOGLE_BUSINESS_ENABLED": env_bool("GOOGLE_BUSINESS_ENABLED", True),
        "GOOGLE_BUSINESS_LOCATION_READ_MASK": read_mask,
        "GOOGLE_BUSINESS_LANGUAGE_CODE": env_str("GOOGLE_BUSINESS_LANGUAGE_CODE", "en-US"),
        "GOOGLE_BUSINESS_ALLOW_VIDEO": env_bool("GOOGLE_BUSINESS_ALLOW_VIDEO", False),
        # A post Google is still reviewing after this long is taken as landed: it exists, and
        # sending it again would make a second one.
        "GOOGLE_BUSINESS_REVIEW_WAIT_SECONDS": env_int("GOOGLE_BUSINESS_REVIEW_WAIT_SECONDS", 6 * 3600, minimum=60),
        # A 429 without Retry-After or RetryInfo: the per-minute windows reopen within a minute.
        "GOOGLE_BUSINESS_RATE_WAIT_SECONDS": env_int("GOOGLE_BUSINESS_RATE_WAIT_SECONDS", 60, minimum=1),
        "GOOGLE_BUSINESS_POST_INSIGHTS": env_bool("GOOGLE_BUSINESS_POST_INSIGHTS", True),
        "GOOGLE_BUSINESS_METRICS_DAYS": env_int("GOOGLE_BUSINESS_METRICS_DAYS", 90, minimum=1),
        "GOOGLE_BUSINESS_DAILY_METRICS": tuple(metrics),
        # How many days back the account sync looks for the latest day Google has counted (its
        # numbers arrive some days late; how many is not in the reference).
        "GOOGLE_BUSINESS_ACCOUNT_METRICS_DAYS": env_int("GOOGLE_BUSINESS_ACCOUNT_METRICS_DAYS", 10, minimum=1),
    }
