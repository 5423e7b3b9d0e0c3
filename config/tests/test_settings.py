"""Config loading: documented defaults when variables are missing; bad values stop start-up by name.

Two kinds of test: a few subprocesses run `django.setup()` for real (start-up succeeds or fails with a
message), and in-process tests import the config/settings package afresh under a controlled
environment, which is cheap enough for hypothesis. Neither reads a developer's `.env`
(`DJANGO_READ_DOT_ENV=false`).
"""

import contextlib
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

BASE_DIR = Path(__file__).resolve().parents[2]
KEY = "k" * 50
PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "db_engine": s.DATABASES["default"]["ENGINE"],
    "cache": s.CACHES["default"]["BACKEND"],
    "channel_layer": s.CHANNEL_LAYERS["default"]["BACKEND"],
    "eager": s.CELERY_TASK_ALWAYS_EAGER,
    "broker": s.CELERY_BROKER_URL,
    "debug": s.DEBUG,
    "rate_anon": s.RATE_LIMIT_ANON,
    "rate_user": s.RATE_LIMIT_USER,
    "rate_enabled": s.RATE_LIMIT_ENABLED,
    "max_body": s.API_MAX_BODY_BYTES,
    "page": [s.API_PAGE_SIZE_DEFAULT, s.API_PAGE_SIZE_MAX],
    "proxies": s.TRUSTED_PROXY_COUNT,
    "cors": s.CORS_ALLOWED_ORIGINS,
    "log_format": s.LOG_FORMAT,
}))
"""


def base_environment(**values: str) -> dict[str, str]:
    """Only what the interpreter needs, plus `values`: nothing inherited from the test run or a .env file."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_READ_DOT_ENV": "false",
        "PYTHONPATH": str(BASE_DIR),
    }
    env.update(values)
    return env


