"""Demo files for `manage.py seed` (idempotent): three uploads of demo@example.com and finished conversions."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw

from auth_app.selectors import user_by_email

from .converters import targets_for
from .models import StoredFile
from .services import conversion_run, conversion_start, file_store_bytes

DEMO_EMAIL = "demo@example.com"


def _demo_png() -> bytes:
    image = Image.new("RGB", (640, 400), (30, 90, 160))
    draw = ImageDraw.Draw(image)
    for step in range(0, 640, 40):
        draw.line([(step, 0), (640 - step, 400)], fill=(240, 200, 60), width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


DEMO_FILES: list[tuple[str, str, Any, str, dict[str, Any]]] = [
    ("lines.png", "image/png", _demo_png, "webp", {"width": 320}),
    ("sales.csv", "text/csv", lambda: b"region,units,revenue\nnorth,120,2400.50\nsouth,75,1612.00\n", "xlsx", {}),
    (
        "readme.md",
        "text/markdown",
        lambda: b"# Demo report\n\nConverted by the **File Processor**.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        "pdf",
        {},
    ),
]


def seed_run(*, stdout: Any) -> None:
    user = user_by_email(email=DEMO_EMAIL)
    if user is None:
        stdout.write(f"file_processor: skipped ({DEMO_EMAIL} does not exist)")
        return
    if StoredFile.objects.filter(owner=user, metadata__seed=True).exists():
        stdout.write("file_processor: demo files already present")
        return
    created = 0
    for name, content_type, make, target, options in DEMO_FILES:
        if target not in targets_for(content_type):  # PDF without pango (native.pdf_available)
            stdout.write(f"file_processor: skipped the {name} -> {target} demo ({target} conversion is unavailable)")
            continue
        content = make()
        stored = file_store_bytes(
            owner=user, content=content, filename=name, declared_type=content_type, metadata={"seed": True}
        )
        job = conversion_start(user=user, file_id=stored.pk, target_format=target, options=options)
        conversion_run(job_id=job.pk)  # finished now; the task queued at commit finds nothing left to do
        created += 1
    stdout.write(f"file_processor: created {created} demo files with finished conversions for {DEMO_EMAIL}")
