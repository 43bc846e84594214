"""Stage 4 of an import: the data rows under the header as drafts, one per activity, with
their parsed cells and any problems, before anything is resolved against a plan.

Merged cells carry their value into every cell they cover. A blank cell in a grouping
column (objective, unit or area, activity type, phase, `#`) carries the value of the row
above, as when a coordinator leaves the group cell empty or merged; `(none)` stops it.
Rows that only name a group (no activity) set that group for the rows below. An activity
cell of several bullet or numbered lines, each reading as an activity, is several activities.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cpflow.importers import cells
from cpflow.importers.cells import CellError, RowError
from cpflow.importers.columns import Columns
from cpflow.importers.readers import Sheet

FILL_DOWN = ("number", "objective", "objective_title", "unit", "unit_name", "type", "phase")


@dataclass
class Draft:
    """One activity row as read: spreadsheet row number, raw cells, parsed values."""

    row: int
    cells: list[Any]
    values: dict[str, Any] = field(default_factory=dict)
    marks: list[int] = field(default_factory=list)  # schedule columns marked (X) on this row
    errors: list[RowError] = field(default_factory=list)


@dataclass
class ReadRows:
    drafts: list[Draft]
    numbers_are_groups: bool  # the `#` column numbers groups of rows, not activities
    notes: list[str] = field(default_factory=list)


_LISTED = re.compile(r"^\s*(?:[" + cells.BULLETS + r"*\-–]|\d{1,2}(?:\.\d{1,2})+\.?|\d{1,2}[.)]|[a-z][.)])\s+(?=\S)")
_CODED = re.compile(r"^\s*\d{1,2}(?:\.\d{1,2})+")


def listed_lines(value: Any) -> list[str] | None:
    """The lines of a cell that lists several activities (each line a bullet or a number), or None."""
    text = cells.text(value)
    if text is None or "\n" not in text:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or not all(_LISTED.match(line) for line in lines):
        return None
    # `1.1 Map …` keeps its code; a bullet, `a)` or a single `1.` (numbering within the cell) goes
    return [line if _CODED.match(line) else _LISTED.sub("", line, count=1) for line in lines]


def read_rows(
    sheet: Sheet,
    columns: Columns,
    *,
    fill_down: Iterable[str] = (),
    date_format: str | None = None,
    states: tuple[str, ...] = (),
    status_words: dict[str, str] | None = None,
    progress: Callable | None = None,
) -> ReadRows:
    """Drafts for every activity row below the header, in sheet order."""
    grid = _unmerged(sheet, columns.header_row)
    implied = () if columns.tagged else FILL_DOWN  # a HXL table has one whole record per row
    carry_fields = [f for f in dict.fromkeys((*implied, *fill_down)) if f in columns.fields]
    carried: dict[str, Any] = {}
    numbers_carried = False
    drafts: list[Draft] = []
    split_rows: list[int] = []
    rows = range(columns.header_row + 1, len(grid))
    for index in progress(rows, len(rows)) if progress else rows:
        raw = grid[index]
        if not any(cells.text(c) for c in raw):
            continue
        row = list(raw)
        group_only = True
        for name, col in columns.fields.items():
            if name not in carry_fields and col < len(row) and cells.text(row[col]) is not None:
                group_only = False
                break
        for name in carry_fields:
            col = columns.fields[name]
            while len(row) <= col:
                row.append(None)
            if cells.is_none_marker(row[col]):
                row[col] = None
                carried[name] = None
            elif cells.text(row[col]) is None and carried.get(name) is not None:
                row[col] = carried[name]
                numbers_carried |= name == "number" and not group_only
            else:
                carried[name] = row[col]
        if group_only and not _has_marks(row, columns):
            continue
        title_col = columns.fields.get("title")
        several = listed_lines(row[title_col]) if title_col is not None and title_col < len(row) else None
        if several:
            split_rows.append(index + 1)
            for line in several:
                drafts.append(_draft(sheet.name, index, row[:title_col] + [line] + row[title_col + 1 :], columns,
                                     date_format, states, status_words or {}))  # fmt: skip
            continue
        drafts.append(_draft(sheet.name, index, row, columns, date_format, states, status_words or {}))
    notes = []
    if split_rows:
        shown = ", ".join(map(str, split_rows[:10])) + (" …" if len(split_rows) > 10 else "")
        notes.append(f"{len(split_rows)} activity cell{'s' if len(split_rows) > 1 else ''} listing several activities "
                     f"(one per bullet or numbered line) read as one activity per line: row{'s' if len(split_rows) > 1 else ''} {shown}")  # fmt: skip
    return ReadRows(drafts, numbers_carried, notes)


def _has_marks(row: list[Any], columns: Columns) -> bool:
    return any(col < len(row) and cells.marked(row[col]) for col, _ in columns.schedule)


def _unmerged(sheet: Sheet, header_row: int) -> list[list[Any]]:
    """The grid with each merged range's value copied into every cell it covers."""
    grid = sheet.rows
    if not sheet.merged:
        return grid
    grid = [list(r) for r in grid]
    for (r0, c0), (r1, c1) in sheet.merged:
        if r1 <= header_row or r0 >= len(grid):
            continue
        value = grid[r0][c0] if c0 < len(grid[r0]) else None
        for r in range(max(r0, header_row + 1), min(r1, len(grid) - 1) + 1):
            while len(grid[r]) <= c1:
                grid[r].append(None)
            for c in range(c0, c1 + 1):
                grid[r][c] = value
    return grid


_PARSERS: dict[str, Callable[..., Any]] = {
    "code": cells.text, "number": cells.text, "title": cells.title, "description": cells.text,
    "objective": cells.text, "objective_title": cells.text, "unit": cells.text, "unit_name": cells.text,
    "lead": cells.text, "contributors": lambda c: cells.split(c, commas=False), "phase": cells.text,
    "schedule": cells.timeline, "sectors": cells.split, "countries": cells.split, "cross_cutting": cells.split,
    "type": cells.text, "expected_result": cells.text, "notes": cells.text, "location": cells.text, "checklist": cells.lines,
    "indicator": cells.text, "baseline": lambda c: c, "target": lambda c: c, "budget": cells.text,
}  # fmt: skip


def _draft(sheet: str, index: int, row: list[Any], columns: Columns, date_format, states, status_words) -> Draft:
    draft = Draft(row=index + 1, cells=row)
    for name, col in columns.fields.items():
        cell = row[col] if col < len(row) else None
        try:
            if name in ("start", "due", "status_date"):
                value = cells.date(cell, date_format, columns.date_orders.get(name))
            elif name == "state":
                value = cells.state(cell, states, status_words)
            else:
                value = _PARSERS[name](cell)
        except CellError as exc:
            draft.errors.append(error(sheet, draft, columns, name, cell, str(exc)))
            continue
        draft.values[name] = value
    for col, _ in columns.schedule:
        if col < len(row) and cells.marked(row[col]):
            draft.marks.append(col)
    if not draft.values.get("title") and not draft.errors:
        draft.errors.append(
            error(sheet, draft, columns, "title", None, "the activity's text (this row has other cells filled but no activity)")
        )
    return draft


def error(sheet: str, draft: Draft, columns: Columns, name: str, value: Any, expected: str) -> RowError:
    """A RowError at the column of `name` (or the whole row when the field has no column)."""
    col = columns.fields.get(name)
    if col is None:
        return RowError(sheet, draft.row, "", "", value, expected)
    return RowError(sheet, draft.row, cells.column_letter(col), columns.labels[col], value, expected)
