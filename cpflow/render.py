"""Render rows (lists of dicts with stable keys) as a table, JSON or CSV.

JSON is the documented, stable interface; tables are for people. CSV cells that a
spreadsheet would run as a formula are prefixed with a quote (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def to_jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def render_json(data: Any) -> str:
    return json.dumps(to_jsonable(data), ensure_ascii=False, indent=2)


def safe_cell(value: Any) -> str:
    """Text for a CSV cell that no spreadsheet will evaluate."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(to_jsonable(value), ensure_ascii=False)
    text = to_jsonable(value) if isinstance(value, dt.date) else value
    text = str(text)
    if text.startswith(FORMULA_PREFIXES) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_writer(out):
    """The one CSV dialect cpflow writes: RFC 4180, CRLF between rows, so any cell holding
    a line break or a bare CR is quoted and can never split a row (or start a new one
    with a formula)."""
    return csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)


def render_csv(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    columns = list(columns or (rows[0].keys() if rows else []))
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) for c in columns])
    return out.getvalue()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _plain(value: Any) -> str:
    """A cell for people: one line, and control characters shown as escapes so that text
    from a plan can never drive the terminal (ESC sequences, BEL)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    text = " ".join(str(to_jsonable(value)).split())
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def render_table(rows: Sequence[dict], columns: Sequence[str] | None = None, *, width: int | None = None) -> str:
    """An aligned text table; long cells are shortened with an ellipsis to fit the terminal."""
    columns = list(columns or (rows[0].keys() if rows else []))
    if not rows:
        return "(none)\n"
    if width is None:
        # Fit a terminal; written to a file or a pipe, a table keeps every character.
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 1_000_000
    cells = [[_plain(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    budget = max(width - 2 * (len(columns) - 1), 20)
    while sum(widths) > budget and max(widths) > 12:
        widest = widths.index(max(widths))
        widths[widest] -= 1

    def fit(text: str, w: int) -> str:
        return text if len(text) <= w else text[: max(w - 1, 0)] + "…"

    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(fit(v, w).ljust(w) for v, w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n"


def render_record(record: dict) -> str:
    """One record as `key: value` lines (for `show`)."""
    width = max(len(k) for k in record)
    return "\n".join(f"{k.ljust(width)}  {_plain(v)}" for k, v in record.items()) + "\n"


def render(rows: Sequence[dict], fmt: str, columns: Sequence[str] | None = None) -> str:
    if fmt == "json":
        return render_json(list(rows)) + "\n"
    if fmt == "csv":
        return render_csv(rows, columns)
    return render_table(rows, columns)
