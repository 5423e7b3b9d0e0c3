"""Platform settings: core, database, Redis, Celery, REST framework, OpenAPI, HTTP security, logging.

Every variable read here is listed with its default in `.env.example`. Without `DATABASE_URL` and
`REDIS_URL` the project runs embedded (SQLite, in-memory channel layer, local-memory cache, Celery
tasks executed in-process); with them it runs on PostgreSQL and Redis with separate Celery workers.
"""

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from config.env import env, env_int, env_rate, env_seconds, env_url, private_file_create

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = BASE_DIR / "var"

# A developer's `.env` is read when present; real environment variables win over it.
# DJANGO_READ_DOT_ENV=false ignores it (tests that check the defaults; deployments with no file).
if env.bool("DJANGO_READ_DOT_ENV", default=True):
    env.read_env(BASE_DIR / ".env", overwrite=False)


# --- Core -----------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. `make run` writes one to .env; "
            "in production set it in the environment."
        )
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105 - only reachable with DEBUG=true

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "auth_app.apps.PlatformAdminConfig",  # django.contrib.admin; its login shares the API login limits
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "channels",
    "django_celery_results",
    "common",
    "auth_app",
    "orders",
    "file_processor",
    "notifications",
    "webhook_tester",
]

# Django's own middleware come from common.django_middleware: the same classes, run on the event
# loop under ASGI instead of a thread hop per hook. Static files never pass through this chain.
MIDDLEWARE = [
    "common.middleware.RequestIdMiddleware",
    "common.middleware.ProblemDetailsMiddleware",
    "common.django_middleware.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "common.ratelimit.RateLimitMiddleware",
    "common.django_middleware.SessionMiddleware",
    "common.django_middleware.CommonMiddleware",
    "common.django_middleware.CsrfViewMiddleware",
    "common.django_middleware.AuthenticationMiddleware",
    "common.django_middleware.MessageMiddleware",
    "common.django_middleware.XFrameOptionsMiddleware",
    "common.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}", ("sqlite", "postgres", "postgresql"))
EMBEDDED_DATABASE = DATABASE_URL.startswith("sqlite")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if EMBEDDED_DATABASE:
    VAR_DIR.mkdir(mode=0o700, exist_ok=True)
    private_file_create(DATABASES["default"]["NAME"])  # 0600 before SQLite creates it with the umask's mode
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the one writer; the busy timeout waits instead of failing.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    # An unreachable database must cost a request about HEALTH_CHECK_TIMEOUT and a 503, not a long
    # wait and a 500: a request waits DB_POOL_TIMEOUT for a connection, a new connection
    # DB_CONNECT_TIMEOUT to be made (common/errors maps the failure to 503 service_unavailable).
    DATABASES["default"]["OPTIONS"] = {"connect_timeout": env_int("DB_CONNECT_TIMEOUT", 2)}
    # Each request borrows a connection from psycopg 3's pool (CONN_MAX_AGE 0), which the ASGI thread
    # pool shares; a thread-per-request WSGI server (the `rest` role, deploy/serve.sh) instead keeps one
    # connection per thread for DB_CONN_MAX_AGE seconds, without the pool's checkout and return on
    # every request (issue 8). config/asgi.py refuses persistent connections.
    DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 0, minimum=0)
    DATABASES["default"]["CONN_MAX_AGE"] = DB_CONN_MAX_AGE
    if not DB_CONN_MAX_AGE:
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": env_int("DB_POOL_MIN_SIZE", 2, minimum=0),
            "max_size": env_int("DB_POOL_MAX_SIZE", 20),
            "timeout": env_seconds("DB_POOL_TIMEOUT", 2.0),
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery ---------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", "", ("redis", "rediss", "unix"))
EMBEDDED_REDIS = not REDIS_URL

CACHES: dict[str, dict[str, Any]]
CHANNEL_LAYERS: dict[str, dict[str, Any]]
if EMBEDDED_REDIS:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "platform"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "common.cache.PlatformRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cache",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    # Redis pub/sub (default): a group_send is one PUBLISH and each process receives pushed messages,
    # a few times cheaper per message than the list-based layer's pops (docs/decisions.md). Both
    # are best effort; notifications recover anything dropped from the database.
    CHANNEL_LAYER_BACKEND = env.str("CHANNEL_LAYER_BACKEND", default="pubsub")
    if CHANNEL_LAYER_BACKEND not in ("pubsub", "lists"):
        raise ImproperlyConfigured("CHANNEL_LAYER_BACKEND must be `pubsub` or `lists`.")
    # redis-py's default 5 s read timeout equals the list layer's blocking-pop wait, so an idle
    # receive would time out and kill the consumer waiting on it; give the socket headroom.
    _layer_host = {"address": REDIS_URL, "socket_connect_timeout": 2, "socket_timeout": 10}
    if CHANNEL_LAYER_BACKEND == "pubsub":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [_layer_host], "prefix": "asgi"},
            }
        }
    else:
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [_layer_host],
                    "prefix": "asgi",
                    "capacity": env_int("CHANNEL_LAYER_CAPACITY", 2000),
                    "expiry": 60,
                },
            }
        }

