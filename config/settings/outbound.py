"""Outbound HTTP to user-supplied URLs (common.outbound); the "Outbound HTTP" section of `.env.example`."""

import ipaddress
import re

from django.core.exceptions import ImproperlyConfigured

from config.env import env, env_int, env_seconds

OUTBOUND_CONNECT_TIMEOUT_SECONDS = env_seconds("OUTBOUND_CONNECT_TIMEOUT_SECONDS", 3.0)
OUTBOUND_READ_TIMEOUT_SECONDS = env_seconds("OUTBOUND_READ_TIMEOUT_SECONDS", 10.0)
OUTBOUND_MAX_RESPONSE_BYTES = env_int("OUTBOUND_MAX_RESPONSE_BYTES", 64 * 1024)
OUTBOUND_ALLOWED_PRIVATE_HOSTS: list[str] = env.list("OUTBOUND_ALLOWED_PRIVATE_HOSTS", default=[])


def _check_allowed_private_hosts() -> None:
    """Each entry is a host name, an IP address or a network (common.outbound.addresses parses them)."""
    for entry in OUTBOUND_ALLOWED_PRIVATE_HOSTS:
        try:
            ipaddress.ip_network(entry.strip().strip("[]"), strict=False)
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?\.?", entry.strip()):
                raise ImproperlyConfigured(
                    "OUTBOUND_ALLOWED_PRIVATE_HOSTS entries must be host names, IP addresses or networks;"
                    f" got {entry!r}"
                ) from None


_check_allowed_private_hosts()
