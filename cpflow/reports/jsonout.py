"""The JSON form of a report: a documented, stable shape (docs/reports.md).

Keys keep their order; dates are ISO text, money is a number in currency units, `pct`
values are fractions rounded to 4 decimals. The same report gives the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

from cpflow.reports import cells
from cpflow.reports.model import Report, Section

SHAPE_VERSION = 1


def _plain(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "money":
        return cells.money_units(value)
    if kind == "date":
        return value.isoformat()
    return value


def section_dict(section: Section) -> dict:
    keys = [c.key for c in section.columns]
    kinds = [c.kind for c in section.columns]
    rows = [{k: _plain(v, kind) for k, v, kind in zip(keys, row, kinds)} for row in cells.rows(section)]
    chart = section.chart
    return {
        "key": section.key,
        "title": section.title,
        "note": section.note,
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind, "rag": c.rag} for c in section.columns],
        "rows": rows,
        "chart": None if chart is None else {
            "kind": chart.kind, "title": chart.title, "category": chart.category,
            "series": list(chart.series), "value_kind": chart.value_kind,
        },
    }  # fmt: skip


def report_dict(report: Report) -> dict:
    plans = [
        {"slug": p.slug, "title": p.title, "currency": p.currency, "start": _date(p.start), "end": _date(p.end)}
        for p in report.plans.itertuples(index=False)
    ]
    return {
        "report": report.kind,
        "version": SHAPE_VERSION,
        "title": report.title,
        "as_of": report.as_of.isoformat(),
        "since": report.since.isoformat() if report.since else None,
        "plans": plans,
        "about": report.about,
        "figures": [
            {"key": f.key, "label": f.label, "value": f.value, "kind": f.kind, "detail": f.detail} for f in report.figures
        ],
        "sections": [section_dict(s) for s in report.sections],
    }


def _date(value: Any) -> str:
    return value.isoformat()[:10]


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def render(report: Report) -> str:
    return dumps(report_dict(report))
