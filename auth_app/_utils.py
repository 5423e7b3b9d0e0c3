"""Small pure helpers shared inside auth_app (not part of its public surface)."""

from __future__ import annotations

import hashlib
import re

API_KEY_PREFIX = "ak"
_API_KEY_RE = re.compile(r"^ak_([0-9a-f]{12})_([A-Za-z0-9_-]{32,128})$")


def normalize_email(email: str) -> str:
    """The form every address is stored and compared in: stripped and lower-cased."""
    return (email or "").strip().lower()


def api_key_parse(raw_key: str) -> tuple[str, str] | None:
    """Split a presented key into (prefix, secret) without any I/O; None if malformed."""
    match = _API_KEY_RE.match(raw_key or "")
    return (match.group(1), match.group(2)) if match else None


def secret_hash(secret: str) -> str:
    """SHA-256 (hex) of an API key secret: what the database and the principal cache hold."""
    return hashlib.sha256(secret.encode()).hexdigest()
