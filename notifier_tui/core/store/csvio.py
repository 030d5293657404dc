"""The client CSV format: reading it row by row, and writing it back out.

Header ``phone,tag,timezone[,operator_code]``; export writes all four columns
so an export imports back unchanged.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from notifier_tui.core.errors import ValidationError

IMPORT_HEADER = ("phone", "tag", "timezone")
EXPORT_HEADER = (*IMPORT_HEADER, "operator_code")

BAD_ROW = "__bad__"
"""The key of a row that could not be split into the header's columns."""


def read_client_csv(path: Path | str) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, row)`` from a client CSV, checking the header first.

    Streams: one row in memory at a time.

    Raises:
        ValidationError: the file cannot be read, is not UTF-8, or has a bad header.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            try:
                yield from _csv_rows(reader, path)
            except csv.Error as err:
                # A field over csv's size limit, say: bad input, not a crash.
                raise ValidationError(
                    "file", f"cannot read {path} at line {reader.line_num}: {err}"
                ) from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise ValidationError("file", f"cannot read {path}: {reason}") from None


def _csv_rows(reader: Any, path: Path | str) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ValidationError("file", f"{path} is empty; expected a header line") from None
    if tuple(header[:3]) != IMPORT_HEADER or header[3:] not in ([], ["operator_code"]):
        raise ValidationError(
            "header", f"must be phone,tag,timezone[,operator_code], got {','.join(header)}"
        )
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield reader.line_num, {BAD_ROW: f"expected {len(header)} columns, got {len(values)}"}
            continue
        yield reader.line_num, dict(zip(header, values, strict=True))


def write_client_csv(path: Path | str, rows: Iterable[tuple[Any, ...]]) -> int:
    """Write ``(phone, tag, timezone, operator_code)`` rows under the export header."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(EXPORT_HEADER)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
