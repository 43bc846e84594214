"""The progress report: headline figures, breakdowns, the overdue, stale and dropped
lists, indicators, funding and (with a `since` date) what changed, for the plans as of a
date. Built from `cpflow.read.frames` DataFrames; writers render the result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from cpflow.reports import breakdowns, funding, indicators, lists, team
from cpflow.reports.model import Figure, Report


@dataclass
class ProgressReport(Report):
    """A progress report; `frames` are the tables it was built from and `activities`
    the as-of activity table with status, days_late and idle_days (what plugins read)."""

    frames: object = None
    activities: pd.DataFrame = field(default_factory=pd.DataFrame)


def plans_table(frames) -> pd.DataFrame:
    return frames.plans[["slug", "title", "currency", "start", "end"]].reset_index(drop=True)


def report_title(kind: str, plans: pd.DataFrame) -> str:
    if len(plans) == 1:
        return f"{kind} report: {plans['title'].iloc[0]}"
    return f"{kind} report: {len(plans)} plans"


def build_from_frames(frames, *, since: dt.date | None = None) -> ProgressReport:
    """Every built-in section that needs only the frames (no database, no rules)."""
    as_of = frames.as_of
    frame = lists.with_status(frames.activities, frames.plans, as_of)
    states = breakdowns.state_order(frame)
    plans = plans_table(frames)
    report = ProgressReport("progress", report_title("Progress", plans), as_of, since, plans, frames=frames, activities=frame)
    report.figures = figures(frame, frames, states, since)
    sections = [
        breakdowns.by_objective(frame, frames.objectives, states),
        breakdowns.by_unit(frame, frames.units, states),
        breakdowns.by_lead(frame, states),
        breakdowns.by_sector(frame, states),
        breakdowns.by_phase(frame, frames.periods, states),
        breakdowns.over_time(frame, frames.events, frames.plans, as_of, states),
        lists.overdue(frame),
        lists.due_now(frame),
        lists.stale(frame),
        lists.dropped(frame, frames.events),
        indicators.indicator_table(frames, as_of),
    ]
    lines = funding.funding_lines(frames)
    sections += [lines, funding.funding_totals(lines), lists.all_activities(frame)]
    report.sections = sections
    team.add_to(report, frames, since)
    return report


def figures(frame: pd.DataFrame, frames, states: list[str], since: dt.date | None) -> list[Figure]:
    total = len(frame)
    counts = frame["state"].value_counts()
    statuses = frame["status"].value_counts()  # completed / dropped by each plan's lifecycle tags
    live = total - int(statuses.get("dropped", 0))
    completed = int(statuses.get("completed", 0))
    out = [Figure("activities", "Activities", total)]
    out += [Figure(f"state_{s}", s.replace("_", " ").capitalize(), int(counts.get(s, 0))) for s in states]
    out.append(
        Figure(
            "completed_pct",
            "% completed",
            _share(completed, live),
            "pct",
            f"{completed} of {live} live activities (dropped left out)",
        )
    )
    out += _phase_figures(frame, frames.periods, frames.as_of)
    start = since or (frames.plans["start"].min().date() if len(frames.plans) else frames.as_of)
    done = _completed_between(frame, frames.events, start)
    out.append(
        Figure(
            "completed_in_period",
            "Completed in the period",
            done,
            detail=f"after {start.isoformat()}, up to {frames.as_of.isoformat()}",
        )
    )
    out.append(Figure("overdue", "Overdue", int(statuses.get("overdue", 0)), detail="past due, not completed or dropped"))
    out.append(
        Figure("due_now", "Due now", int(statuses.get("due now", 0)), detail="due on the as-of date, not completed: at risk")
    )
    out.append(
        Figure("stale", "Stale", int(frame["stale"].sum()), detail="in progress, no move for longer than the T103 threshold")
    )
    out.append(Figure("dropped", "Dropped", int(statuses.get("dropped", 0)), detail="reasons in the Dropped list"))
    return out


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _phase_figures(frame: pd.DataFrame, periods: pd.DataFrame, as_of: dt.date) -> list[Figure]:
    """For each phase that has activities: '% of Years 1-2 actions completed', and once the
    phase has ended (on its last day too) how many of its live actions were not completed."""
    phases = periods[periods["kind"] == "phase"][["plan", "key", "name", "end"]].rename(columns={"key": "phase"})
    tagged = frame[["plan", "phase", "status"]].merge(phases, on=["plan", "phase"])
    if tagged.empty:
        return []
    tagged = tagged.assign(done=tagged["status"] == "completed", live=tagged["status"] != "dropped")
    grouped = tagged.groupby(["phase", "name"], sort=False).agg(done=("done", "sum"), live=("live", "sum"), end=("end", "max"))
    grouped = grouped.reset_index().sort_values(["end", "phase"], kind="stable")
    out = []
    for row in grouped.itertuples(index=False):
        done, live = int(row.done), int(row.live)
        out.append(Figure(f"completed_pct_{row.phase}", f"% of {row.name} actions completed", _share(done, live), "pct",
                          f"{done} of {live} live {row.name} activities"))  # fmt: skip
        end = pd.Timestamp(row.end)
        if end <= pd.Timestamp(as_of):
            out.append(Figure(f"not_completed_{row.phase}", f"{row.name} actions not completed by the end of the phase",
                              live - done, detail=f"{live - done} of {live} live; the phase ended {end.date().isoformat()}"))  # fmt: skip
    return out


def _completed_between(frame: pd.DataFrame, events: pd.DataFrame, start: dt.date) -> int:
    """Activities completed on the as-of date whose completion is dated after `start`."""
    # The move that completed an activity is its last one (its state is that move's to-state).
    completed = (frame["status"] == "completed") & (pd.to_datetime(frame["last_event_at"]) > pd.Timestamp(start))
    return int(completed.sum())


def build_progress(session, *, plans: tuple[str, ...] = (), as_of: dt.date, since: dt.date | None = None,
                   plugins=None, checks=None, frames=None) -> ProgressReport:  # fmt: skip
    """The progress report for the plans as of the date; `checks(as_of)` returns the
    findings as a DataFrame (for the change log's appeared and resolved findings); `frames`
    already read for the same plans and date are used instead of reading again."""
    from cpflow.read.frames import load_frames
    from cpflow.reports import changes, plugin_sections

    if frames is None:
        frames = load_frames(session, plans=plans, as_of=as_of)
    report = build_from_frames(frames, since=since)
    from cpflow.reports.iptt import iptt_section, localisation_sections

    figures, sections = localisation_sections(frames, as_of)
    report.figures += figures
    report.sections[-1:-1] = [iptt_section(frames, as_of), *sections]
    if since is not None:
        added = [changes.transitions(frames, since), changes.edits(session, list(report.plans["slug"]), since, as_of)]
        if checks is not None:
            added += list(changes.findings_diff(checks(since), checks(as_of)))
        report.sections[-1:-1] = added
    report.sections += plugin_sections.collect(plugins, report)
    return report