# Celery: without a broker the tasks run in the calling process (eager), so jobs still complete.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=EMBEDDED_REDIS)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
# Retries must finish inside the broker's visibility timeout or Redis redelivers the message.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
# Row-first jobs (common/jobs.py): a `processing` row whose worker has been silent this long is taken
# over (default: the task time limit plus a minute); `queued` rows this far past due are re-queued by
# the sweeper, which runs every JOBS_SWEEP_INTERVAL_SECONDS and sends at most JOBS_SWEEP_BATCH_SIZE per model.
JOBS_LEASE_SECONDS = env_int("JOBS_LEASE_SECONDS", CELERY_TASK_TIME_LIMIT + 60)
JOBS_SWEEP_AFTER_SECONDS = env_int("JOBS_SWEEP_AFTER_SECONDS", 120)
JOBS_SWEEP_INTERVAL_SECONDS = env_int("JOBS_SWEEP_INTERVAL_SECONDS", 60)
JOBS_SWEEP_BATCH_SIZE = env_int("JOBS_SWEEP_BATCH_SIZE", 500)
CELERY_BEAT_SCHEDULE["common-jobs-sweep"] = {
    "task": "common.tasks.jobs_sweep_task",
    "schedule": float(JOBS_SWEEP_INTERVAL_SECONDS),
}


EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if EMBEDDED_DATABASE
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@localhost")
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")


# --- REST framework and OpenAPI -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "auth_app.authentication.JWTAuthentication",
        "auth_app.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "common.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON only (a form encoding is 415); a view that takes a file upload names MultiPartParser itself.
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.KeysetPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "common.errors.drf_exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "common.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "common.openapi.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "API Platform",
    "DESCRIPTION": "Auth, Orders, File Processor, Notifications and Webhook Tester APIs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI must not send the schema to the public validator (no outside requests from the docs).
    "SWAGGER_UI_SETTINGS": {
        "deepLinking": True,
        "displayOperationId": True,
        "filter": True,
        "validatorUrl": None,
    },
    # The schema and docs are public: no credentials are read to serve them.
    "SERVE_AUTHENTICATION": [],
    # With the prefix `/api/v1` the first path segment (the API) becomes the tag and starts the operationId.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SORT_OPERATIONS": False,
    "ENUM_NAME_OVERRIDES": {"NotificationKindEnum": "notifications.models.NotificationKind"},
    # One tag per API; each per-API schema (/api/v1/<name>/openapi.json) keeps only its own.
    "TAGS": [
        {"name": "auth", "description": "Registration, login, JWT access/refresh tokens, sessions and API keys."},
        {"name": "orders", "description": "Orders with idempotent creation, and Stripe webhooks."},
        {"name": "files", "description": "File uploads, downloads and asynchronous conversion jobs."},
        {"name": "notifications", "description": "User notifications over REST, Server-Sent Events and WebSocket."},
        {"name": "bins", "description": "Webhook bins: capture, inspect, replay and export requests."},
    ],
}

# --- Platform limits (common/) --------------------------------------------------------------------


