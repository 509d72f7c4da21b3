"""Postwright settings. Everything deployment-specific comes from the environment (see README)."""

import os
import secrets
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from config.env import EnvError, env_bool, env_client_credentials, env_file_load, env_int, env_list, env_str, env_url
from connections.registry import PROVIDERS, env_prefix, platform_packages_with, platform_settings

# Lets classes that django-stubs types as generic (ModelAdmin[Post], a field's stored type) be
# written that way at run time too; it changes nothing else.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime state of the embedded default (SQLite file, generated keys, uploads); git-ignored.
LOCAL_DIR = Path(env_str("POSTWRIGHT_LOCAL_DIR", str(BASE_DIR / ".local")))
if not env_bool("POSTWRIGHT_TESTING", False):
    env_file_load(LOCAL_DIR / "env")  # written by `make run`; the real environment wins

DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("POSTWRIGHT_TESTING", False)


def _local_secret_key() -> str:
    """A per-checkout key for development, so a first run needs no configuration."""
    key_file = LOCAL_DIR / "secret_key"
    if not key_file.exists():
        LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY is None:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see README, Settings).")
    SECRET_KEY = _local_secret_key()

SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000")
SITE_NAME = env_str("SITE_NAME", "Postwright")  # how emails and pages name this instance
_site = urlsplit(SITE_URL)
# The privacy policy and data-deletion instructions pages (/privacy/, /data-deletion/), whose
# addresses platforms' app consoles ask for: the operator's own text (plain text, blank lines
# between paragraphs; the _FILE variants read it from a file) or a URL to send visitors to.
# The public /privacy/, /terms/ and /data-deletion/ pages: the operator's own URLs, if set (the
# text itself is edited as a LegalPage in Django admin).
PRIVACY_POLICY_URL = env_url("PRIVACY_POLICY_URL", None)
TERMS_URL = env_url("TERMS_URL", None)
DATA_DELETION_INSTRUCTIONS_URL = env_url("DATA_DELETION_INSTRUCTIONS_URL", None)
SITE_IS_HTTPS = _site.scheme == "https"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [_site.hostname or "127.0.0.1", "localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"{_site.scheme}://{_site.netloc}"])
for _origin in CSRF_TRUSTED_ORIGINS:
    if "://" not in _origin:
        raise EnvError(f"CSRF_TRUSTED_ORIGINS entries need a scheme (https://...), not {_origin!r}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "accounts",
    "connections",
    "publishing",
    "analytics",
    "events",
    "webhooks",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accounts.audit.AuditContextMiddleware",  # the IP address and user agent audit records keep
    "api.middleware.RequestIdMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.CurrentWorkspaceMiddleware",
    "connections.middleware.VaultErrorMiddleware",
    "api.middleware.ApiProblemMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.shell",
            ],
            # clock, moment, from_now: every page shows times the same way.
            "builtins": ["accounts.templatetags.when", "accounts.templatetags.icons"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{LOCAL_DIR / 'db.sqlite3'}")
try:
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
except ValueError as exc:
    raise EnvError(f"DATABASE_URL is not a database URL we understand: {exc}") from None
if _database["ENGINE"] == "django.db.backends.sqlite3":
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    # The web server, worker and dispatcher share one file: WAL lets readers run beside the
    # writer, IMMEDIATE transactions take the write lock up front instead of failing mid-way.
    _database["CONN_MAX_AGE"] = 0
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    _database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth (django-allauth) ------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
# Self-hosters often close signups once their team is in; invitees can still join.
SIGNUPS_OPEN = env_bool("SIGNUPS_OPEN", True)
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = _site.scheme
ACCOUNT_RATE_LIMITS: dict[str, str] | Literal[False] = False if TESTING else {}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Postwright"
MFA_ADAPTER = "accounts.mfa.MFAAdapter"  # TOTP secrets and recovery seeds encrypted with the vault

GOOGLE_CLIENT_ID = env_str("GOOGLE_CLIENT_ID")
GOOGLE_CLIENT_SECRET = env_str("GOOGLE_CLIENT_SECRET")
if bool(GOOGLE_CLIENT_ID) != bool(GOOGLE_CLIENT_SECRET):
    raise EnvError("GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must be set together")
GOOGLE_LOGIN_ENABLED = bool(GOOGLE_CLIENT_ID)
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, Any]] = {}
if GOOGLE_LOGIN_ENABLED:
    # Installed only when configured, so the login page never shows a button that cannot work.
    INSTALLED_APPS.append("allauth.socialaccount.providers.google")
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET, "key": ""}],
        "SCOPE": ["profile", "email"],
        "AUTH_PARAMS": {"access_type": "online"},
    }
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True

