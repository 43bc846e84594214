"""Turn spreadsheet cells into field values, with a message a coordinator can act on.

Each parser takes the raw cell (text, number, date or empty) and returns the value or
raises CellError(expected). Nothing here is ever evaluated: a cell that looks like a
formula is text. The `'` that cpflow's own CSV export puts before such text is removed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from cpflow.dates import parse_date
from cpflow.importers.columns import When, when_of
from cpflow.safe_output import FORMULA_PREFIXES

NONE_MARKER = "(none)"
BULLETS = "·•▪◦●‣∙"
_BULLET = re.compile(rf"^\s*[{BULLETS}]\s*")
_NOT_MARKED = {"", "-", "–", "no", "n", "0", "false", "none", NONE_MARKER}

STATUS_WORDS = {
    "proposed": ("proposed", "not started", "not yet started", "planned", "pending", "to do", "todo", "pipeline",
                 "new", "draft"),
    "endorsed": ("endorsed", "agreed", "approved", "validated", "confirmed"),
    "in_progress": ("in progress", "in_progress", "ongoing", "on going", "on-going", "started", "underway",
                    "under way", "in process", "partially completed", "partially done", "on track"),
    "completed": ("completed", "complete", "done", "achieved", "finished", "accomplished", "closed"),
    "dropped": ("dropped", "cancelled", "canceled", "discontinued", "abandoned", "not done", "removed"),
}  # fmt: skip


class CellError(ValueError):
    """A cell that does not hold what its column needs; the message says what was expected."""


@dataclass(frozen=True)
class RowError:
    """One problem, located as a coordinator finds it in their spreadsheet."""

    sheet: str
    row: int  # spreadsheet row number, 1-based
    column: str  # column letter, "" when the problem is the row as a whole
    header: str
    value: Any
    expected: str

    def describe(self, source: str) -> str:
        where = f'{source}: sheet "{self.sheet}" row {self.row}'
        if self.column:
            where += f', column {self.column} "{self.header}"'
        shown = "empty" if self.value in (None, "") else repr(text(self.value) if not isinstance(self.value, str) else self.value)
        return f"{where}: got {shown}; expected {self.expected}"


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (the spreadsheet's own name for a column)."""
    from xlsxwriter.utility import xl_col_to_name

    return xl_col_to_name(index)


def text(cell: Any) -> str | None:
    """The cell as text, stripped; None when empty."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float):
        if cell != cell:
            return None
        return str(int(cell)) if cell.is_integer() else f"{cell:.15g}"
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time() else cell.isoformat(sep=" ")
    if isinstance(cell, dt.date):
        return cell.isoformat()
    value = str(cell).strip()
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_PREFIXES:
        value = value[1:]
    return value or None


def is_none_marker(cell: Any) -> bool:
    value = text(cell)
    return value is not None and value.casefold() == NONE_MARKER


def title(cell: Any) -> str | None:
    """Activity text with a leading bullet removed."""
    value = text(cell)
    if value is None:
        return None
    return _BULLET.sub("", value) or None


def date(cell: Any, date_format: str | None = None) -> dt.date | None:
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    value = text(cell)
    if value is None:
        return None
    if date_format:
        try:
            return dt.datetime.strptime(value, date_format).date()
        except ValueError:
            raise CellError(f"a date written as {date_format}") from None
    try:
        return parse_date(value)
    except ValueError as exc:
        if "not a real date" in str(exc):
            raise CellError("a real date (YYYY-MM-DD)") from None
        raise CellError("a date (YYYY-MM-DD, or a date cell)") from None


def split(cell: Any, commas: bool = True) -> list[str]:
    """A list from `a; b`, one item per line, bullets, and (unless told not to) commas."""
    value = text(cell)
    if value is None:
        return []
    pattern = r"[;\n" + BULLETS + (",]" if commas else "]")
    return [item.strip() for item in re.split(pattern, value) if item.strip()]


def lines(cell: Any) -> list[str]:
    """One item per line (for cells whose items may hold `;` and `,`)."""
    value = text(cell)
    return [line.strip() for line in value.splitlines() if line.strip()] if value else []


def state(cell: Any, states: tuple[str, ...], extra: dict[str, str]) -> str | None:
    value = text(cell)
    if value is None:
        return None
    word = " ".join(value.casefold().replace("_", " ").split()).rstrip(".")
    for key, target in extra.items():
        if key.casefold() == word:
            return target
    for candidate in states:
        if candidate.replace("_", " ").casefold() == word:
            return candidate
    for target, words in STATUS_WORDS.items():
        if word in words and target in states:
            return target
    examples = "Not started, Agreed, Ongoing, Done, Cancelled"
    raise CellError(f"a status such as {examples} (or a state: {', '.join(states)})")


def marked(cell: Any) -> bool:
    """An X-mark cell of a quarter or month column."""
    value = text(cell)
    return value is not None and value.casefold() not in _NOT_MARKED


def timeline(cell: Any) -> list[When]:
    """`Q1-Q2`, `Q2/ Q3`, `All quarters`, `Sept-Nov`, `2015-09; 2015-10`, or period keys."""
    value = text(cell)
    if value is None:
        return []
    out: list[When] = []
    for part in re.split(r"[;,\n&" + BULLETS + r"]|\band\b", value):
        part = part.strip()
        if not part:
            continue
        low = " ".join(part.casefold().split())
        if low in ("all quarters", "all year", "throughout the year", "ongoing", "continuous", "year round"):
            out.extend(When("quarter", n) for n in range(1, 5))
            continue
        whole = when_of(part)
        if whole is not None:
            out.append(whole)
            continue
        pieces = [p.strip() for p in re.split(r"\s*(?:/|–|-|\bto\b)\s*", part) if p.strip()]
        found = [when_of(p) for p in pieces]
        if len(pieces) > 1 and all(found):
            if len(found) == 2 and "/" not in part and found[0].kind == found[1].kind:
                out.extend(_span(found[0], found[1]))
            else:
                out.extend(found)
            continue
        out.append(When("key", text=part))
    return out


def _span(first: When, last: When) -> list[When]:
    """Q1-Q3 -> Q1, Q2, Q3; Nov-Feb -> Nov, Dec, Jan, Feb (wrapping the year)."""
    size = 4 if first.kind == "quarter" else 12
    out, number, year = [], first.number, first.year
    for _ in range(size):
        out.append(When(first.kind, number, year))
        if number == last.number and (last.year is None or year is None or year == last.year):
            break
        number += 1
        if number > size:
            number = 1
            year = year + 1 if year is not None else None
    return out


def number(cell: Any) -> float | None:
    """A number from a number cell or text; None when the cell is empty or text."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, (int, float)):
        return float(cell)
    value = text(cell)
    if value is None:
        return None
    try:
        return float(value.replace(",", ""))
    except ValueError:
        return None