API_PAGE_SIZE_MAX = env_int("API_PAGE_SIZE_MAX", 100)
API_PAGE_SIZE_DEFAULT = env_int("API_PAGE_SIZE_DEFAULT", 20)
if API_PAGE_SIZE_DEFAULT > API_PAGE_SIZE_MAX:
    raise ImproperlyConfigured(f"API_PAGE_SIZE_DEFAULT ({API_PAGE_SIZE_DEFAULT}) exceeds API_PAGE_SIZE_MAX")
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# Routes that take larger (or smaller) bodies than API_MAX_BODY_BYTES: path prefix -> bytes. The
# longest matching prefix wins. App settings modules add their own entries (uploads, webhook bins).
REQUEST_BODY_LIMITS: dict[str, int] = {}
# Routes whose request body reaches the view while it arrives (ASGI, common/asgi/streaming.py) instead of
# being read whole into a temporary file first: path prefix -> True (False excludes a longer prefix). The
# longest matching prefix wins. For sync views that read a large body once (uploads); apps add entries.
REQUEST_BODY_STREAMED: dict[str, bool] = {}
# Streamed-body requests one ASGI process runs at once, each on a thread of its own (the next waits, unread);
# each may hold a database connection, so keep ASGI_SYNC_THREADS + this <= DB_POOL_MAX_SIZE.
ASGI_STREAMED_BODY_THREADS = env_int("ASGI_STREAMED_BODY_THREADS", 4)
# Seconds a streamed-body request waits (unread) for one of those threads; past it 503 service_unavailable
# with Retry-After, so a burst of uploads is told to come back rather than left hanging.
ASGI_STREAMED_BODY_SLOT_WAIT_SECONDS = env_seconds("ASGI_STREAMED_BODY_SLOT_WAIT_SECONDS", 30.0)
# Body bytes a streamed request holds in memory between the socket and its view; past it the server stops
# reading the socket until the view catches up (back-pressure on the client).
ASGI_STREAMED_BODY_BUFFER_BYTES = env_int("ASGI_STREAMED_BODY_BUFFER_BYTES", 1024 * 1024, minimum=65536)
# Seconds a streamed body may send nothing before the request is answered 408 request_timeout (the thread
# waiting for it is freed).
REQUEST_BODY_IDLE_TIMEOUT_SECONDS = env_seconds("REQUEST_BODY_IDLE_TIMEOUT_SECONDS", 60.0)
RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", default=True)
# Long-lived threads that run the sync half of HTTP requests under ASGI (common/asgi.py); 0: Django's
# default, a new thread per request. Also the most database connections one process holds at once.
ASGI_SYNC_THREADS = env_int("ASGI_SYNC_THREADS", 8, minimum=0)
# Freeze the start-up heap and raise the collector's thresholds when config/asgi.py is loaded (see there).
ASGI_GC_TUNING = env.bool("ASGI_GC_TUNING", default=True)
RATE_LIMIT_ANON = env_rate("RATE_LIMIT_ANON", "100/15m")
RATE_LIMIT_USER = env_rate("RATE_LIMIT_USER", "1000/15m")
# `(request) -> str | None`: the authenticated principal (cheap, no database), or None for anonymous.
RATE_LIMIT_PRINCIPAL_RESOLVER = env.str(
    "RATE_LIMIT_PRINCIPAL_RESOLVER", default="auth_app.authentication.request_principal"
)
# How many reverse proxies append to X-Forwarded-For in front of the app; 0 trusts only REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = "common.net.client_ip"
RATELIMIT_VIEW = "common.errors.ratelimited_view"
# Embedded mode is a single process, so the local-memory cache is a correct (if unshared) counter.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"] if EMBEDDED_REDIS else []
# Publishing to the channel layer (common.channels): at most this many group sends in flight per
# publish (the layer's Redis pool holds 100 connections), each given this long before it counts as lost.
CHANNEL_PUSH_CONCURRENCY = env_int("CHANNEL_PUSH_CONCURRENCY", 32)
CHANNEL_PUSH_TIMEOUT_SECONDS = env_seconds("CHANNEL_PUSH_TIMEOUT_SECONDS", 2.0)
HEALTH_CHECK_TIMEOUT = env_seconds("HEALTH_CHECK_TIMEOUT", 2.0)

# --- HTTP security --------------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = env.bool("CORS_ALLOW_CREDENTIALS", default=False)
CORS_URLS_REGEX = r"^/(api|health|openapi\.json)"
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "last-event-id",
    "x-api-key",
    "x-device-token",
    "x-request-id",
)
CORS_EXPOSE_HEADERS = [
    "RateLimit",
    "RateLimit-Policy",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "X-Request-ID",
    "Location",
]
if "*" in CORS_ALLOWED_ORIGINS:
    raise ImproperlyConfigured("CORS_ALLOWED_ORIGINS may not contain '*'; list the origins explicitly.")

SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_HTTPS_PROXY", default=False) else None
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "common.errors.csrf_failure"
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default="default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'",
)

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedStaticFilesStorage"},
}
# Seconds browsers may cache a static file (common/static.py serves them in front of Django).
STATIC_MAX_AGE = env_int("STATIC_MAX_AGE", 60, minimum=0)
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# --- i18n -----------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging --------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "common.logging.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "common.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT if LOG_FORMAT in ("json", "text") else "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request's URL at INFO; outbound URLs are user-supplied and may carry tokens
        # in the query string (common.outbound). Callers record what they need on their attempt rows.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