# --- Email ----------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Postwright <postwright@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    if EMAIL_USE_TLS and EMAIL_USE_SSL:
        raise EnvError("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
    EMAIL_TIMEOUT = 15
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(LOCAL_DIR / "media")))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# S3-compatible media storage (AWS, MinIO, R2...) when a bucket is named; needs `pip install .[s3]`.
S3_BUCKET = env_str("S3_BUCKET")
if S3_BUCKET:
    try:
        import storages  # noqa: F401
    except ImportError:
        raise ImproperlyConfigured("S3_BUCKET is set but django-storages is missing: pip install '.[s3]'") from None
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_url("S3_ENDPOINT_URL", None),
            "region_name": env_str("S3_REGION"),
            "access_key": env_str("S3_ACCESS_KEY_ID"),
            "secret_key": env_str("S3_SECRET_ACCESS_KEY"),
            "default_acl": None,
            "querystring_auth": True,  # private objects; the app hands out signed URLs itself
            "file_overwrite": False,
        },
    }

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = SITE_IS_HTTPS
CSRF_COOKIE_SECURE = SITE_IS_HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SITE_IS_HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if SITE_IS_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SITE_IS_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    # Only behind a proxy that sets this header itself; otherwise clients could spoof HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Preloading HSTS is a commitment the operator makes for the whole domain, so it is opt-in.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# --- Background work (django-q2) ------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss", "unix"))
Q_CLUSTER = {
    "name": "postwright",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # Tasks a cluster takes off the broker ahead of its workers (django-q2's default is workers
    # squared). A crash loses those with it until their leases lapse; a task is a whole batch, so
    # one waiting per worker keeps them busy without putting more at risk.
    "queue_limit": env_int("Q_WORKERS", 2, minimum=1),
    "timeout": 120,
    "retry": 180,  # must exceed timeout, or a slow task is handed to a second worker
    "max_attempts": 1,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 1000,
    "label": "Background tasks",
    "sync": env_bool("Q_SYNC", TESTING),
    # Long media work (big uploads, waiting on processing) runs in a cluster of its own, started
    # with Q_CLUSTER_NAME=media, so a 1 GB upload never delays a text post that is due.
    "ALT_CLUSTERS": {
        "media": {
            "workers": env_int("Q_MEDIA_WORKERS", 1, minimum=1),
            "timeout": env_int("Q_MEDIA_TIMEOUT_SECONDS", 3600, minimum=60),
            "retry": env_int("Q_MEDIA_TIMEOUT_SECONDS", 3600, minimum=60) + 60,
        }
    },
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5

# --- Cache ------------------------------------------------------------------------------------
# Platform budgets read from answers (Meta's usage holds, X's and Reddit's windows, TikTok's
# creator_info) live in Django's cache, and every worker process must see the same ones: a hold
# one worker learns must stop the others. Redis when configured; otherwise files under LOCAL_DIR,
# which every process on this machine shares (a local-memory cache would be one per process). The
# suite keeps local memory, so no run inherits another run's entries.
CACHE_URL = env_url("CACHE_URL", REDIS_URL, schemes=("redis", "rediss", "unix"))
if TESTING:
    _cache: dict[str, Any] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
elif CACHE_URL:
    _cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
else:
    _cache = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(LOCAL_DIR / "cache")}
