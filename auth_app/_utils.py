"""Small pure helpers shared inside auth_app (not part of its public surface)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

import idna

API_KEY_PREFIX = "ak"
_API_KEY_RE = re.compile(r"^ak_([0-9a-f]{12})_([A-Za-z0-9_-]{32,128})$")
# Printable ASCII without space, '@' and the characters no mailbox uses in practice; the rest of the
# syntax (dots, quoting) is the EmailField validator's job before this runs.
_ASCII_LOCAL_RE = re.compile(r"^[\x21-\x7e]+$")


class EmailNotAccepted(ValueError):
    """The address has no canonical form here: a non-ASCII local part, or a domain IDNA refuses."""


def email_canonical(email: str) -> str:
    """The ONE form an address is stored, made unique and looked up in (and keyed by in the lockout).

    - the local part must be ASCII (look-alikes such as `mıssıs`, `miſſiſ` or `admİn` are refused:
      Python's and PostgreSQL's case mappings disagree on them, and they spoof other accounts), and is
      lower-cased (ASCII only, so every layer agrees);
    - the domain is IDNA-encoded with UTS #46 mapping (`BÜCHER.de` and `xn--bcher-kva.de` are one
      domain), so it is ASCII and lower-case too.

    Raises EmailNotAccepted when neither applies. The result is plain ASCII: `lower()`, `casefold()`,
    PostgreSQL's `LOWER()` and `UPPER()` all agree on it.
    """
    address = (email or "").strip()
    local, sep, domain = address.rpartition("@")
    if not sep or not local or not domain:
        raise EmailNotAccepted("An email address needs a local part and a domain.")
    if not _ASCII_LOCAL_RE.match(local):
        raise EmailNotAccepted("The part before @ may only contain ASCII characters.")
    try:
        ascii_domain = idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise EmailNotAccepted("The domain is not a valid (internationalised) domain name.") from exc
    return f"{local.lower()}@{ascii_domain.lower()}"


def email_key(email: str) -> str:
    """A stable key for any presented address (the lockout counters): the canonical form when there is one.

    Addresses without a canonical form (no account can have them) still get one key per spelling
    family (NFKC + casefold), so they are counted like any other unknown address.
    """
    try:
        return email_canonical(email)
    except EmailNotAccepted:
        return "unaccepted:" + unicodedata.normalize("NFKC", (email or "").strip()).casefold()


def api_key_parse(raw_key: str) -> tuple[str, str] | None:
    """Split a presented key into (prefix, secret) without any I/O; None if malformed."""
    match = _API_KEY_RE.match(raw_key or "")
    return (match.group(1), match.group(2)) if match else None


def secret_hash(secret: str) -> str:
    """SHA-256 (hex) of an API key secret: what the database and the principal cache hold."""
    return hashlib.sha256(secret.encode()).hexdigest()
