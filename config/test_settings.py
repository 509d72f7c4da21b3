"""Settings for the test suite: the production settings, with the test switches on."""

import os

os.environ.setdefault("POSTWRIGHT_TESTING", "true")
os.environ.setdefault("DEBUG", "false")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