CACHES = {"default": {**_cache, "KEY_PREFIX": "postwright"}}

# A worker not seen for this long makes the dashboard warn that scheduled work is not running.
WORKER_STALE_AFTER_SECONDS = env_int("WORKER_STALE_AFTER_SECONDS", 180, minimum=30)
# A web server started beside its worker and dispatcher gives them this long to report first.
WORKER_START_GRACE_SECONDS = env_int("WORKER_START_GRACE_SECONDS", 0 if TESTING else 90, minimum=0)

# --- Publishing -----------------------------------------------------------------------------
PUBLISH_QUEUE_LEASE_SECONDS = env_int("PUBLISH_QUEUE_LEASE_SECONDS", 300, minimum=10)  # claimed, not started
PUBLISH_DEADLINE_SECONDS = env_int("PUBLISH_DEADLINE_SECONDS", 600, minimum=30)  # started, no answer
PUBLISH_MAX_ATTEMPTS = env_int("PUBLISH_MAX_ATTEMPTS", 6, minimum=1)
# Targets per worker task, published concurrently (one thread each): requests in flight are
# Q_WORKERS x this. Each thread holds a database connection.
PUBLISH_BATCH_SIZE = env_int("PUBLISH_BATCH_SIZE", 8, minimum=1)
# A worker task keeps its PUBLISH_BATCH_SIZE slots busy for up to this long, taking the next due
# target as each one finishes; well under Q_CLUSTER's timeout, which ends a task that runs over.
PUBLISH_WINDOW_SECONDS = env_int("PUBLISH_WINDOW_SECONDS", 10, minimum=0)
# Text workers of every host together: the dispatcher queues a few batches ahead for each.
PUBLISH_WORKERS_TOTAL = env_int("PUBLISH_WORKERS_TOTAL", cast(int, Q_CLUSTER["workers"]), minimum=1)
if PUBLISH_WINDOW_SECONDS > 60:  # half of Q_CLUSTER's 120 s: what was started must still be sent in time
    raise EnvError(f"PUBLISH_WINDOW_SECONDS must be at most 60, not {PUBLISH_WINDOW_SECONDS}")
# Parts that land at the same moment are recorded in one statement (publishing/landings.py).
PUBLISH_GROUP_LANDINGS = env_bool("PUBLISH_GROUP_LANDINGS", True)
# The dispatcher's shortest pause between passes (milliseconds): what falls due meanwhile is
# claimed together, so a post is at most this late for the dispatcher's sake.
PUBLISH_DISPATCH_MIN_SLEEP_SECONDS = env_int("PUBLISH_DISPATCH_MIN_SLEEP_MS", 200, minimum=0) / 1000
MEDIA_MAX_UPLOAD_BYTES = env_int("MEDIA_MAX_UPLOAD_BYTES", 1_000_000_000, minimum=1)  # video
MEDIA_MAX_IMAGE_BYTES = env_int("MEDIA_MAX_IMAGE_BYTES", 50_000_000, minimum=1)
# Browser uploads arrive in chunks of this size; the part files wait here until finished.
MEDIA_UPLOAD_CHUNK_BYTES = env_int("MEDIA_UPLOAD_CHUNK_BYTES", 8 * 1024 * 1024, minimum=64 * 1024)
# With S3 each chunk becomes one part of a multipart upload, and S3 refuses parts (but the last)
# under 5 MiB, so a smaller chunk would fail at the very end of a long upload: refuse it now.
if S3_BUCKET and MEDIA_UPLOAD_CHUNK_BYTES < 5 * 1024 * 1024:
    raise EnvError("MEDIA_UPLOAD_CHUNK_BYTES must be at least 5242880 (5 MiB) when S3_BUCKET is set")
