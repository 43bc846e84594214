"""The one path to inert output: cells no spreadsheet evaluates, the one CSV dialect, and
JSON conversion. Every writer (CLI, reports, exports, importer rejects) uses it.

A cell that a spreadsheet would run as a formula is prefixed with a quote (the OWASP
CSV-injection convention).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
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
