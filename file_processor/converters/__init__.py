"""The conversion registry: (source MIME type, target format) -> converter with its option schema."""

from __future__ import annotations

from functools import cache
from typing import Any

from ..errors import Unprocessable
from . import data, documents, images
from .base import ConversionFailed, Converter, options_validate

__all__ = [
    "ConversionFailed",
    "Converter",
    "converter_for",
    "options_validate",
    "registry",
    "supported_matrix",
    "targets_for",
]


@cache
def registry() -> dict[tuple[str, str], Converter]:
    found = [*images.converters(), *data.converters(), *documents.converters()]
    return {(converter.source, converter.target): converter for converter in found}


def targets_for(source: str) -> list[str]:
    return sorted(target for (mime, target) in registry() if mime == source)


def converter_for(source: str, target: str) -> Converter:
    """The converter for this pair, or 422 `unsupported_conversion` naming what is supported."""
    converter = registry().get((source, (target or "").lower()))
    if converter is None:
        targets = targets_for(source)
        supported = ", ".join(targets) if targets else "nothing (no conversion takes this type)"
        raise Unprocessable(
            f"{source} cannot be converted to {target!r}; supported targets for {source}: {supported}.",
            code="unsupported_conversion",
            extra={"source_type": source, "supported_targets": targets},
        )
    return converter


def supported_matrix() -> list[dict[str, Any]]:
    """Every source type with its targets and each target's option schema (GET /conversions)."""
    by_source: dict[str, list[Converter]] = {}
    for converter in registry().values():
        by_source.setdefault(converter.source, []).append(converter)
    return [
        {
            "source_type": source,
            "family": convs[0].family,
            "targets": [
                {
                    "format": conv.target,
                    "output_type": conv.output_mime,
                    "options": {"type": "object", "additionalProperties": False, "properties": conv.options},
                }
                for conv in sorted(convs, key=lambda item: item.target)
            ],
        }
        for source, convs in sorted(by_source.items())
    ]
