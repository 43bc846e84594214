"""`cpflow export PLAN --format hxl [--table activities|indicators|funding]`: HXL-tagged
CSV tables (a human header row, then the HXL hashtag row) for OCHA, HDX and the cluster
system. Each table has a HXL schema in `hxl_schemas/` (required tags, data types, value
lists) that libhxl validates; docs/exports.md lists every column.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from cpflow.errors import BadInput
from cpflow.paths import write_atomic
from cpflow.safe_output import csv_writer, safe_cell

SCHEMAS = Path(__file__).parent / "hxl_schemas"
CLUSTER = "Protection - Child Protection"

# (key, human header, HXL hashtag) per table.
TABLES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "activities": (
        ("code", "Activity code", "#activity+code"), ("title", "Activity", "#activity+name"),
        ("lead", "Lead organisation", "#org+lead"), ("contributors", "Implementing partners", "#org+impl"),
        ("cluster", "Cluster", "#sector+cluster"), ("sectors", "Subsector", "#subsector"),
        ("countries", "Country code", "#country+code+v_iso2"), ("country_names", "Country", "#country+name"),
        ("objective", "Objective", "#activity+objective"), ("unit", "Working group", "#org+coordination+name"),
        ("state", "Status", "#status"), ("start", "Start", "#date+start"), ("due", "End", "#date+end"),
        ("indicator", "Indicator", "#indicator+name"), ("targeted", "Targeted", "#targeted"),
        ("reached", "Reached", "#reached"),
    ),
    "indicators": (
        ("code", "Indicator code", "#indicator+code"), ("name", "Indicator", "#indicator+name"),
        ("level", "Level", "#indicator+type"), ("of", "Measures", "#indicator+of"),
        ("measure", "Unit", "#indicator+unit"), ("aggregation", "Aggregation", "#indicator+aggregation"),
        ("period", "Period", "#date+period"), ("period_start", "Period start", "#date+start"),
        ("period_end", "Period end", "#date+end"), ("baseline", "Baseline", "#indicator+baseline+num"),
        ("target", "Target", "#indicator+target+num"), ("actual", "Actual", "#indicator+value+num"),
        ("cumulative", "Cumulative to date", "#indicator+cumulative+num"),
    ),
    "funding": (
        ("unit", "Unit code", "#org+coordination+code"), ("unit_name", "Unit", "#org+coordination+name"),
        ("leads", "Lead organisations", "#org+lead"), ("period", "Period", "#date+period"),
        ("period_start", "Period start", "#date+start"), ("period_end", "Period end", "#date+end"),
        ("currency", "Currency", "#currency"), ("budget", "Budget", "#value+required"),
        ("received", "Received", "#value+funding"), ("gap", "Gap", "#value+gap"),
    ),
}  # fmt: skip


def hxl_rows(session, slug: str, table: str, today: dt.date | None = None) -> list[dict[str, Any]]:
    """The table's rows as plain values (dates as ISO text, lists joined with `; `)."""
    from cpflow.clock import today as clock_today
    from cpflow.exports.iati import _country_codes
    from cpflow.read.frames import load_frames
    from cpflow.read.lookup import find_plan
    from cpflow.reports.iptt import iptt_rows

    if table not in TABLES:
        raise BadInput(f"unknown HXL table {table!r}; tables are {', '.join(TABLES)}", field="table")
    plan = find_plan(session, slug)
    as_of = max(today or clock_today(), plan.start)
    frames = load_frames(session, plans=(slug,), as_of=as_of)
    iptt = iptt_rows(frames, as_of)
    if table == "indicators":
        numbers = ("baseline", "target", "actual", "cumulative")
        return [{**row, **{key: _number(row[key]) for key in numbers}, "period_start": _iso(row["period_start"]),
                 "period_end": _iso(row["period_end"])} for row in iptt]  # fmt: skip
    if table == "funding":
        units = {key: (name, leads) for key, name, leads in zip(frames.units["key"], frames.units["name"], frames.units["leads"])}
        b = frames.budgets
        rows = []
        for unit, period, start, end, currency, budget, received in zip(
            b["unit"], b["period"], b["period_start"], b["period_end"], b["currency"], b["budget_minor"], b["received_minor"],
            strict=True,
        ):  # fmt: skip
            budget, received = _minor(budget), _minor(received)
            rows.append({
                "unit": unit, "unit_name": units.get(unit, (unit, []))[0], "leads": "; ".join(units.get(unit, ("", []))[1] or []),
                "period": period, "period_start": _iso(start), "period_end": _iso(end), "currency": currency,
                "budget": _money(budget), "received": _money(received),
                "gap": _money(budget - received) if budget is not None and received is not None else None,
            })  # fmt: skip
        return rows
    reached = {}
    for row in iptt:
        if row["level"] == "activity" and (row["actual"] is not None or row["of"] not in reached):
            reached[row["of"]] = row
    rows = []
    codes = _country_codes()
    for a in frames.activities.itertuples(index=False):
        indicator = reached.get(f"activity:{a.code}")
        countries = [codes.get(" ".join(str(c).split()).casefold()) for c in a.countries or []]
        rows.append({
            "code": a.code, "title": a.title, "lead": a.lead, "contributors": "; ".join(a.contributors or []),
            "cluster": CLUSTER, "sectors": "; ".join(a.sectors or []),
            "countries": "; ".join(c for c in countries if c), "country_names": "; ".join(a.countries or []),
            "objective": a.objective, "unit": a.unit, "state": a.state, "start": _iso(a.start), "due": _iso(a.due),
            "indicator": indicator["name"] if indicator else None,
            "targeted": _number(indicator["target"]) if indicator else None,
            "reached": _number(indicator["cumulative"]) if indicator else None,
        })  # fmt: skip
    return rows


