"""The indicator performance tracking table (IPTT, issue 16): one row per indicator per
reporting period, with baseline, target, actual, % of target and the cumulative value to
date, each indicator's measurements combined by the aggregation its plan declares.

Aggregations: `sum` (a count of trainings: the period's values add up, cumulative is the
running total), `last` (a percentage: the period's last value, cumulative the last value to
date), `max` and `average` (over the period, and over everything to date). A period's
measurements are those recorded for it (`cpflow measure --period`), else those dated inside
it. Blank means not reported, never 0. On/off track: the actual within the tolerance of the
target (I204's, default 15%: at least 85% of an increasing target, at most 115% of a
decreasing one).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from cpflow.reports.indicators import TOLERANCE, _tolerances
from cpflow.reports.model import Column, Section
from cpflow.rules.localisation import standards_of

DEFAULT_AGGREGATION = "last"

COLUMNS = (
    Column("plan", "Plan"), Column("level", "Level"), Column("code", "Code"), Column("name", "Indicator"),
    Column("measure", "Unit"), Column("aggregation", "Aggregation"), Column("baseline", "Baseline", "number"),
    Column("period", "Period"), Column("period_end", "Period end", "date"), Column("target", "Target", "number"),
    Column("actual", "Actual", "number"), Column("pct_of_target", "% of target", "pct"),
    Column("cumulative", "Cumulative to date", "number"), Column("status", "Status", rag="status"),
)  # fmt: skip

NOTE = (
    "One row per indicator per reporting period (the periods it has targets for). Actual combines the "
    "period's measurements by the indicator's aggregation (sum, last, max or average); blank means not "
    "reported. % of target is actual ÷ target; on track is within the tolerance (I204, default 15%)."
)


def aggregate(values: list[float], how: str) -> float | None:
    """The measurements' values (in date order) combined; None when there are none."""
    if not values:
        return None
    if how == "sum":
        return float(sum(values))
    if how == "max":
        return float(max(values))
    if how == "average":
        return float(sum(values) / len(values))
    return float(values[-1])


def _level(of: str) -> str:
    kind = str(of).partition(":")[0]
    return {"outcome": "outcome", "objective": "objective", "activity": "activity"}.get(kind, "plan")


def iptt_rows(frames, as_of: dt.date) -> list[dict[str, Any]]:
    """The IPTT as plain rows (plan, level, code, name, ..., status), in plan and indicator order."""
    periods = {(p, k): (s.date(), e.date(), n) for p, k, s, e, n in
               zip(frames.periods["plan"], frames.periods["key"], frames.periods["start"], frames.periods["end"],
                   frames.periods["name"])}  # fmt: skip
    aggregations = {slug: standards_of(rules).get("aggregation") or {} for slug, rules in
                    zip(frames.plans["slug"], frames.plans["rules"], strict=True)}  # fmt: skip
    tolerance = _tolerances(frames.plans).to_dict()
    by_indicator: dict[tuple, list[tuple]] = {}
    m = frames.measurements
    for plan, code, value, at, period in zip(m["plan"], m["indicator"], m["value"], m["at"], m["period"], strict=True):
        period = period if isinstance(period, str) and period else None  # NaN from the frame: none given
        by_indicator.setdefault((plan, code), []).append((pd.Timestamp(at).date(), float(value), period))
    rows = []
    ind = frames.indicators
    for plan, code, name, of, measure, direction, baseline, targets in zip(
        ind["plan"], ind["code"], ind["name"], ind["of"], ind["measure"], ind["direction"], ind["baseline_value"],
        ind["targets"], strict=True,
    ):  # fmt: skip
        how = aggregations.get(plan, {}).get(code, DEFAULT_AGGREGATION)
        values = sorted(by_indicator.get((plan, code), []), key=lambda v: v[0])
        keys = [t["period"] for t in targets or []] + sorted(
            {v[2] for v in values if v[2] and v[2] not in {t["period"] for t in targets or []}}
        )
        target_of = {t["period"]: t.get("value") for t in targets or []}
        for key in keys:
            start, end, period_name = periods.get((plan, key), (None, None, key))
            inside = [v for v in values if v[2] == key or (not v[2] and start is not None and start <= v[0] <= end)]
            actual = aggregate([v[1] for v in inside], how)
            to_date = [v[1] for v in values if end is None or v[0] <= end]
            cumulative = aggregate(to_date, how) if actual is not None or (end is not None and end <= as_of) else None
            target = target_of.get(key)
            target = None if target is None else float(target)
            pct = actual / target if actual is not None and target not in (None, 0) else None
            rows.append({
                "plan": plan, "level": _level(of), "of": of, "code": code, "name": name, "measure": measure,
                "aggregation": how, "direction": direction,
                "baseline": None if pd.isna(baseline) else float(baseline), "period": key, "period_name": period_name,
                "period_start": start, "period_end": end, "target": target, "actual": actual, "pct_of_target": pct,
                "cumulative": cumulative, "status": _status(actual, target, direction, tolerance.get(plan, TOLERANCE)),
            })  # fmt: skip
    return rows


