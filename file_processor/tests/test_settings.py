"""The File Processor's settings: S3 switches the default storage; unsafe limits stop start-up by name."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.tests.test_settings import load_settings


def test_defaults_use_the_local_filesystem_and_set_upload_body_limits():
    loaded = load_settings(SECRET_KEY="x" * 40)
    assert loaded.STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert loaded.FILES_MAX_UPLOAD_BYTES == 100 * 1024 * 1024
    assert loaded.REQUEST_BODY_LIMITS["/api/v1/files/uploads"] > loaded.FILES_MAX_UPLOAD_BYTES
    assert loaded.REQUEST_BODY_LIMITS["/api/v1/files/uploads/direct/"] == loaded.FILES_MAX_UPLOAD_BYTES


def test_a_bucket_switches_default_storage_to_s3():
    loaded = load_settings(SECRET_KEY="x" * 40, FILES_S3_BUCKET="media", FILES_S3_REGION="eu-west-1")
    storage = loaded.STORAGES["default"]
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["bucket_name"] == "media" and storage["OPTIONS"]["default_acl"] == "private"
    # Only the default storage moves to S3; static files stay where the platform serves them from.
    assert loaded.STORAGES["staticfiles"] == load_settings(SECRET_KEY="x" * 40).STORAGES["staticfiles"]


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"FILES_RETRY_MAX_SECONDS": "3600"}, "FILES_RETRY_MAX_SECONDS"),
        ({"FILES_CONVERSION_TIME_LIMIT": "400"}, "FILES_CONVERSION_TIME_LIMIT"),
        ({"FILES_MAX_UPLOAD_BYTES": "many"}, "FILES_MAX_UPLOAD_BYTES"),
    ],
)
def test_unsafe_or_invalid_values_stop_start_up_naming_the_variable(values, name):
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings(SECRET_KEY="x" * 40, **values)
