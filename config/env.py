"""Typed readers for environment variables: a bad value stops start-up with a message naming it."""

import contextlib
import os
import re

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def env_int(name: str, default: int, minimum: int = 1) -> int:
    """A whole number >= `minimum`."""
    try:
        value = env.int(name, default=default)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {env.str(name)!r}") from exc
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_seconds(name: str, default: float) -> float:
    """A number of seconds above 0 (fractions allowed)."""
    try:
        value = env.float(name, default=default)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{name} must be a number of seconds, got {env.str(name)!r}") from exc
    if not value > 0:
        raise ImproperlyConfigured(f"{name} must be a number of seconds above 0, got {value!r}")
    return value


def env_url(name: str, default: str, schemes: tuple[str, ...]) -> str:
    """A URL whose scheme is one of `schemes` (or empty when the default is empty)."""
    value = env.str(name, default=default)
    if value and value.split("://", 1)[0] not in schemes:
        raise ImproperlyConfigured(f"{name} must be a URL starting with one of {', '.join(schemes)}; got {value!r}")
    return value


def env_rate(name: str, default: str) -> str:
    """A rate like "100/15m" (count / [multiplier] s|m|h|d), as django-ratelimit reads it."""
    value = env.str(name, default=default).strip()
    match = re.fullmatch(r"([1-9]\d*)/(\d*)([smhd])", value)
    if not match or (match.group(2) and int(match.group(2)) == 0):
        raise ImproperlyConfigured(f"{name} must be a rate like 100/15m (count/[n]s|m|h|d), got {value!r}")
    return value


def private_file_create(name: object) -> None:
    """Create the file `name` readable by its owner only (0600) unless it exists (the SQLite database:
    it holds password hashes and sessions). SQLite gives its -wal and -shm files the database's mode."""
    path = str(name or "")
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