def start(**values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed interpreter and script
        [sys.executable, "-c", PROBE],
        env=base_environment(**values),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def started(**values: str) -> dict:
    result = start(**values)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Real start-ups (subprocesses: keep them few) ----------------------------------------------------


def test_config_loading_with_defaults():
    """With only SECRET_KEY set, the project runs embedded with the documented defaults."""
    loaded = started(SECRET_KEY=KEY)
    assert loaded == {
        "db_engine": "django.db.backends.sqlite3",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "channel_layer": "channels.layers.InMemoryChannelLayer",
        "eager": True,
        "broker": "memory://",
        "debug": False,
        "rate_anon": "100/15m",
        "rate_user": "1000/15m",
        "rate_enabled": True,
        "max_body": 1024 * 1024,
        "page": [20, 100],
        "proxies": 0,
        "cors": [],
        "log_format": "json",
    }


def test_services_mode_from_urls():
    loaded = started(
        SECRET_KEY=KEY, DATABASE_URL="postgres://u@db.invalid:5432/x", REDIS_URL="redis://cache.invalid:6379/0"
    )
    assert loaded["db_engine"] == "django.db.backends.postgresql"
    assert loaded["cache"] == "common.cache.PlatformRedisCache"
    assert loaded["channel_layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert loaded["eager"] is False and loaded["broker"] == "redis://cache.invalid:6379/0"


def test_the_list_based_channel_layer_can_be_chosen_and_a_typo_stops_start_up():
    urls = {"SECRET_KEY": KEY, "DATABASE_URL": "postgres://u@db.invalid/x", "REDIS_URL": "redis://cache.invalid/0"}
    assert started(**urls, CHANNEL_LAYER_BACKEND="lists")["channel_layer"] == "channels_redis.core.RedisChannelLayer"
    result = start(**urls, CHANNEL_LAYER_BACKEND="kafka")
    assert result.returncode != 0
    assert "CHANNEL_LAYER_BACKEND" in result.stderr


def test_missing_secret_key_stops_start_up_unless_debug():
    result = start()
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert started(DEBUG="true")["debug"] is True


@pytest.mark.parametrize(
    ("name", "value"),
    [("DATABASE_URL", "mysql://root@localhost/db"), ("REDIS_URL", "http://localhost:6379"), ("DB_POOL_MAX_SIZE", "x")],
)
def test_bad_value_stops_start_up_naming_the_variable(name, value):
    values = {"SECRET_KEY": KEY, name: value}
    if name == "DB_POOL_MAX_SIZE":
        values["DATABASE_URL"] = "postgres://u@db.invalid/x"  # the pool size is read in services mode only
    result = start(**values)
    assert result.returncode != 0
    assert name in result.stderr.strip().splitlines()[-1]


# --- In-process: import the config.settings package afresh -----------------------------------------


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(base_environment(**values))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _settings_modules() -> dict[str, ModuleType]:
    return {name: module for name, module in sys.modules.items() if name.split(".")[:2] == ["config", "settings"]}


def load_settings(**values: str) -> ModuleType:
    """Import config.settings (base and every app module) afresh under exactly `values` (no .env)."""
    saved = _settings_modules()
    for name in saved:
        del sys.modules[name]
    try:
        with environment(values):
            return importlib.import_module("config.settings")
    finally:
        for name in _settings_modules():
            del sys.modules[name]
        sys.modules.update(saved)


def test_in_process_loader_sees_the_same_defaults():
    loaded = load_settings(SECRET_KEY=KEY)
    assert loaded.RATE_LIMIT_ANON == "100/15m"
    assert loaded.API_MAX_BODY_BYTES == loaded.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024
    assert loaded.RATE_LIMIT_PRINCIPAL_RESOLVER == "auth_app.authentication.request_principal"
    assert "common.middleware.ProblemDetailsMiddleware" in loaded.MIDDLEWARE


def test_values_from_the_environment_win():
    loaded = load_settings(
        SECRET_KEY=KEY,
        RATE_LIMIT_ANON="5/1m",
        API_MAX_BODY_BYTES="2048",
        TRUSTED_PROXY_COUNT="2",
        CORS_ALLOWED_ORIGINS="https://a.example,https://b.example",
    )
    assert loaded.RATE_LIMIT_ANON == "5/1m"
    assert loaded.API_MAX_BODY_BYTES == 2048
    assert loaded.TRUSTED_PROXY_COUNT == 2
    assert loaded.CORS_ALLOWED_ORIGINS == ["https://a.example", "https://b.example"]


def _not_an_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return True
    return False


# django-environ reads a value starting with "$" as a reference to another variable ("$" alone: unset).
env_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12).filter(
    lambda text: not text.startswith("$")
)
invalid_integers = st.one_of(
    env_text.filter(_not_an_int),
    st.integers(max_value=0).map(str),
    st.sampled_from(["1.5", "1e3", "0x10", "ten", " ", "", "-1"]),
)


@hsettings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["API_MAX_BODY_BYTES", "DB_POOL_MAX_SIZE", "API_PAGE_SIZE_MAX", "API_PAGE_SIZE_DEFAULT"]),
    value=invalid_integers,
)
def test_invalid_integer_settings_fail_naming_the_variable(name, value):
    values = {"SECRET_KEY": KEY, name: value, "DATABASE_URL": "postgres://u@db.invalid/x"}
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings(**values)


@hsettings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["RATE_LIMIT_ANON", "RATE_LIMIT_USER"]),
    value=st.one_of(
        env_text.filter(lambda text: "/" not in text),
        st.sampled_from(["100", "0/15m", "100/0m", "100/15x", "100 / 15m", "-1/m", "1/15mm", "/m"]),
    ),
)
def test_invalid_rates_fail_naming_the_variable(name, value):
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings(SECRET_KEY=KEY, **{name: value})


@hsettings(max_examples=30, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=10**6),
    multiplier=st.sampled_from(["", "1", "15"]),
    unit=st.sampled_from("smhd"),
)
def test_valid_rates_load(count, multiplier, unit):
    rate = f"{count}/{multiplier}{unit}"
    assert rate == load_settings(SECRET_KEY=KEY, RATE_LIMIT_USER=rate).RATE_LIMIT_USER


def test_negative_proxy_count_fails():
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXY_COUNT"):
        load_settings(SECRET_KEY=KEY, TRUSTED_PROXY_COUNT="-1")


def test_page_default_above_max_fails():
    with pytest.raises(ImproperlyConfigured, match="API_PAGE_SIZE_DEFAULT"):
        load_settings(SECRET_KEY=KEY, API_PAGE_SIZE_DEFAULT="50", API_PAGE_SIZE_MAX="10")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUTH_LOGIN_FAILURES_PER_ACCOUNT", "5 per 5m"),
        ("AUTH_LOGIN_RATE_PER_IP", "0/m"),
        ("AUTH_REGISTER_RATE_PER_IP", "10/0h"),
        ("AUTH_PASSWORD_RESET_RATE_PER_IP", "5"),
        ("AUTH_PASSWORD_RESET_RATE_PER_EMAIL", "3/hour"),
        ("AUTH_REFRESH_RATE_PER_IP", "-1/m"),
        ("JWT_REFRESH_REUSE_GRACE_SECONDS", "-1"),
        ("JWT_REFRESH_REUSE_GRACE_SECONDS", "ten"),
        ("WS_AUTH_TIMEOUT_SECONDS", "0"),
        ("WS_AUTH_TIMEOUT_SECONDS", "soon"),
    ],
)
def test_invalid_auth_settings_fail_naming_the_variable(name, value):
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings(SECRET_KEY=KEY, **{name: value})