MEDIA_UPLOAD_TEMP_DIR = Path(env_str("MEDIA_UPLOAD_TEMP_DIR", str(LOCAL_DIR / "uploads")))
MEDIA_UPLOAD_EXPIRE_HOURS = env_int("MEDIA_UPLOAD_EXPIRE_HOURS", 24, minimum=1)
MEDIA_IMPORT_RETENTION_DAYS = env_int("MEDIA_IMPORT_RETENTION_DAYS", 7, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5_000_000
PUBLISH_RECONCILE_INTERVAL_SECONDS = env_int("PUBLISH_RECONCILE_INTERVAL_SECONDS", 120, minimum=5)
# A look-up the platform keeps failing (an outage) is retried this long, then the author is asked.
PUBLISH_RECONCILE_GIVE_UP_SECONDS = env_int("PUBLISH_RECONCILE_GIVE_UP_SECONDS", 6 * 3600, minimum=60)
# Where targets with video or large files run (a django-q2 cluster name; empty: the main cluster).
PUBLISH_MEDIA_CLUSTER = env_str("PUBLISH_MEDIA_CLUSTER", "media") or None
PUBLISH_MEDIA_LANE_BYTES = env_int("PUBLISH_MEDIA_LANE_BYTES", 20_000_000, minimum=0)
# The longest a target waiting at the platform goes between checks, whatever the provider asks.
PUBLISH_MAX_PROCESSING_CHECK_SECONDS = env_int("PUBLISH_MAX_PROCESSING_CHECK_SECONDS", 300, minimum=1)
# How long a part may wait for the platform to finish processing (a video, a container) before
# it fails with that reason: a day covers a long video at YouTube or TikTok.
PUBLISH_MAX_PROCESSING_SECONDS = env_int("PUBLISH_MAX_PROCESSING_SECONDS", 24 * 3600, minimum=60)

# --- Analytics -----------------------------------------------------------------------------
# When each published post's numbers are fetched, counted from its publishing ("30m", "6h",
# "3d"), then every ANALYTICS_REPEAT for as long as it exists; each account's totals every
# ANALYTICS_ACCOUNT_EVERY.
ANALYTICS_SCHEDULE = env_str("ANALYTICS_SCHEDULE", "1h,6h,24h,3d,7d,30d")
ANALYTICS_REPEAT = env_str("ANALYTICS_REPEAT", "30d")
ANALYTICS_ACCOUNT_EVERY = env_str("ANALYTICS_ACCOUNT_EVERY", "24h")
# The share of every rate budget analytics leaves to publishing (percent): analytics calls only
# while publishing is not using the budget, and then at most the rest of its pace.
ANALYTICS_BUDGET_RESERVE = env_int("ANALYTICS_BUDGET_RESERVE_PERCENT", 20, minimum=0) / 100
if ANALYTICS_BUDGET_RESERVE >= 1:
    raise ImproperlyConfigured("ANALYTICS_BUDGET_RESERVE_PERCENT must be below 100.")
# A platform with no numbers yet for a post is asked again after growing waits, this many times,
# before the schedule moves on to its next step.
ANALYTICS_NOT_YET_TRIES = env_int("ANALYTICS_NOT_YET_TRIES", 5, minimum=1)
ANALYTICS_CLAIM_LEASE_SECONDS = env_int("ANALYTICS_CLAIM_LEASE_SECONDS", 300, minimum=10)
# Every snapshot is kept this long; older ones are thinned to one a day, and after
# ANALYTICS_KEEP_DAILY_DAYS to one a week (the latest is never removed).
ANALYTICS_KEEP_ALL_DAYS = env_int("ANALYTICS_KEEP_ALL_DAYS", 90, minimum=1)
ANALYTICS_KEEP_DAILY_DAYS = env_int("ANALYTICS_KEEP_DAILY_DAYS", 365, minimum=2)
# --- Analytics: importing an account's existing posts (analytics/imports.py) ---------------
ANALYTICS_IMPORT_MAX_POSTS = env_int("ANALYTICS_IMPORT_MAX_POSTS", 1000, minimum=1)  # per run, newest first
ANALYTICS_IMPORT_MAX_DAYS = env_int("ANALYTICS_IMPORT_MAX_DAYS", 365, minimum=1)  # nothing older is imported
# Pages one task imports before handing the run back to the queue (so one large import never
# holds a worker for long), and how long a worker holds a run before it counts as crashed.
ANALYTICS_IMPORT_PAGES_PER_TASK = env_int("ANALYTICS_IMPORT_PAGES_PER_TASK", 10, minimum=1)
ANALYTICS_IMPORT_LEASE_SECONDS = env_int("ANALYTICS_IMPORT_LEASE_SECONDS", 300, minimum=10)

# --- Developer API -------------------------------------------------------------------------
# How long an Idempotency-Key's response is kept for replay (at least the 24 h clients expect).
API_IDEMPOTENCY_RETENTION_HOURS = env_int("API_IDEMPOTENCY_RETENTION_HOURS", 24, minimum=24)
# Where requests per API key are counted across web processes; empty: the database.
API_RATE_LIMIT_REDIS_URL = env_url("API_RATE_LIMIT_REDIS_URL", REDIS_URL, schemes=("redis", "rediss", "unix"))

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

INVITATION_VALID_DAYS = 7
# Retention (accounts/retention.py; `manage.py retention` runs it, and a daily job does too).
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 90, minimum=1)  # security and access logs
NOTIFICATION_RETENTION_DAYS = env_int("NOTIFICATION_RETENTION_DAYS", 90, minimum=1)
EXPORT_RETENTION_DAYS = env_int("EXPORT_RETENTION_DAYS", 7, minimum=1)  # a finished export, and its link
WORKSPACE_DELETION_GRACE_DAYS = env_int("WORKSPACE_DELETION_GRACE_DAYS", 7, minimum=0)  # "undo" until then

