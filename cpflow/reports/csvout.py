"""CSV, one file per table: `figures.csv` and `<section>.csv` in a folder.

Values are machine-readable (ISO dates, money in currency units, fractions for `pct`);
text that a spreadsheet would run as a formula is prefixed with a quote
(`cpflow.safe_output.safe_cell`, the OWASP convention).
"""

from __future__ import annotations

import io
from pathlib import Path

from cpflow.reports import cells
from cpflow.reports.model import Report, Section
from cpflow.safe_output import csv_writer, safe_cell


def _value(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "money":
        return str(cells.money_units(value))
    if kind in ("int", "number", "pct"):
        return str(value)
    if kind == "date":
        return value.isoformat()
    return safe_cell(value)


def section_csv(section: Section) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow([safe_cell(c.key) for c in section.columns])
    kinds = [c.kind for c in section.columns]
    writer.writerows([_value(v, k) for v, k in zip(row, kinds)] for row in cells.rows(section))
    return out.getvalue()


def figures_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(["key", "label", "value", "kind", "detail"])
    for f in report.figures:
        writer.writerow([f.key, safe_cell(f.label), "" if f.value is None else f.value, f.kind, safe_cell(f.detail)])
    return out.getvalue()


def write(report: Report, folder: Path) -> list[Path]:
    """Write every table of the report into `folder`; returns the files in write order."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [(folder / "figures.csv", figures_csv(report))]
    files += [(folder / f"{s.key}.csv", section_csv(s)) for s in report.sections]
    for path, text in files:
        path.write_text(text, encoding="utf-8", newline="")
    return [path for path, _ in files]