def to_hxl_csv(table: str, rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    columns = TABLES[table]
    writer.writerow([header for _, header, _ in columns])
    writer.writerow([tag for _, _, tag in columns])
    for row in rows:
        writer.writerow([safe_cell(_blank(row.get(key))) for key, _, _ in columns])
    return out.getvalue()


def _blank(value: Any) -> Any:
    """A missing value from a pandas frame (NaN, NaT) is an empty cell, never the text `nan`."""
    import pandas as pd

    return None if pd.api.types.is_scalar(value) and pd.isna(value) else value


def validate_hxl(path: str | Path, table: str) -> list[str]:
    """libhxl's verdict on a HXL file against the table's shipped schema: error messages."""
    import hxl

    errors: list[str] = []

    def collect(error) -> None:
        errors.append(
            f"row {error.row.row_number if error.row else '?'}: {error.rule.tag_pattern}: {error.message} ({error.value!r})"
        )

    options = hxl.InputOptions(allow_local=True)
    schema = hxl.schema(hxl.data(str(SCHEMAS / f"{table}.csv"), options), callback=collect)
    schema.validate(hxl.data(str(path), options))
    return errors


def export_hxl(db, slug: str, table: str, out: str | Path | None) -> tuple[str, str | None]:
    """Write the HXL table to `out` (default SLUG-TABLE.csv; `-` is standard output)."""
    with db.read() as session:
        content = to_hxl_csv(table, hxl_rows(session, slug, table))
    if out is not None and str(out) == "-":
        return "-", content
    target = Path(out) if out is not None else Path(f"{slug}-{table}.csv")
    write_atomic(target, content.encode("utf-8"))
    return str(target), None


def _iso(value) -> str | None:
    import pandas as pd

    if value is None or pd.isna(value):
        return None
    return (value.date() if hasattr(value, "date") else value).isoformat()


def _minor(value) -> int | None:
    import pandas as pd

    return None if value is None or pd.isna(value) else int(value)


def _money(minor: int | None) -> str | None:
    if minor is None:
        return None
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def _number(value) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else f"{float(value):g}"