# --- Connections ----------------------------------------------------------------------------
# Fetching user-named servers (a Mastodon instance, a self-hosted PDS) on private addresses is
# refused in production; development and the tests' local peers need it.
ALLOW_PRIVATE_NETWORK_URLS = env_bool("ALLOW_PRIVATE_NETWORK_URLS", DEBUG or TESTING)
if ALLOW_PRIVATE_NETWORK_URLS:
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # lets OAuth run against http://127.0.0.1 peers
CONNECT_SESSION_MINUTES = 30  # an abandoned connect attempt expires after this
# Instance-wide OAuth clients, used when a workspace brings no keys of its own: read as
# <PLATFORM>_CLIENT_ID / <PLATFORM>_CLIENT_SECRET for every registered platform.
PLATFORM_CREDENTIALS = {platform: env_client_credentials(env_prefix(platform)) for platform in PROVIDERS}

# --- Platforms' own apps and settings ---------------------------------------------------------
# A registered platform's package that has an apps.py (models, admin, migrations) is installed,
# and one with a conf.py adds the settings it reads from the environment: settings never name a
# platform, so adding one stays one folder and one registry line.
INSTALLED_APPS += platform_packages_with("apps")
globals().update(platform_settings(packages=platform_packages_with("conf"), testing=TESTING, taken=set(globals())))

# --- Webhooks -------------------------------------------------------------------------------
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)  # per attempt; the spec says <= 15
# Disable an endpoint once this many events in a row exhausted their retries, or once it has
# failed without a single success for this many days; its owners and admins are emailed.
WEBHOOK_DISABLE_AFTER_EVENTS = env_int("WEBHOOK_DISABLE_AFTER_EVENTS", 5, minimum=1)
WEBHOOK_DISABLE_AFTER_DAYS = env_int("WEBHOOK_DISABLE_AFTER_DAYS", 5, minimum=1)
WEBHOOK_DELIVERY_RETENTION_DAYS = env_int("WEBHOOK_DELIVERY_RETENTION_DAYS", 30, minimum=2)  # > the 1.5-day retries
