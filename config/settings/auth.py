"""Auth API settings (auth_app). Its variables are the "Auth API" section of `.env.example`."""

from datetime import timedelta

from config.env import env, env_int, env_rate, env_seconds
from config.settings.base import CELERY_BEAT_SCHEDULE, SECRET_KEY

AUTH_USER_MODEL = "auth_app.User"
PASSWORD_HASHERS = [
    "auth_app.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The browser sign-in page (Django session) for any user; pages of our own redirect there with ?next=.
LOGIN_URL = "/accounts/login"
LOGIN_REDIRECT_URL = "/accounts/login"  # without a (safe) `next`, the page shows who is signed in
LOGOUT_REDIRECT_URL = "/accounts/login"
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY
JWT_ISSUER = env.str("JWT_ISSUER", default="api-platform")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="api-platform")
JWT_ACCESS_TTL = timedelta(seconds=env_int("JWT_ACCESS_TTL_SECONDS", 15 * 60))
JWT_REFRESH_TTL = timedelta(seconds=env_int("JWT_REFRESH_TTL_SECONDS", 7 * 24 * 3600))
JWT_REFRESH_REUSE_GRACE = timedelta(seconds=env_int("JWT_REFRESH_REUSE_GRACE_SECONDS", 10, minimum=0))
JWT_ALGORITHM = "HS256"  # pinned: the only algorithm accepted when decoding (no `none`, no RS/HS confusion)
# Passwords longer than this are refused with 400 (no silent truncation below it).
AUTH_PASSWORD_MAX_LENGTH = env_int("AUTH_PASSWORD_MAX_LENGTH", 4096)
# Abuse controls (django-ratelimit counters on the default cache). Rates are "<count>/<period>", e.g. 5/5m.
AUTH_RATE_LIMIT_ENABLED = env.bool("AUTH_RATE_LIMIT_ENABLED", default=env.bool("RATE_LIMIT_ENABLED", default=True))
AUTH_LOGIN_FAILURES_PER_ACCOUNT = env_rate("AUTH_LOGIN_FAILURES_PER_ACCOUNT", "5/5m")
AUTH_LOGIN_FAILURES_PER_ACCOUNT_IP = env_rate("AUTH_LOGIN_FAILURES_PER_ACCOUNT_IP", "5/5m")
AUTH_LOGIN_FAILURES_PER_DEVICE = env_rate("AUTH_LOGIN_FAILURES_PER_DEVICE", "5/5m")
# Device tokens ("this client logged in as this account before"; exempt from the account lockout).
AUTH_DEVICE_TOKEN_TTL = timedelta(seconds=env_int("AUTH_DEVICE_TOKEN_TTL_SECONDS", 180 * 24 * 3600))
AUTH_LOGIN_RATE_PER_IP = env_rate("AUTH_LOGIN_RATE_PER_IP", "10/m")
AUTH_REGISTER_RATE_PER_IP = env_rate("AUTH_REGISTER_RATE_PER_IP", "10/h")
AUTH_PASSWORD_RESET_RATE_PER_IP = env_rate("AUTH_PASSWORD_RESET_RATE_PER_IP", "5/15m")
AUTH_PASSWORD_RESET_RATE_PER_EMAIL = env_rate("AUTH_PASSWORD_RESET_RATE_PER_EMAIL", "3/h")
AUTH_REFRESH_RATE_PER_IP = env_rate("AUTH_REFRESH_RATE_PER_IP", "60/m")
# Seconds an authenticated request may reuse the user row from the cache (0: read it every time).
AUTH_USER_CACHE_SECONDS = env_int("AUTH_USER_CACHE_SECONDS", 30, minimum=0)
AUTH_API_KEYS_MAX_PER_USER = env_int("AUTH_API_KEYS_MAX_PER_USER", 25)
AUTH_SESSION_PURGE_BATCH_SIZE = env_int("AUTH_SESSION_PURGE_BATCH_SIZE", 1000)
# The link mailed for a password reset; {uid} and {token} are filled in. Empty: PUBLIC_BASE_URL + /password-reset.
AUTH_PASSWORD_RESET_URL = env.str("AUTH_PASSWORD_RESET_URL", default="")
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600)
# WebSocket: seconds an unauthenticated socket may wait for its {"type": "auth"} message.
WS_AUTH_TIMEOUT_SECONDS = env_seconds("WS_AUTH_TIMEOUT_SECONDS", 5.0)
# WebSocket: seconds between re-checks of an open socket's credential (revoked session, logged-out cookie).
WS_AUTH_RECHECK_SECONDS = env_seconds("WS_AUTH_RECHECK_SECONDS", 30.0)
# `manage.py seed` creates the demo users (public passwords) outside embedded mode only when true.
SEED_DEMO_USERS = env.bool("SEED_DEMO_USERS", default=False)
CELERY_BEAT_SCHEDULE["auth-sessions-purge-expired"] = {
    "task": "auth_app.tasks.auth_sessions_purge_expired",
    "schedule": timedelta(hours=1),
}
