"""Cell values in one place: a section's columns as plain Python values (for JSON, CSV
and xlsx) and as display text (for HTML and Markdown)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from cpflow.money import MINOR_PER_UNIT, json_amount
from cpflow.reports.model import Column, Section

PCT_DIGITS = 4


def column_values(series: pd.Series, kind: str) -> list[Any]:
    """One column as plain values: None for missing, dates as `date`, money in minor units."""
    if kind == "date":
        stamps = pd.to_datetime(series)
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_localize(None)  # the date where the time was recorded
        # numpy makes datetime.date objects of whole days, and None of NaT
        return stamps.to_numpy(dtype="datetime64[D]").astype(object).tolist()
    values = _plain_values(series)
    if kind in ("int", "money"):
        return values if _numpy_kind(series) in ("i", "u") else [None if v is None else int(v) for v in values]
    if kind == "pct":
        return [None if v is None or _nan(v) else round(float(v), PCT_DIGITS) for v in values]
    if kind == "number":
        return [None if v is None or _nan(v) else _number(v) for v in values]
    return [v if v.__class__ is str else _text(v) for v in values]


def _plain_values(series: pd.Series) -> list[Any]:
    """The series as Python objects, None where missing. Plain numpy integers and floats
    are converted without pandas' masking, which costs more than the conversion on the
    many short columns of a matrix."""
    kind = _numpy_kind(series)
    if kind in ("i", "u", "b"):
        return series.tolist()  # no missing value in a numpy integer or bool column
    if kind == "f":
        return [None if v != v else v for v in series.tolist()]  # NaN is the one float unequal to itself
    return series.astype(object).where(series.notna(), None).tolist()


def _numpy_kind(series: pd.Series) -> str:
    """The numpy kind of a plain numpy column ('i', 'u', 'b', 'f', …); '' for pandas' own
    dtypes (nullable Int64, categories), whose missing values are pd.NA."""
    return series.dtype.kind if isinstance(series.dtype, np.dtype) else ""


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else round(number, 6)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()[:10]
    return str(value)


ROWS_AT_ONCE = 10_000  # rows converted together: large listings are never held as values whole


def rows(section: Section, columns: tuple[Column, ...] | None = None, limit: int | None = None) -> Iterator[tuple]:
    """The section's rows as tuples of plain values, in table order (converted a block of
    rows at a time)."""
    columns = columns or section.columns
    table = section.table if limit is None else section.table.head(limit)
    if not columns:
        return iter(())
    return _blocks(table, columns)


def _blocks(table: pd.DataFrame, columns: tuple[Column, ...]) -> Iterator[tuple]:
    for start in range(0, len(table), ROWS_AT_ONCE):
        block = table.iloc[start : start + ROWS_AT_ONCE]
        yield from zip(*[column_values(block[c.key], c.kind) for c in columns])


def currencies(section: Section, limit: int | None = None) -> list[str | None]:
    if "currency" not in section.table.columns:
        return []
    table = section.table if limit is None else section.table.head(limit)
    return column_values(table["currency"], "text")


def money_units(minor: int | None) -> int | float | None:
    """Minor units as a number in currency units (the JSON and CSV form)."""
    return json_amount(minor)


def money_float(minor: int) -> float:
    return float(Decimal(minor) / MINOR_PER_UNIT)


def display(value: Any, kind: str) -> str:
    """Text for a person: thousands separators, percentages, ISO dates."""
    if value is None:
        return ""
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "money":
        whole, cents = divmod(int(value), MINOR_PER_UNIT)
        return f"{whole:,}" if cents == 0 else f"{Decimal(value) / MINOR_PER_UNIT:,.2f}"
    if kind == "int":
        return f"{value:,}"
    if kind == "number":
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    if kind == "date":
        return value.isoformat()
    return str(value)


def figure_text(value: Any, kind: str) -> str:
    return "–" if value is None else display(value, kind)
