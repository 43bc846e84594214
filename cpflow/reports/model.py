"""The report object every format renders: figures, sections (a table and an optional
chart) and the facts about how it was built. Builders make it; writers only read it.

Cell conventions, the same in every section:

- `pct` columns hold fractions (0.152 is 15.2%);
- `money` columns hold integer minor units (cents) and take their currency from the
  section's `currency` column;
- `date` columns hold dates (or pandas timestamps), never text;
- a column with a `rag` scale is coloured red, amber or green by its value.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

KINDS = ("text", "int", "number", "pct", "money", "date")
CHART_KINDS = ("stacked_bar", "bar", "line")

# Value -> colour for text scales; (lower bound, colour) from the highest down for numbers.
RAG_SCALES: dict[str, dict[str, str] | tuple[tuple[float, str], ...]] = {
    "status": {
        "completed": "green", "on track": "green", "met": "green",
        "stale": "amber", "no data": "amber", "not started": "amber", "due now": "amber",
        "overdue": "red", "off track": "red", "missed": "red",
    },
    "severity": {"error": "red", "warning": "amber", "info": "green"},
    # Funding gap as a share of the budget: half or more unfunded is red.
    "gap": ((0.5, "red"), (0.25, "amber"), (float("-inf"), "green")),
}  # fmt: skip
RAG_COLOURS = {"red": ("#f8d0cc", "#8a1c12"), "amber": ("#fde7b0", "#6b4a00"), "green": ("#d3ecd6", "#1d5a2a")}


def rag_colour(scale: str | None, value: Any) -> str | None:
    """'red', 'amber', 'green' or None for a value on a named scale."""
    if scale is None or value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    rules = RAG_SCALES[scale]
    if isinstance(rules, dict):
        return rules.get(str(value))
    return next(colour for bound, colour in rules if float(value) >= bound)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "section"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"
    rag: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key!r}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.rag is not None and self.rag not in RAG_SCALES:
            raise ValueError(f"column {self.key!r}: unknown RAG scale {self.rag!r}")


@dataclass(frozen=True)
class Chart:
    """A native chart in xlsx and an inline SVG in HTML.

    `category` names the column of labels, `series` the numeric columns drawn (one bar
    segment or line each). The data is the section's table unless `data` is given.
    """

    kind: str
    title: str
    category: str
    series: tuple[str, ...]
    value_kind: str = "int"
    data: pd.DataFrame | None = None

    def __post_init__(self):
        if self.kind not in CHART_KINDS:
            raise ValueError(f"chart {self.title!r}: kind must be one of {', '.join(CHART_KINDS)}")
        object.__setattr__(self, "series", tuple(self.series))


@dataclass
class Section:
    """One view: a title, a table and an optional chart.

    Columns are inferred from the table's dtypes when not given. A `detail` section is a
    full listing: xlsx, CSV and JSON carry every row, HTML and Markdown the first rows.
    """

    title: str
    table: pd.DataFrame
    chart: Chart | None = None
    key: str = ""
    columns: tuple[Column, ...] = ()
    note: str | None = None
    detail: bool = False

    def __post_init__(self):
        # The key names files (CSV) and anchors (HTML): always a safe slug.
        self.key = slug(self.key or self.title)
        self.columns = tuple(self.columns) or tuple(_infer(name, self.table[name]) for name in self.table.columns)
        missing = [c.key for c in self.columns if c.key not in self.table.columns]
        if missing:
            raise ValueError(f"section {self.title!r}: no column {missing[0]!r} in its table")
        if any(c.kind == "money" for c in self.columns) and "currency" not in self.table.columns:
            raise ValueError(f"section {self.title!r}: money columns need a 'currency' column")
        if self.chart is not None:
            data = self.chart_data
            for name in (self.chart.category, *self.chart.series):
                if name not in data.columns:
                    raise ValueError(f"chart {self.chart.title!r}: no column {name!r} in its data")

    @property
    def chart_data(self) -> pd.DataFrame:
        if self.chart is None:
            raise ValueError(f"section {self.title!r} has no chart")
        return self.chart.data if self.chart.data is not None else self.table

    def label(self, key: str) -> str:
        return next((c.label for c in self.columns if c.key == key), key)


def _infer(name: str, series: pd.Series) -> Column:
    label = name.replace("_", " ").capitalize()
    if pd.api.types.is_bool_dtype(series):
        return Column(name, label)
    if pd.api.types.is_integer_dtype(series):
        return Column(name, label, "int")
    if pd.api.types.is_float_dtype(series):
        return Column(name, label, "number")
    if pd.api.types.is_datetime64_any_dtype(series):
        return Column(name, label, "date")
    first = series.dropna()
    if len(first) and isinstance(first.iloc[0], dt.date):
        return Column(name, label, "date")
    return Column(name, label)


@dataclass(frozen=True)
class Figure:
    """A headline number: `value` is an int, or a fraction for `pct`; `detail` says of what."""

    key: str
    label: str
    value: int | float | None
    kind: str = "int"
    detail: str | None = None


@dataclass
class Report:
    """A built report: what every writer renders."""

    kind: str
    title: str
    as_of: dt.date
    since: dt.date | None
    plans: pd.DataFrame  # slug, title, currency, start, end
    figures: list[Figure] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    # How it was built (rule selection, …); carried into JSON and the pack manifest.
    about: dict[str, Any] = field(default_factory=dict)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    @property
    def period_text(self) -> str:
        return f"{self.since.isoformat()} to {self.as_of.isoformat()}" if self.since else f"as of {self.as_of.isoformat()}"
