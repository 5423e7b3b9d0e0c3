"""Tabular data: CSV <-> JSON <-> XLSX (openpyxl, which parses its XML with defusedxml when installed).

Rows stream through: CSV and XLSX are read row by row (XLSX in openpyxl's read-only mode, after the
ZIP-bomb guard), JSON output is written row by row. JSON input must be an array (of objects or of
arrays) and is parsed whole, so it is bounded by the upload limit. Progress is reported by rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings

from ..errors import Unprocessable
from ..inspection import XLSX, zip_guard
from .base import ConversionFailed, Converter, Progress

DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
OPTIONS: dict[str, dict[str, Any]] = {
    "delimiter": {"type": "string", "enum": list(DELIMITERS), "default": "comma", "description": "CSV delimiter."},
    "header": {
        "type": "boolean",
        "default": True,
        "description": "CSV/XLSX: the first row names the columns (JSON output is then an array of objects).",
    },
}
SOURCES = {"text/csv": "csv", "application/json": "json", XLSX: "xlsx"}
TARGETS = {"csv": "text/csv", "json": "application/json", "xlsx": XLSX}


class Table:
    """Rows from any source, with a row count estimate for progress (0: unknown)."""

    def __init__(self, rows: Iterator[list[Any]], total: int, header: list[str] | None) -> None:
        self.rows = rows
        self.total = total
        self.header = header


def _limit(rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
    cap = int(settings.FILES_DATA_MAX_ROWS)
    for count, row in enumerate(rows, start=1):
        if count > cap:
            raise ConversionFailed("too_many_rows", f"The input has more than {cap} rows.")
        yield row


def _read_csv(src: IO[bytes], options: dict[str, Any]) -> Table:
    text = codecs.getreader("utf-8-sig")(src, "strict")
    reader = csv.reader(text, delimiter=DELIMITERS[options["delimiter"]])
    try:
        header = next(reader) if options["header"] else None
    except StopIteration:
        header = []
    except UnicodeDecodeError as exc:
        raise ConversionFailed("corrupt_file", f"The CSV is not UTF-8: {exc}") from exc
    return Table(_guard_text(reader), 0, header)


def _guard_text(rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
    try:
        yield from rows
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConversionFailed("corrupt_file", f"The CSV cannot be read: {exc}") from exc


def _read_json(src: IO[bytes], options: dict[str, Any]) -> Table:
    try:
        data = json.load(src)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ConversionFailed("corrupt_file", f"The JSON cannot be parsed: {exc}") from exc
    if not isinstance(data, list):
        raise ConversionFailed("unsupported_structure", "JSON input must be an array of objects or of arrays.")
    if data and all(isinstance(item, dict) for item in data):
        keys: dict[str, None] = {}
        for item in data:
            keys.update(dict.fromkeys(str(key) for key in item))
        header = list(keys)
        rows = ([_cell(item.get(key)) for key in header] for item in data)
        return Table(rows, len(data), header)
    if all(isinstance(item, list) for item in data):
        return Table(([_cell(value) for value in item] for item in data), len(data), None)
    raise ConversionFailed("unsupported_structure", "JSON input must be an array of objects or of arrays.")


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _read_xlsx(src: IO[bytes], options: dict[str, Any]) -> Table:
    from openpyxl import load_workbook

    size = src.seek(0, io.SEEK_END)
    src.seek(0)
    try:
        zip_guard(src, size)
    except Unprocessable as exc:
        raise ConversionFailed(exc.code, exc.detail) from exc
    try:
        workbook = load_workbook(src, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise ConversionFailed("corrupt_file", f"The workbook cannot be opened: {exc}") from exc
    sheet = workbook.worksheets[0]
    total = sheet.max_row or 0
    rows = ([_xlsx_value(value) for value in row] for row in sheet.iter_rows(values_only=True))
    header: list[str] | None = None
    if options["header"]:
        first = next(rows, None)
        header = [str(value) if value is not None else "" for value in (first or [])]
    return Table(rows, total, header)


def _xlsx_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


READERS = {"csv": _read_csv, "json": _read_json, "xlsx": _read_xlsx}


class _Counter:
    def __init__(self, table: Table, progress: Progress) -> None:
        self.table = table
        self.progress = progress
        self.count = 0

    def __iter__(self) -> Iterator[list[Any]]:
        step = max(1, self.table.total // 20) if self.table.total else 5000
        for row in _limit(self.table.rows):
            self.count += 1
            if self.count % step == 0:
                done = self.count / self.table.total if self.table.total else 0.5
                self.progress(min(95, 5 + int(90 * done)))
            yield row


def _write_csv(table: Table, dst: IO[bytes], options: dict[str, Any], progress: Progress) -> int:
    text = io.TextIOWrapper(dst, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, delimiter=DELIMITERS[options["delimiter"]])
    if table.header is not None:
        writer.writerow(table.header)
    rows = _Counter(table, progress)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    text.flush()
    text.detach()
    return rows.count


def _write_json(table: Table, dst: IO[bytes], options: dict[str, Any], progress: Progress) -> int:
    rows = _Counter(table, progress)
    dst.write(b"[")
    for index, row in enumerate(rows):
        item: Any = dict(zip(table.header, row, strict=False)) if table.header is not None else row
        dst.write((b"," if index else b"") + json.dumps(item, ensure_ascii=False, default=str).encode())
    dst.write(b"]")
    return rows.count


def _write_xlsx(table: Table, dst: IO[bytes], options: dict[str, Any], progress: Progress) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Sheet1")
    if table.header is not None:
        sheet.append(table.header)
    rows = _Counter(table, progress)
    for row in rows:
        sheet.append(row)
    workbook.save(dst)
    return rows.count


WRITERS = {"csv": _write_csv, "json": _write_json, "xlsx": _write_xlsx}


def make_run(source: str, target: str) -> Any:
    def run(src: IO[bytes], dst: IO[bytes], options: dict[str, Any], progress: Progress) -> dict[str, Any]:
        table = READERS[source](src, options)
        count = WRITERS[target](table, dst, options, progress)
        return {"rows": count, "columns": len(table.header) if table.header is not None else None}

    return run


def converters() -> list[Converter]:
    return [
        Converter(
            family="data",
            source=mime,
            target=target,
            output_mime=TARGETS[target],
            run=make_run(source, target),
            options=OPTIONS,
        )
        for mime, source in SOURCES.items()
        for target in TARGETS
        if target != source
    ]
