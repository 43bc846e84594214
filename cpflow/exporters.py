"""`cpflow export`: a plan's activities as one table (xlsx or CSV) that `cpflow import`
reads back to the same activities.

Headers are names the importer's synonyms know; lists are `a; b`; a grouping column
(objective, unit, type, phase) that is empty on a row says `(none)` so the importer does
not carry the row above into it; columns empty for every activity are left out. Nothing
from user text can become a formula: xlsx cells are written as strings, CSV cells through
`cpflow.safe_output.safe_cell`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from cpflow import digests
from cpflow.errors import BadInput
from cpflow.importers.cells import NONE_MARKER
from cpflow.models import Activity, ChecklistItem, Objective, Unit
from cpflow.paths import output_file, write_atomic
from cpflow.safe_output import csv_writer, safe_cell

# (field, header); the importer maps each header back to its field.
COLUMNS = (
    ("code", "Code"), ("title", "Activity"), ("description", "Description"), ("objective", "Objective"),
    ("objective_title", "Objective title"), ("unit", "Unit"), ("unit_name", "Unit name"), ("lead", "Lead"),
    ("contributors", "Contributors"), ("phase", "Phase"), ("schedule", "Schedule"), ("start", "Start"),
    ("due", "Due"), ("sectors", "Sectors"), ("countries", "Countries"), ("cross_cutting", "Cross-cutting"),
    ("type", "Activity type"), ("expected_result", "Expected result"), ("state", "Status"),
    ("checklist", "Checklist"), ("notes", "Notes"),
)  # fmt: skip
ALWAYS = ("code", "title", "start", "due", "state")
GROUPING = ("objective", "objective_title", "unit", "unit_name", "type", "phase")
BUILT_IN = ("xlsx", "csv")


def plan_table(session: Session, slug: str) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """The plan's activities in plan order as (columns, rows); rows hold plain values."""
    from cpflow.read.lookup import find_plan

    plan = find_plan(session, slug)
    digests.check_reads(session.connection(), [plan.id])  # never export a cache that disagrees with the log
    unit = aliased(Unit)
    items = {
        code: text
        for code, text in session.execute(select(ChecklistItem.code, ChecklistItem.text).where(ChecklistItem.plan_id == plan.id))
    }
    query = (
        select(Activity, Objective.code, Objective.title, unit.key, unit.name)
        .outerjoin(Objective, Objective.id == Activity.objective_id)
        .outerjoin(unit, unit.id == Activity.unit_id)
        .where(Activity.plan_id == plan.id)
        .order_by(Activity.position, Activity.id)
    )
    rows = []
    for a, objective, objective_title, unit_key, unit_name in session.execute(query):
        rows.append({
            "code": a.code, "title": a.title, "description": a.description, "objective": objective,
            "objective_title": objective_title, "unit": unit_key, "unit_name": unit_name, "lead": a.lead,
            "contributors": list(a.contributors or []), "phase": a.phase, "schedule": list(a.schedule or []),
            "start": a.start, "due": a.due, "sectors": list(a.sectors or []), "countries": list(a.countries or []),
            "cross_cutting": list(a.cross_cutting or []), "type": a.activity_type,
            "expected_result": a.expected_result, "state": a.state,
            "checklist": "\n".join(f"{c}: {items[c]}" if c in items else c for c in a.checklist or []) or None,
            "notes": a.notes,
        })  # fmt: skip
    columns = [(name, header) for name, header in COLUMNS if name in ALWAYS or any(r[name] for r in rows)]
    for row in rows:
        for name in GROUPING:
            if not row[name]:
                row[name] = NONE_MARKER
    return columns, rows


def to_csv(columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow([header for _, header in columns])
    for row in rows:
        writer.writerow([safe_cell(row[name]) for name, _ in columns])
    return out.getvalue()


def write_xlsx(columns: list[tuple[str, str]], rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """One sheet, frozen header, autofilter; every text cell a string, dates as dates."""
    import datetime as dt

    import xlsxwriter

    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    book = xlsxwriter.Workbook(str(path), options)
    book.set_properties({"title": title, "created": dt.datetime(2000, 1, 1)})  # fixed: same plan, same bytes
    sheet = book.add_worksheet("Activities")
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    day = book.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
    widths = {
        "title": 60,
        "description": 50,
        "expected_result": 40,
        "objective_title": 40,
        "unit_name": 30,
        "checklist": 40,
        "notes": 30,
    }
    for col, (name, header) in enumerate(columns):
        sheet.set_column(col, col, widths.get(name, 14 if name in ("start", "due", "code", "state") else 20))
        sheet.write_string(0, col, header, bold)
    sheet.freeze_panes(1, 2)
    for r, row in enumerate(rows, start=1):
        for col, (name, _) in enumerate(columns):
            value = row[name]
            if isinstance(value, dt.date):
                sheet.write_datetime(r, col, dt.datetime.combine(value, dt.time()), day)
            elif value not in (None, "", []):
                sheet.write_string(r, col, "; ".join(value) if isinstance(value, list) else str(value), wrap)
    sheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
    book.close()


def export_plan(db, slug: str, fmt: str, out: str | Path | None, exporters: dict | None = None) -> tuple[str, str | None]:
    """Write the plan as `fmt` to `out` (default SLUG.FMT; `-` is stdout for CSV).
    Returns (where it went, the CSV text when it goes to stdout)."""
    exporters = exporters or {}
    if fmt not in BUILT_IN and fmt not in exporters:
        raise BadInput(f"--format: unknown format {fmt!r}; formats are {', '.join((*BUILT_IN, *sorted(exporters)))}")
    target = Path(f"{slug}.{fmt}") if out is None else out
    if str(target) == "-" and fmt != "csv":
        raise BadInput(f"--format {fmt} cannot go to standard output; give -o FILE")
    if str(target) != "-":
        target = output_file(target)
    with db.read() as session:
        columns, rows = plan_table(session, slug)
        from cpflow.read.lookup import find_plan

        title = find_plan(session, slug).title
    if fmt == "csv":
        content = to_csv(columns, rows)
        if str(target) == "-":
            return "-", content
        write_atomic(target, content.encode("utf-8"))
    elif fmt == "xlsx":
        write_xlsx(columns, rows, Path(target), title)
    else:
        import pandas as pd

        frame = pd.DataFrame([[_plain(row[name]) for name, _ in columns] for row in rows], columns=[h for _, h in columns])
        exporters[fmt](frame, Path(target))
    return str(target), None


def _plain(value: Any) -> Any:
    return "; ".join(value) if isinstance(value, list) else value
