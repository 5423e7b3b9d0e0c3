"""System checks: name the Debian packages behind features that are switched off on this machine."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning, register

from . import native


@register()
def check_native_libraries(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if native.libmagic() is None:
        messages.append(
            Warning(
                "libmagic cannot be loaded: MIME detection uses the pure-Python fallback (puremagic).",
                hint=f"apt-get install {native.LIBMAGIC_PACKAGES}",
                id="file_processor.W001",
            )
        )
    if not native.pdf_available():
        messages.append(
            Warning(
                "WeasyPrint cannot load pango: conversions to PDF are not offered.",
                hint=f"apt-get install {native.PANGO_PACKAGES}",
                id="file_processor.W002",
            )
        )
    return messages