def _status(actual: float | None, target: float | None, direction: str, tolerance: float) -> str:
    if actual is None:
        return "no data"
    if target is None:
        return "no target"
    if direction == "decrease":
        return "on track" if actual <= target * (1 + tolerance) else "off track"
    return "on track" if actual >= target * (1 - tolerance) else "off track"


def iptt_section(frames, as_of: dt.date, detail: bool = True) -> Section:
    """The IPTT as a report section: a full listing in the progress report (`detail`: HTML and
    Markdown show its first rows), the whole table in `cpflow report iptt`."""
    table = pd.DataFrame(iptt_rows(frames, as_of), columns=[c.key for c in COLUMNS])
    for key in ("baseline", "target", "actual", "pct_of_target", "cumulative"):
        table[key] = table[key].astype(float)
    return Section("Indicator performance tracking", table, key="iptt", columns=COLUMNS, note=NOTE, detail=detail)


def build_iptt(session, *, plans: tuple[str, ...] = (), as_of: dt.date, frames=None):
    """`cpflow report iptt`: the IPTT as a report of its own (figures and the one section),
    rendered by the same writers as the progress and compliance reports."""
    from cpflow.read.frames import load_frames
    from cpflow.reports.model import Figure, Report
    from cpflow.reports.progress import plans_table, report_title

    if frames is None:
        frames = load_frames(session, plans=plans, as_of=as_of)
    section = iptt_section(frames, as_of, detail=False)
    table = section.table
    statuses = table["status"].value_counts()
    indicators = table[["plan", "code"]].drop_duplicates()
    figures = [
        Figure("indicators", "Indicators", len(indicators)),
        Figure("rows", "Indicator periods", len(table), detail="one row per indicator per reporting period"),
        *(Figure(status.replace(" ", "_"), status.capitalize(), int(statuses.get(status, 0)), detail=detail)
          for status, detail in STATUS_DETAILS),
    ]  # fmt: skip
    plans_frame = plans_table(frames)
    report = Report("iptt", report_title("Indicator performance tracking", plans_frame), as_of, None, plans_frame,
                    figures, [section])  # fmt: skip
    return report


STATUS_DETAILS = (
    ("on track", "actual within the tolerance of the target"),
    ("off track", "actual beyond the tolerance of the target"),
    ("no data", "no measurement for the period: blank, never 0"),
    ("no target", "measured, with no target for the period"),
)


LOCALISATION_COLUMNS = (
    Column("plan", "Plan"), Column("scope", "Scope"), Column("key", "Objective or unit"), Column("live", "Live activities", "int"),
    Column("national_or_local", "Led or co-led by national/local actors", "int"), Column("share", "Share", "pct"),
    Column("unclassified", "Could not be classified", "int"),
)  # fmt: skip


def localisation_sections(frames, as_of: dt.date) -> tuple[list, list[Section]]:
    """The localisation figure and sections (issue 16, rule C505): the share of live activities
    led or co-led by national or local actors per plan, objective and unit, and which
    organisations count as national or local and why. Only plans that declare organisations."""
    from cpflow.reports.model import Figure
    from cpflow.rules.context import Context
    from cpflow.rules.localisation import declared_local, localisation_table, shares

    declaring = [slug for slug, rules in zip(frames.plans["slug"], frames.plans["rules"], strict=True)
                 if standards_of(rules).get("organisations")]  # fmt: skip
    if not declaring:
        return [], []
    table = localisation_table(Context(as_of, frames, {}))
    table = table[table["plan"].isin(declaring)]
    rows = []
    for by, scope in (((), "plan"), (("objective",), "objective"), (("unit",), "unit")):
        for share in shares(table, by):
            if scope != "plan" and share.get(by[0]) is None:
                continue
            rows.append({"plan": share["plan"], "scope": scope, "key": share.get(by[0]) if by else None, "live": share["live"],
                         "national_or_local": share["national_or_local"],
                         "share": None if share["share"] is None else share["share"] / 100, "unclassified": share["unclassified"]})  # fmt: skip
    live, local = len(table), int((table["class"] == "national/local").sum())
    unclassified = int((table["class"] == "unclassified").sum())
    figure = Figure("localisation_share", "% of live activities led or co-led by national or local actors",
                    round(local / live, 4) if live else None, "pct",
                    f"{local} of {live} live activities; {unclassified} could not be classified (leads not declared)")  # fmt: skip
    orgs = [{"plan": slug, **org} for slug, rules in zip(frames.plans["slug"], frames.plans["rules"], strict=True)
            for org in declared_local(rules)]  # fmt: skip
    shares_section = Section("Localisation", pd.DataFrame(rows, columns=[c.key for c in LOCALISATION_COLUMNS]),
                             key="localisation", columns=LOCALISATION_COLUMNS,
                             note="Live activities (not dropped) whose lead, or whose unit's lead, is a declared national "
                                  "or local actor; leads naming no declared organisation are unclassified (rule C505).")  # fmt: skip
    orgs_section = Section("National and local actors", pd.DataFrame(orgs, columns=["plan", "name", "acronym", "type", "why"]),
                           key="national-local-actors")  # fmt: skip
    return [figure], [shares_section, orgs_section]
