"""The CORS safety check refuses 'every origin' together with credentials."""

import pytest

from common.checks import check_cors_origins


def ids(messages) -> set[str]:
    return {message.id for message in messages}


def test_default_settings_pass():
    assert check_cors_origins() == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"CORS_ALLOW_ALL_ORIGINS": True},
        {"CORS_ORIGIN_ALLOW_ALL": True},
        {"CORS_ALLOWED_ORIGIN_REGEXES": [r".*"]},
        {"CORS_ALLOWED_ORIGIN_REGEXES": [r"^https?://.+$"]},
    ],
)
def test_every_origin_with_credentials_is_an_error(settings, overrides):
    settings.CORS_ALLOW_CREDENTIALS = True
    for name, value in overrides.items():
        setattr(settings, name, value)
    assert "common.E001" in ids(check_cors_origins())


def test_every_origin_without_credentials_is_a_warning(settings):
    settings.CORS_ALLOW_ALL_ORIGINS = True
    settings.CORS_ALLOW_CREDENTIALS = False
    assert ids(check_cors_origins()) == {"common.W001"}


def test_star_in_the_list_is_an_error(settings):
    settings.CORS_ALLOWED_ORIGINS = ["*"]
    settings.CORS_ALLOW_CREDENTIALS = True
    assert {"common.E001", "common.E002"} <= ids(check_cors_origins())


def test_explicit_origins_and_narrow_regexes_pass(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    settings.CORS_ALLOWED_ORIGIN_REGEXES = [r"^https://[a-z]+\.example\.com$"]
    settings.CORS_ALLOW_CREDENTIALS = True
    assert check_cors_origins() == []


def test_check_is_registered(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.CORS_ALLOW_ALL_ORIGINS = True
    settings.CORS_ALLOW_CREDENTIALS = True
    with pytest.raises(SystemCheckError, match=r"common\.E001"):
        call_command("check", tags=["security"])


def test_star_in_the_environment_stops_start_up():
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "CORS_ALLOWED_ORIGINS": "*",
        "SECRET_KEY": "k" * 50,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and "CORS_ALLOWED_ORIGINS" in result.stderr
