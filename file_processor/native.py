"""The two native libraries the File Processor can live without, probed once per process.

python-magic needs Debian's libmagic1 and WeasyPrint needs Debian's pango. CI and the Docker image
install both; a fresh machine with only Python (`make run`) may have neither. Without libmagic, MIME
detection falls back to puremagic plus a text heuristic (inspection.content_sniff); without pango the
conversion registry leaves out the PDF targets. Each missing library is logged once, by name.

`magic_import` and `weasyprint_import` are the only places that touch the libraries: tests replace them
(raising ImportError/OSError, as a machine without the Debian packages does) and clear the caches.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

logger = logging.getLogger(__name__)

LIBMAGIC_PACKAGES = "libmagic1"
PANGO_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0"


def magic_import() -> Any:
    import magic  # raises ImportError("failed to find libmagic") when libmagic1 is missing

    return magic


def weasyprint_import() -> Any:
    # Importing parses WeasyPrint's default stylesheets, which logs INFO lines on every start-up.
    progress = logging.getLogger("weasyprint.progress")
    level = progress.level
    progress.setLevel(logging.WARNING)
    try:
        import weasyprint  # raises OSError ("cannot load library 'libpango...'") when pango is missing
    finally:
        progress.setLevel(level)
    return weasyprint


@cache
def libmagic() -> Any | None:
    """python-magic's module, or None when libmagic cannot be loaded (logged once)."""
    try:
        return magic_import()
    except (ImportError, OSError) as exc:
        logger.warning(
            "libmagic is not available (%s); MIME detection falls back to puremagic. Install Debian's %s.",
            exc,
            LIBMAGIC_PACKAGES,
        )
        return None


@cache
def pdf_available() -> bool:
    """Whether WeasyPrint (and so pango) loads; without it no conversion offers PDF (logged once)."""
    try:
        weasyprint_import()
    except (ImportError, OSError) as exc:
        logger.warning(
            "WeasyPrint cannot load (%s); PDF conversions are disabled. Install Debian's %s.", exc, PANGO_PACKAGES
        )
        return False
    return True


def probes_reset() -> None:
    """Forget the probe results (tests that simulate a missing library, before and after)."""
    libmagic.cache_clear()
    pdf_available.cache_clear()
