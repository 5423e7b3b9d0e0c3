"""What every converter shares: its signature, its failure type, and option validation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from common.errors import FieldError, ValidationFailed

Progress = Callable[[int], None]
# (source file, output file, validated options, progress callback 0-100) -> metadata of the output
Run = Callable[[IO[bytes], IO[bytes], dict[str, Any], Progress], dict[str, Any]]


class ConversionFailed(Exception):
    """A permanent failure of this input (corrupt, bomb, too large): retrying cannot help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Converter:
    family: str
    source: str  # detected MIME type of the input
    target: str  # target format name, e.g. "webp"
    output_mime: str
    run: Run
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> JSON Schema of the value


def options_validate(schema: dict[str, dict[str, Any]], options: Any) -> dict[str, Any]:
    """Check `options` against a converter's option schema (JSON Schema subset); fill defaults. 400 on error."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ValidationFailed(
            "options must be a JSON object.",
            errors=[FieldError(attr="options", code="invalid", detail="not an object")],
        )
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for name in options:
        if name not in schema:
            known = ", ".join(sorted(schema)) or "none"
            detail = f"Unknown option; this conversion takes: {known}."
            errors.append(FieldError(attr=f"options.{name}", code="unknown_option", detail=detail))
    for name, spec in schema.items():
        if name not in options:
            if "default" in spec:
                clean[name] = spec["default"]
            continue
        value = options[name]
        problem = _value_problem(spec, value)
        if problem:
            errors.append(FieldError(attr=f"options.{name}", code="invalid", detail=problem))
        else:
            clean[name] = value
    if errors:
        raise ValidationFailed("Some conversion options are invalid.", errors=errors)
    return clean


def _value_problem(spec: dict[str, Any], value: Any) -> str | None:
    kind = spec.get("type")
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        if "minimum" in spec and value < spec["minimum"]:
            return f"must be at least {spec['minimum']}"
        if "maximum" in spec and value > spec["maximum"]:
            return f"must be at most {spec['maximum']}"
    elif kind == "boolean":
        if not isinstance(value, bool):
            return "must be true or false"
    elif kind == "string":
        if not isinstance(value, str):
            return "must be a string"
        if "enum" in spec and value not in spec["enum"]:
            return f"must be one of: {', '.join(spec['enum'])}"
    return None
