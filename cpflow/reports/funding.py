"""The funding table (budget, received, gap, gap % per unit and period, as replayed for
the date) and its totals per plan, period and currency. Money stays in integer cents."""

from __future__ import annotations

import pandas as pd

from cpflow.reports.model import Chart, Column, Section

MONEY = ("budget", "received", "gap")


def _gaps(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["gap"] = (frame["budget"] - frame["received"]).astype("Int64")
    budget = frame["budget"].astype("Float64")
    frame["gap_pct"] = (frame["gap"].astype("Float64") / budget.where(budget > 0)).astype(float)
    return frame


def funding_lines(frames) -> Section:
    budgets, units = frames.budgets, frames.units
    lines = budgets[["plan", "unit", "period", "period_end", "currency", "budget_minor", "received_minor", "declared_gap_minor"]]
    lines = lines.rename(columns={"budget_minor": "budget", "received_minor": "received", "declared_gap_minor": "declared_gap"})
    lines = lines.merge(units[["plan", "key", "name"]].rename(columns={"key": "unit"}), how="left", on=["plan", "unit"])
    table = _gaps(lines)
    label = table["unit"].astype(str) + " " + table["period"].astype(str)
    table["label"] = (table["plan"] + " " + label) if table["plan"].nunique() > 1 else label
    columns = (
        Column("plan", "Plan"), Column("unit", "Unit"), Column("name", "Name"), Column("period", "Period"),
        Column("currency", "Currency"), Column("budget", "Budget", "money"), Column("received", "Received", "money"),
        Column("gap", "Gap", "money"), Column("gap_pct", "Gap %", "pct", rag="gap"),
        Column("declared_gap", "Declared gap", "money"),
    )  # fmt: skip
    charted = table.loc[table["gap_pct"].notna(), ["label", "gap_pct"]].reset_index(drop=True)
    chart = Chart("bar", "Funding gap % by unit", "label", ("gap_pct",), value_kind="pct", data=charted)
    note = "Gap = budget − received, as recorded on the as-of date; blank where the source gives no received figure."
    return Section("Funding", table, chart if len(charted) else None, key="funding", columns=columns, note=note)


def funding_totals(lines: Section) -> Section:
    table = lines.table
    known = table[table["gap"].notna()]
    keys = ["plan", "period", "currency"]
    sums = table.groupby(keys, sort=True, dropna=False)[["budget", "received"]].sum(min_count=1)
    gaps = known.groupby(keys, sort=True, dropna=False)[["gap", "budget"]].sum(min_count=1)
    totals = sums.join(gaps.rename(columns={"budget": "gapped_budget"}), how="left").reset_index()
    for column in ("budget", "received", "gap", "gapped_budget"):
        totals[column] = totals[column].astype("Int64")
    gapped = totals["gapped_budget"].astype("Float64")
    totals["gap_pct"] = (totals["gap"].astype("Float64") / gapped.where(gapped > 0)).astype(float)
    order = table.drop_duplicates(keys)[keys].reset_index(names="position")
    totals = totals.merge(order, how="left", on=keys).sort_values("position", kind="stable").drop(columns="position")
    columns = (
        Column("plan", "Plan"), Column("period", "Period"), Column("currency", "Currency"),
        Column("budget", "Budget", "money"), Column("received", "Received", "money"), Column("gap", "Gap", "money"),
        Column("gap_pct", "Gap %", "pct", rag="gap"),
    )  # fmt: skip
    note = "Totals per plan and period (periods may overlap, e.g. a year inside a three-year budget, so they are not added up)."
    return Section("Funding totals", totals.reset_index(drop=True), key="funding-totals", columns=columns, note=note)
