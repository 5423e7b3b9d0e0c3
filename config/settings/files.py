"""File Processor API settings (file_processor): the "File Processor API" section of `.env.example`."""

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from config.env import env, env_int, env_seconds
from config.settings.base import (
    API_MAX_BODY_BYTES,
    CELERY_BEAT_SCHEDULE,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    JOBS_LEASE_SECONDS,
    REQUEST_BODY_LIMITS,
    REQUEST_BODY_STREAMED,
    STORAGES,
)

MiB = 1024 * 1024

# --- Uploads ---
# Largest file accepted by POST /uploads and signed direct uploads; enforced while streaming (413).
FILES_MAX_UPLOAD_BYTES = env_int("FILES_MAX_UPLOAD_BYTES", 100 * MiB)
# MIME types (detected from the content with libmagic) that may be stored.
FILES_ALLOWED_MIME_TYPES = env.list(
    "FILES_ALLOWED_MIME_TYPES",
    default=[
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/tiff",
        "image/bmp",
        "image/avif",
        "text/csv",
        "application/json",
        "text/markdown",
        "text/plain",
        "text/html",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/pdf",
    ],
)
# Where an upload is written while it arrives. Empty: a `.incoming` folder in MEDIA_ROOT with local storage
# (storing the finished upload is then a rename on the same filesystem, not a second copy: the system temp
# dir is often another one, e.g. a container's /tmp beside a mounted media volume), the system temp dir
# with S3. Files left there by a killed process are not swept.
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default="") or None
# Seconds a signed direct-upload URL stays valid (it also works only once).
FILES_SIGNED_UPLOAD_TTL_SECONDS = env_int("FILES_SIGNED_UPLOAD_TTL_SECONDS", 15 * 60)
# Uploaded files and conversion outputs are deleted this many seconds after creation (periodic task).
FILES_RETENTION_SECONDS = env_int("FILES_RETENTION_SECONDS", 7 * 24 * 3600)
FILES_RETENTION_INTERVAL_SECONDS = env_int("FILES_RETENTION_INTERVAL_SECONDS", 3600)
# Upload temporary files (`<MEDIA_ROOT>/.incoming/*.upload`) untouched this long belong to a process that
# died mid-upload (a live one is written to at least every REQUEST_BODY_IDLE_TIMEOUT_SECONDS while its
# body arrives): the retention sweep deletes them.
FILES_INCOMING_MAX_AGE_SECONDS = env_int("FILES_INCOMING_MAX_AGE_SECONDS", 24 * 3600, minimum=3600)

# --- Hostile input guards ---
# Pillow's decompression-bomb limit (pixels); larger images are refused (422 decompression_bomb).
FILES_MAX_IMAGE_PIXELS = env_int("FILES_MAX_IMAGE_PIXELS", 50_000_000)
# XLSX (ZIP) guards, checked before openpyxl opens a workbook: entries, total uncompressed bytes and
# the ratio of uncompressed to compressed size (a normal workbook is near 9; Gotenberg's limit is 100).
FILES_ZIP_MAX_ENTRIES = env_int("FILES_ZIP_MAX_ENTRIES", 10_000)
FILES_ZIP_MAX_UNCOMPRESSED_BYTES = env_int("FILES_ZIP_MAX_UNCOMPRESSED_BYTES", 512 * MiB)
FILES_ZIP_MAX_RATIO = env_int("FILES_ZIP_MAX_RATIO", 100)
# Rows a data conversion (CSV/JSON/XLSX) reads at most; more is a permanent failure (too_many_rows).
FILES_DATA_MAX_ROWS = env_int("FILES_DATA_MAX_ROWS", 1_000_000)

