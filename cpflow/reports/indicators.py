"""The indicator table in the usual target-versus-actual form: baseline, target, latest
value, % of target and on/off track, for each indicator as of the date."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cpflow.reports.model import Column, Section

TOLERANCE = 0.15  # rule I204's default; a plan's `rules: config: I204: {tolerance: x}` wins

COLUMNS = (
    Column("plan", "Plan"), Column("code", "Code"), Column("name", "Indicator"), Column("of", "Of"),
    Column("measure", "Measure"), Column("direction", "Direction"), Column("baseline_value", "Baseline", "number"),
    Column("baseline_date", "Baseline date", "date"), Column("target", "Target", "number"),
    Column("target_period", "Target period"), Column("target_end", "Target date", "date"),
    Column("latest", "Latest value", "number"), Column("latest_at", "Measured on", "date"),
    Column("pct_of_target", "% of target", "pct"), Column("expected_pct", "Expected", "pct"),
    Column("status", "Status", rag="status"),
)  # fmt: skip

NOTE = (
    "% of target is the way travelled from baseline to target (latest ÷ target without a baseline). "
    "Expected follows a straight line from the baseline date (else the plan start) to the end of the "
    "target period, read on the latest measurement's date; more than the tolerance (I204, default 15 "
    "points) behind it is off track, and a target whose period ended unmet is missed."
)


def indicator_table(frames, as_of: dt.date) -> Section:
    indicators, periods, plans = frames.indicators, frames.periods, frames.plans
    base = indicators[["plan", "code", "name", "of", "measure", "direction", "baseline_value", "baseline_date", "targets"]]
    targets = _targets(base, periods)
    chosen = _choose(targets, as_of)
    table = base.drop(columns="targets").merge(chosen, how="left", on=["plan", "code"])
    latest = frames.measurements.drop_duplicates(["plan", "indicator"], keep="last")
    latest = latest[["plan", "indicator", "value", "at"]].rename(
        columns={"indicator": "code", "value": "latest", "at": "latest_at"}
    )
    table = table.merge(latest, how="left", on=["plan", "code"])
    starts = plans.set_index("slug")["start"]
    table["pct_of_target"] = _progress(table)
    table["expected_pct"] = _expected(table, table["plan"].map(starts), as_of)
    tolerance = table["plan"].map(_tolerances(plans)).fillna(TOLERANCE)
    table["status"] = _status(table, tolerance, as_of)
    return Section("Indicators", table.reset_index(drop=True), key="indicators", columns=COLUMNS, note=NOTE)


def _targets(indicators: pd.DataFrame, periods: pd.DataFrame) -> pd.DataFrame:
    exploded = indicators[["plan", "code", "targets"]].explode("targets").dropna(subset=["targets"])
    if exploded.empty:
        return pd.DataFrame(columns=["plan", "code", "target", "target_period", "target_end"])
    detail = pd.json_normalize(exploded["targets"].tolist())
    exploded = exploded[["plan", "code"]].reset_index(drop=True)
    exploded["target"] = pd.to_numeric(detail.get("value"), errors="coerce")
    exploded["target_period"] = detail.get("period")
    ends = periods[["plan", "key", "end"]].rename(columns={"key": "target_period", "end": "target_end"})
    return exploded.merge(ends, how="left", on=["plan", "target_period"])


def _choose(targets: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The target that is due next on the date, else the last one that was due."""
    if targets.empty:
        return targets
    stamp = pd.Timestamp(as_of)
    ordered = targets.assign(target_end=pd.to_datetime(targets["target_end"]))
    ordered = ordered.assign(past=ordered["target_end"] < stamp)
    ordered = ordered.sort_values(["plan", "code", "past", "target_end"], ascending=[True, True, True, True])
    upcoming = ordered[~ordered["past"]].drop_duplicates(["plan", "code"], keep="first")
    past = ordered[ordered["past"]].drop_duplicates(["plan", "code"], keep="last")
    chosen = pd.concat([upcoming, past]).drop_duplicates(["plan", "code"], keep="first")
    return chosen.drop(columns="past").sort_values(["plan", "code"])


def _progress(table: pd.DataFrame) -> pd.Series:
    latest, target, baseline = (table[c].astype(float) for c in ("latest", "target", "baseline_value"))
    span = (target - baseline).where(baseline.notna())
    with_base = (latest - baseline) / span.where(span != 0)
    without = latest / target.where(target != 0)
    return with_base.where(baseline.notna(), without).astype(float)


def _expected(table: pd.DataFrame, plan_start: pd.Series, as_of: dt.date) -> pd.Series:
    """Share of the way from baseline to target expected on the latest measurement's
    date (the as-of date without one), as rule I204 reckons it."""
    origin = pd.to_datetime(table["baseline_date"]).fillna(pd.to_datetime(plan_start))
    end = pd.to_datetime(table["target_end"])
    length = (end - origin).dt.days
    elapsed = (pd.to_datetime(table["latest_at"]).fillna(pd.Timestamp(as_of)) - origin).dt.days
    return (elapsed / length.where(length > 0)).clip(0, 1).astype(float)


def _status(table: pd.DataFrame, tolerance: pd.Series, as_of: dt.date) -> np.ndarray:
    progress, expected = table["pct_of_target"], table["expected_pct"].fillna(1.0)
    past_due = pd.to_datetime(table["target_end"]) < pd.Timestamp(as_of)
    return np.select(
        [table["latest"].isna(), table["target"].isna(), progress >= 1, past_due.fillna(False), progress >= expected - tolerance],
        ["no data", "no target", "met", "missed", "on track"],
        default="off track",
    )


def _tolerances(plans: pd.DataFrame) -> pd.Series:
    values = [
        float(((rules or {}).get("config", {}).get("I204", {}) or {}).get("tolerance", TOLERANCE)) for rules in plans["rules"]
    ]
    return pd.Series(values, index=plans["slug"].to_numpy(), dtype=float)
