"""The yardstick's minimal Django project: same Django/DRF as the platform, no middleware at all.

Four views (sync JSON, async JSON, DRF @api_view, one INSERT) give the ceiling each of the
platform's routes is compared with; a fifth (a plain multipart upload) is bench/files' yardstick.
Same DATABASE_URL (and pool settings) as the measured project.
"""

import os

import environ

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY", "yardstick-not-secret")
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "yardstick_min"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "yardstick_min.urls"
ASGI_APPLICATION = "yardstick_min.asgi.application"
WSGI_APPLICATION = "yardstick_min.wsgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:////tmp/yardstick.sqlite3")
DATABASES = {"default": environ.Env.db_url_config(DATABASE_URL)}
if DATABASE_URL.startswith("sqlite"):
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif int(os.environ.get("DB_CONN_MAX_AGE", "0")):  # the platform's WSGI tier: a connection per thread
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ["DB_CONN_MAX_AGE"])
else:  # the platform's pool, sized by the same variables
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": int(os.environ.get("DB_POOL_MIN_SIZE", "2")),
            "max_size": int(os.environ.get("DB_POOL_MAX_SIZE", "20")),
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "10")),
        }
    }
REST_FRAMEWORK = {"DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