# --- Conversion jobs (Celery, row-first via common.jobs) ---
# Claims of one job before it fails for good (each transient failure is retried after a backoff
# that doubles from the base, with jitter, capped at the maximum; keep it under the visibility timeout).
FILES_CONVERSION_MAX_ATTEMPTS = env_int("FILES_CONVERSION_MAX_ATTEMPTS", 5)
FILES_RETRY_BASE_SECONDS = env_seconds("FILES_RETRY_BASE_SECONDS", 5.0)
FILES_RETRY_MAX_SECONDS = env_seconds("FILES_RETRY_MAX_SECONDS", 1800.0)
# Hard and soft time limits of one conversion task (seconds).
FILES_CONVERSION_TIME_LIMIT = env_int("FILES_CONVERSION_TIME_LIMIT", 300)
FILES_CONVERSION_SOFT_TIME_LIMIT = env_int("FILES_CONVERSION_SOFT_TIME_LIMIT", 270)

# --- Completion webhooks (Standard Webhooks, sent through common.outbound) ---
# Key from which each user's `whsec_` signing secret is derived. Empty: SECRET_KEY. Rotating it
# changes every user's secret (inbound triggers are verified with the same secret).
FILES_WEBHOOK_SIGNING_KEY = env.str("FILES_WEBHOOK_SIGNING_KEY", default="")
# Deliveries of one completion event before it is given up; seconds one delivery may take.
FILES_WEBHOOK_MAX_ATTEMPTS = env_int("FILES_WEBHOOK_MAX_ATTEMPTS", 6)
FILES_WEBHOOK_TIMEOUT_SECONDS = env_seconds("FILES_WEBHOOK_TIMEOUT_SECONDS", 10.0)

# --- Storage: the local filesystem (MEDIA_ROOT) unless an S3 bucket is named ---
FILES_S3_BUCKET = env.str("FILES_S3_BUCKET", default="")
FILES_S3_REGION = env.str("FILES_S3_REGION", default="")
FILES_S3_ENDPOINT_URL = env.str("FILES_S3_ENDPOINT_URL", default="")
FILES_S3_ACCESS_KEY_ID = env.str("FILES_S3_ACCESS_KEY_ID", default="")
FILES_S3_SECRET_ACCESS_KEY = env.str("FILES_S3_SECRET_ACCESS_KEY", default="")
if FILES_S3_BUCKET:
    _s3_storage: dict[str, Any] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": FILES_S3_BUCKET,
            "region_name": FILES_S3_REGION or None,
            "endpoint_url": FILES_S3_ENDPOINT_URL or None,
            "access_key": FILES_S3_ACCESS_KEY_ID or None,
            "secret_key": FILES_S3_SECRET_ACCESS_KEY or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
    STORAGES = {**STORAGES, "default": _s3_storage}

# Multipart overhead on top of the file itself (boundaries, part headers, small form fields).
_MULTIPART_SLACK = 64 * 1024
REQUEST_BODY_LIMITS["/api/v1/files/uploads"] = FILES_MAX_UPLOAD_BYTES + _MULTIPART_SLACK
REQUEST_BODY_LIMITS["/api/v1/files/uploads/direct/"] = FILES_MAX_UPLOAD_BYTES
REQUEST_BODY_LIMITS["/api/v1/files/uploads/signed-url"] = API_MAX_BODY_BYTES
# Upload bodies go from the socket to the upload's temporary file as they arrive (common/asgi/streaming.py),
# instead of being spooled whole to disk by Django's ASGI handler first: each byte is written once.
REQUEST_BODY_STREAMED["/api/v1/files/uploads"] = True  # POST /uploads (multipart)
REQUEST_BODY_STREAMED["/api/v1/files/uploads/direct/"] = True  # PUT /uploads/direct/{token}
REQUEST_BODY_STREAMED["/api/v1/files/uploads/signed-url"] = False  # a small JSON body

if FILES_CONVERSION_TIME_LIMIT >= JOBS_LEASE_SECONDS:
    raise ImproperlyConfigured(
        "FILES_CONVERSION_TIME_LIMIT must be shorter than JOBS_LEASE_SECONDS, or a second worker takes over a "
        "conversion that is still running."
    )
if float(CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]) <= FILES_RETRY_MAX_SECONDS:
    raise ImproperlyConfigured("FILES_RETRY_MAX_SECONDS must stay under the broker's visibility timeout.")

CELERY_BEAT_SCHEDULE["files-retention"] = {
    "task": "file_processor.tasks.files_expire_task",
    "schedule": float(FILES_RETENTION_INTERVAL_SECONDS),
}