def test_auth_settings_accept_a_zero_grace_and_fractional_ws_timeout():
    loaded = load_settings(SECRET_KEY=KEY, JWT_REFRESH_REUSE_GRACE_SECONDS="0", WS_AUTH_TIMEOUT_SECONDS="0.5")
    assert loaded.JWT_REFRESH_REUSE_GRACE.total_seconds() == 0
    assert loaded.WS_AUTH_TIMEOUT_SECONDS == 0.5


def test_serving_limits_have_their_documented_defaults():
    loaded = load_settings(SECRET_KEY=KEY, DATABASE_URL="postgres://u@db.invalid:5432/x")
    options = loaded.DATABASES["default"]["OPTIONS"]
    # An unreachable database costs a request ~HEALTH_CHECK_TIMEOUT and a 503, not a 10 s wait.
    assert options["pool"]["timeout"] == loaded.HEALTH_CHECK_TIMEOUT == 2.0
    assert options["connect_timeout"] == 2
    assert loaded.WS_MAX_MESSAGE_BYTES == 64 * 1024
    assert loaded.WS_AUTH_MESSAGE_MAX_BYTES == 4096
    assert (loaded.STREAMS_MAX_PER_USER, loaded.STREAMS_MAX_PER_IP, loaded.STREAMS_LEASE_SECONDS) == (20, 100, 90.0)
    assert loaded.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS == 5
    assert "common.middleware.RequestSizeLimitMiddleware" not in loaded.MIDDLEWARE  # refused before Django now


def test_outbound_defaults_and_allowed_private_hosts():
    defaults = load_settings(SECRET_KEY=KEY)
    assert (
        defaults.OUTBOUND_CONNECT_TIMEOUT_SECONDS,
        defaults.OUTBOUND_READ_TIMEOUT_SECONDS,
        defaults.OUTBOUND_MAX_RESPONSE_BYTES,
        defaults.OUTBOUND_ALLOWED_PRIVATE_HOSTS,
    ) == (3.0, 10.0, 65536, [])
    loaded = load_settings(SECRET_KEY=KEY, OUTBOUND_ALLOWED_PRIVATE_HOSTS="127.0.0.1,10.0.0.0/8,receiver.internal,::1")
    assert loaded.OUTBOUND_ALLOWED_PRIVATE_HOSTS == ["127.0.0.1", "10.0.0.0/8", "receiver.internal", "::1"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OUTBOUND_ALLOWED_PRIVATE_HOSTS", "http://127.0.0.1"),
        ("OUTBOUND_ALLOWED_PRIVATE_HOSTS", "10.0.0.0/33"),
        ("OUTBOUND_ALLOWED_PRIVATE_HOSTS", "host name"),
        ("OUTBOUND_CONNECT_TIMEOUT_SECONDS", "0"),
        ("OUTBOUND_READ_TIMEOUT_SECONDS", "slow"),
        ("OUTBOUND_MAX_RESPONSE_BYTES", "0"),
    ],
)
def test_invalid_outbound_settings_fail_naming_the_variable(name, value):
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings(SECRET_KEY=KEY, **{name: value})


def test_postgresql_connections_are_pooled_unless_a_thread_keeps_its_own():
    url = "postgres://u@db.invalid:5432/x"
    pooled = load_settings(SECRET_KEY=KEY, DATABASE_URL=url).DATABASES["default"]
    assert pooled["CONN_MAX_AGE"] == 0 and pooled["OPTIONS"]["pool"]["max_size"] == 20
    kept = load_settings(SECRET_KEY=KEY, DATABASE_URL=url, DB_CONN_MAX_AGE="300").DATABASES["default"]
    assert kept["CONN_MAX_AGE"] == 300 and "pool" not in kept["OPTIONS"]  # Django refuses both at once
    assert kept["OPTIONS"]["connect_timeout"] == 2
