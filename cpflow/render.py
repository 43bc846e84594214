"""The CLI's renderer: rows (lists of dicts with stable keys) as a terminal table, JSON or CSV.

JSON is the documented, stable interface; tables are for people and fit the terminal.
Inert cells, the CSV dialect and JSON conversion live in `cpflow.safe_output`.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from cpflow.safe_output import render_csv, render_json, to_jsonable

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
