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
from cpflow.importers import schedule
from cpflow.importers.schedule import BULLETS, When
from cpflow.safe_output import FORMULA_PREFIXES

NONE_MARKER = "(none)"
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
        return f"{where}: got {shown(self.value)}; expected {self.expected}"


def shown(value: Any) -> str:
    """A cell's value as a message quotes it (`'Q1 2025'`, `empty`); never the repr of an object."""
    if isinstance(value, (list, tuple)):
        value = ", ".join(v.label() if isinstance(v, When) else (text(v) or "") for v in value)
    value = value if isinstance(value, str) else text(value)
    return repr(value) if value else "empty"


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (the spreadsheet's own name for a column)."""
    from xlsxwriter.utility import xl_col_to_name

    return xl_col_to_name(index)


def text(cell: Any) -> str | None:
    """The cell as text, stripped; None when empty."""
    if type(cell) is str:  # most cells: the tests below cannot match
        return _stripped(cell)
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
    return _stripped(str(cell))


def _stripped(value: str) -> str | None:
    """Text stripped, without the `'` cpflow's CSV export puts before formula-like text; None when blank."""
    value = value.strip()
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


_SLASHED = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")


def date(cell: Any, date_format: str | None = None, order: str | None = None) -> dt.date | None:
    """A date cell, `YYYY-MM-DD`, the mapping's `date_format`, or `15/01/2025` when the
    column's `order` ("dmy" or "mdy") was read from its cells."""
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
    slashed = _SLASHED.match(value)
    if slashed and order:
        a, b, year = (int(g) for g in slashed.groups())
        day, month = (a, b) if order == "dmy" else (b, a)
        try:
            return dt.date(year, month, day)
        except ValueError:
            raise CellError(f"a real date ({'day/month/year' if order == 'dmy' else 'month/day/year'})") from None
    try:
        return parse_date(value)
    except ValueError as exc:
        if "not a real date" in str(exc):
            raise CellError("a real date (YYYY-MM-DD)") from None
        raise CellError("a date (YYYY-MM-DD, or a date cell)") from None


_STATED_DATE = re.compile(
    r"\b(?:as\s+of|as\s+at|updated(?:\s+on)?|last\s+updated(?:\s+on)?|status\s+(?:as\s+of|on)|date)\s*:?\s*"
    r"(\d{4}-\d{2}-\d{2}|\d{1,2}\s+[A-Za-z]+\.?,?\s+\d{4}|[A-Za-z]+\.?\s+\d{1,2},?\s+\d{4})",
    re.I,
)


def stated_date(line: str) -> dt.date | None:
    """The date a title row states the sheet is as of: `as of 30 June 2025`, `updated 2025-06-30`."""
    from cpflow.importers.schedule import MONTHS

    match = _STATED_DATE.search(line)
    if not match:
        return None
    found = match.group(1)
    try:
        if found[:4].isdigit():
            return dt.date.fromisoformat(found)
        words = re.findall(r"[A-Za-z]+|\d+", found)
        numbers = [int(w) for w in words if w.isdigit()]
        month = next((MONTHS.get(w.casefold()) for w in words if not w.isdigit()), None)
        if month is None or len(numbers) != 2:
            return None
        return dt.date(numbers[1], month, numbers[0])
    except ValueError:
        return None


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
    """The schedule tokens of a timeline cell (see `schedule.timeline`)."""
    value = text(cell)
    return schedule.timeline(value) if value is not None else []


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
