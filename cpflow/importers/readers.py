"""Read a spreadsheet file into a plain grid of cells, one sheet at a time.

Excel and OpenDocument workbooks go through python-calamine (fast, read-only, never
evaluates a formula: a formula cell gives its last saved value); CSV through the csv
module, as UTF-8 or, failing that, Windows-1252 (what Excel writes on most Windows
machines). Plugins may add readers for other suffixes (the `register_importers` hook).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpflow.errors import BadInput

MAX_FILE_BYTES = 64 * 1024 * 1024
# Bounds on what a sheet may expand to, checked before it is expanded: a 1.5 MB xlsx can
# hold 1.5 GB of sheet XML, and calamine allocates every cell of a sheet's used range.
MAX_EXPANDED_BYTES = 256 * 1024 * 1024  # uncompressed sheet XML and shared strings of a workbook
MAX_ROWS = 200_000
MAX_COLUMNS = 1_000
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass
class Sheet:
    """One sheet: rows of cell values (row 0 is spreadsheet row 1, column 0 is A) and the
    merged ranges as ((first_row, first_col), (last_row, last_col)), 0-based inclusive."""

    name: str
    rows: list[list[Any]]
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)


class SpreadsheetUnreadable(BadInput):
    """The file is not a spreadsheet cpflow can read; nothing was written."""


class SpreadsheetTooLarge(SpreadsheetUnreadable):
    """The file is past one of the limits above; the message names it."""


def read_sheets(path: Path, sheet: str | None = None, plugin_readers: dict | None = None) -> list[Sheet]:
    """The sheets to look at: the named one, or every sheet in workbook order."""
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SpreadsheetUnreadable(f"{path}: no such file") from None
    except OSError as exc:
        raise SpreadsheetUnreadable(f"{path}: cannot read: {exc.strerror}") from None
    if path.is_dir():
        raise SpreadsheetUnreadable(f"{path}: is a directory, not a spreadsheet")
    if size > MAX_FILE_BYTES:
        raise SpreadsheetUnreadable(f"{path}: file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
    # Plugins register a format as "tsv", ".tsv" or ".TSV": all name the same suffix.
    plugin_readers = {"." + name.lstrip(".").lower(): read for name, read in (plugin_readers or {}).items()}
    if suffix in plugin_readers:
        rows = plugin_readers[suffix](path, sheet)
        return [Sheet(sheet or path.stem, [list(r) for r in rows])]
    if suffix in CSV_SUFFIXES:
        if sheet is not None and sheet != path.stem:
            raise SpreadsheetUnreadable(f"{path}: a CSV file has one sheet, {path.stem!r}; --sheet {sheet!r} does not exist")
        return [_bounded(path, Sheet(path.stem, _read_csv(path)))]
    if suffix in WORKBOOK_SUFFIXES:
        _check_expanded_size(path)
        return [_bounded(path, s) for s in _read_workbook(path, sheet)]
    known = ", ".join(WORKBOOK_SUFFIXES + CSV_SUFFIXES + tuple(plugin_readers))
    raise SpreadsheetUnreadable(f"{path}: cannot import {suffix or 'a file without a suffix'}; expected one of {known}")


def _check_expanded_size(path: Path) -> None:
    """Refuse a zipped workbook (xlsx, ods) whose sheets expand past MAX_EXPANDED_BYTES, or
    whose declared used range is past MAX_ROWS or MAX_COLUMNS, before anything is expanded."""
    import zipfile
    import zlib

    try:
        with zipfile.ZipFile(path) as book:
            parts = [i for i in book.infolist() if i.filename.startswith(("xl/worksheets/", "xl/sharedStrings"))
                     or i.filename == "content.xml"]  # fmt: skip
            expanded = sum(i.file_size for i in parts)
            if expanded > MAX_EXPANDED_BYTES:
                raise SpreadsheetTooLarge(
                    f"{path}: its sheets expand to {expanded:,} bytes; the limit is {MAX_EXPANDED_BYTES:,} "
                    "(split the workbook, or save only the work-plan sheet)"
                )
            for info in parts:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with book.open(info) as handle:
                        head = handle.read(4096).decode("utf-8", "replace")
                    _check_dimension(path, head)
    except zipfile.BadZipFile:
        return  # not a zip (.xls) or damaged: calamine says which
    except (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.LargeZipFile, zlib.error):
        return  # a damaged member: calamine names the problem when it reads the file


_DIMENSION = re.compile(r'<(?:\w+:)?dimension\s+ref="[A-Z]*\d*:?([A-Z]+)(\d+)"')


def _check_dimension(path: Path, head: str) -> None:
    match = _DIMENSION.search(head)
    if not match:
        return
    from xlsxwriter.utility import xl_cell_to_rowcol

    row, col = xl_cell_to_rowcol(match.group(1) + match.group(2))
    _limits(path, row + 1, col + 1, "a sheet's used range spans")


def _limits(path: Path, rows: int, columns: int, what: str) -> None:
    if rows > MAX_ROWS:
        raise SpreadsheetTooLarge(f"{path}: {what} {rows:,} rows; the limit is {MAX_ROWS:,} rows")
    if columns > MAX_COLUMNS:
        raise SpreadsheetTooLarge(f"{path}: {what} {columns:,} columns; the limit is {MAX_COLUMNS:,} columns")


def _bounded(path: Path, sheet: Sheet) -> Sheet:
    """The sheet, or SpreadsheetTooLarge naming the limit its rows or columns pass."""
    _limits(path, len(sheet.rows), max(map(len, sheet.rows), default=0), f'sheet "{sheet.name}" has')
    return sheet


def _read_workbook(path: Path, wanted: str | None) -> list[Sheet]:
    from python_calamine import CalamineError, CalamineWorkbook

    kind = "OpenDocument spreadsheet" if path.suffix.lower() == ".ods" else "Excel workbook"
    try:
        book = CalamineWorkbook.from_path(str(path))
        names = [m.name for m in book.sheets_metadata if str(m.typ).endswith("WorkSheet")] or list(book.sheet_names)
        if wanted is not None and wanted not in names:
            raise SpreadsheetUnreadable(f"{path}: no sheet named {wanted!r}; sheets are {', '.join(map(repr, names))}")
        sheets = []
        for name in [wanted] if wanted is not None else names:
            grid = book.get_sheet_by_name(name)
            merged = [tuple(map(tuple, r)) for r in (grid.merged_cell_ranges or [])]
            sheets.append(Sheet(name, grid.to_python(skip_empty_area=False), merged))
        return sheets
    except CalamineError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpreadsheetUnreadable(
            f"{path}: not a readable {kind} (damaged, truncated or another kind of file: {reason})"
        ) from None
    except (ValueError, OSError) as exc:
        raise SpreadsheetUnreadable(f"{path}: not a readable {kind}: {exc}") from None


def _read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise SpreadsheetUnreadable(f"{path}: not a CSV text file (it holds binary data; an Excel file needs the .xlsx suffix)")
    text = _decode(data, path)
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)))
    except csv.Error as exc:
        raise SpreadsheetUnreadable(f"{path}: malformed CSV: {exc}") from None


def _delimiter(text: str) -> str:
    """`,`, `;` (Excel in many European locales) or tab: the one that splits the first rows
    into the most rows of one same width (a `;` inside `a; b` cells splits unevenly; empty
    trailing cells do not count, so a lone `0;` does not make `;` the delimiter)."""
    from collections import Counter

    best, best_score = ",", (0, 0)
    for delimiter in (",", ";", "\t"):
        try:
            rows = [r for r, _ in zip(csv.reader(io.StringIO(text[: 256 * 1024], newline=""), delimiter=delimiter), range(50))]
        except csv.Error:
            continue
        widths = Counter(w for w in map(_filled_width, rows) if w > 1)
        if widths:
            width, count = widths.most_common(1)[0]
            if (count, width) > best_score:
                best, best_score = delimiter, (count, width)
    return best


def _filled_width(row: list[str]) -> int:
    """Cells up to the last non-empty one: `0;` split on `;` is one cell, not two."""
    width = len(row)
    while width and not row[width - 1].strip():
        width -= 1
    return width


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise SpreadsheetUnreadable(
            f"{path}: the text is neither UTF-8 nor Windows-1252 (invalid byte 0x{data[utf8_error.start]:02x} at "
            f'offset {utf8_error.start}); save it from Excel as "CSV UTF-8" and import again'
        ) from None
