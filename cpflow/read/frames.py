"""A plan's tables as pandas DataFrames, as of a date: what rules and reports read.

`load_frames(session, plans=..., as_of=...)` runs one set-based SQL select per table
(`pandas.read_sql` on SQLAlchemy Core) and never loops over ORM objects. Every activity
state is replayed from the event log through `cpflow.read.state.last_moves`, the one place
that computes state on a date; budget lines replay `funding` events the same way.

Dates are pandas `datetime64` columns (NaT when absent); lists are Python lists (never
NaN); frames are sorted deterministically. `as_of=None` means today. Only plans that
have started by `as_of` appear (an activity exists from its plan's start).

Frames and columns:

plans        id (slug), slug, title, owner, framework, start, end, currency, sectors,
             countries, cross_cutting, records_expected_results, rules (the plan file's
             `rules:` mapping), lifecycle (the plan's own `lifecycle:`, {} for the default;
             `cpflow.lifecycle.lifecycles_of(plans)` gives each plan's Lifecycle)
periods      plan, key, name, kind, start, end
units        plan, key, id ("plan:key"), name, kind, outcome, leads (list), members (list)
outcomes     plan, key, title
objectives   plan, code, id ("plan:code"), title, description, outcome (key), unit
             (key), targets (list of {period, text}), expected_results (list)
activities   id ("plan:code"), plan, code, title, objective (code), objective_title,
             objectives (list: every objective code it contributes to, `objective` first),
             unit (key), lead (the activity's lead, else its unit's leads joined with
             ", ", else None), own_lead (the activity's lead only), contributors (list),
             phase (period key), phase_name, phase_end, start, due, sectors (list),
             countries (list), cross_cutting (list), type, expected_result,
             has_expected_result (the activity or its objective states one), checklist
             (list of item codes), initial_state, state (as of the date), last_event_at
             (its last move on or before the date, NaT before its first move), in_source
events       event, plan, activity ("plan:code"), trigger, from, to, actor, at,
             recorded_at, reason, ref — transition events with at <= as_of, in log order
indicators   plan, code, id ("plan:code"), name, measure, of ("plan", "outcome:KEY",
             "objective:CODE", "activity:CODE"), direction, baseline_value (float),
             baseline_date, targets (list of {period, value})
measurements plan, indicator (code), value (float), at, period, source, actor — at <= as_of
budgets      plan, unit (key), id ("plan:unit"), period, period_start, period_end,
             currency, budget, received, declared_gap (Decimal currency units or None),
             budget_minor, received_minor, declared_gap_minor (nullable Int64 cents, for
             exact vectorised arithmetic); the latest `funding` event on or before the
             date wins over the plan file's figures
checklist    plan, checklist (key), checklist_title, code, category, text
submissions  submission (id), plan, activity ("plan:target": the activity, indicator or unit),
             kind, trigger, at, submitted_by, first_submitted_at, event (the approved fact's),
             submitted_at (this revision; UTC timestamps), revision, status (as of the date:
             pending, returned, approved, withdrawn), decided_by, decided_at, comment, ref — those
             first submitted on or before the date; a decision after the date is not yet
             made, and a revision after it leaves the earlier one as it stood on the date
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from dataclasses import dataclass, fields
from dataclasses import field as dataclass_field
from decimal import Decimal
from operator import itemgetter

import numpy as np
import pandas as pd
from sqlalchemy import Integer, Text, and_, cast, select, type_coerce
from sqlalchemy.orm import Session, aliased

from cpflow import digests
from cpflow.clock import today
from cpflow.errors import NotFound
from cpflow.models import (
    Activity,
    BudgetLine,
    ChecklistItem,
    Indicator,
    Measurement,
    Objective,
    Outcome,
    Period,
    Plan,
    Submission,
    TransitionEvent,
    Unit,
)
from cpflow.money import MINOR_PER_UNIT
from cpflow.read.queries import collector_paused
from cpflow.read.state import last_moves, state_after
from cpflow.replay import check_cache


@dataclass
class Frames:
    """The tables of the selected plans as of one date."""

    as_of: dt.date
    plans: pd.DataFrame
    periods: pd.DataFrame
    units: pd.DataFrame
    outcomes: pd.DataFrame
    objectives: pd.DataFrame
    activities: pd.DataFrame
    events: pd.DataFrame
    indicators: pd.DataFrame
    measurements: pd.DataFrame
    budgets: pd.DataFrame
    checklist: pd.DataFrame
    submissions: pd.DataFrame = dataclass_field(default_factory=lambda: pd.DataFrame(columns=SUBMISSION_COLUMNS))

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every frame by name (the `as_of` field left out)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "as_of"}

    def subset(self, plans: Collection[str]) -> Frames:
        """The same frames restricted to some plans (by slug)."""
        wanted = set(plans)
        return Frames(self.as_of, **{
            name: frame[frame["slug" if name == "plans" else "plan"].isin(wanted)].reset_index(drop=True)
            for name, frame in self.tables().items()
        })  # fmt: skip


def load_frames(session: Session, *, plans: tuple[str, ...] = (), as_of: dt.date | None = None) -> Frames:
    """Load the plans' tables (all plans when `plans` is empty) as of `as_of` (default today)."""
    with collector_paused():
        return _load_frames(session, plans, as_of or today())


def _load_frames(session: Session, plans: tuple[str, ...], as_of: dt.date) -> Frames:
    conn = session.connection()
    _require_plans(session, plans)
    # The frames read cached tables beside the log: refuse to answer from a cache that
    # disagrees with it (states, versions, measurements; `audit verify` checks the rest).
    check_cache(conn, session.scalars(select(Plan.id).where(Plan.slug.in_(plans))).all() if plans else ())
    started = Plan.start <= as_of
    if plans:
        started = and_(started, Plan.slug.in_(plans))

    plan_frame = _read(conn, select(
        Plan.slug.label("id"), Plan.slug, Plan.title, Plan.owner, Plan.framework, Plan.start, Plan.end,
        Plan.currency, Plan.sectors, Plan.countries, Plan.cross_cutting, Plan.records_expected_results, Plan.rules,
        Plan.lifecycle,
    ).where(started).order_by(Plan.slug), dates=("start", "end"), lists=("sectors", "countries", "cross_cutting"))  # fmt: skip
    plan_frame["rules"] = _dicts(plan_frame["rules"])
    plan_frame["lifecycle"] = _dicts(plan_frame["lifecycle"])  # {} for cpflow's default lifecycle
    plan_frame["records_expected_results"] = plan_frame["records_expected_results"].astype(bool)

    periods = _read(conn, select(
        Plan.slug.label("plan"), Period.key, Period.name, Period.kind, Period.start, Period.end,
    ).join(Plan, Plan.id == Period.plan_id).where(started).order_by(Plan.slug, Period.start, Period.key),
        dates=("start", "end"))  # fmt: skip

    units = _read(conn, select(
        Plan.slug.label("plan"), Unit.key, Unit.name, Unit.kind, Unit.outcome, Unit.leads, Unit.members,
    ).join(Plan, Plan.id == Unit.plan_id).where(started).order_by(Plan.slug, Unit.id), lists=("leads", "members"))  # fmt: skip
    units.insert(2, "id", units["plan"] + ":" + units["key"])

    outcomes = _read(conn, select(Plan.slug.label("plan"), Outcome.key, Outcome.title)
                     .join(Plan, Plan.id == Outcome.plan_id).where(started).order_by(Plan.slug, Outcome.id))  # fmt: skip

    objective_unit = aliased(Unit)
    objectives = _read(conn, select(
        Plan.slug.label("plan"), Objective.code, Objective.title, Objective.description,
        Outcome.key.label("outcome"), objective_unit.key.label("unit"), Objective.targets, Objective.expected_results,
    ).join(Plan, Plan.id == Objective.plan_id)
        .outerjoin(Outcome, Outcome.id == Objective.outcome_id)
        .outerjoin(objective_unit, objective_unit.id == Objective.unit_id)
        .where(started).order_by(Plan.slug, Objective.position, Objective.id),
        lists=("targets", "expected_results"))  # fmt: skip
    objectives.insert(2, "id", objectives["plan"] + ":" + objectives["code"])

    activities, names = _activities(conn, started, as_of, units, objectives)
    events = _events(conn, started, as_of, names)

    indicators = _read(conn, select(
        Plan.slug.label("plan"), Indicator.code, Indicator.name, Indicator.measure, Indicator.of, Indicator.direction,
        Indicator.baseline_value, Indicator.baseline_date, Indicator.targets,
    ).join(Plan, Plan.id == Indicator.plan_id).where(started).order_by(Plan.slug, Indicator.id),
        dates=("baseline_date",), lists=("targets",))  # fmt: skip
    indicators.insert(2, "id", indicators["plan"] + ":" + indicators["code"])
    indicators["baseline_value"] = indicators["baseline_value"].astype(float)

    measurements = _read(conn, select(
        Plan.slug.label("plan"), Indicator.code.label("indicator"), Measurement.value, Measurement.at,
        Measurement.period, Measurement.source, Measurement.actor,
    ).join(Indicator, Indicator.id == Measurement.indicator_id).join(Plan, Plan.id == Indicator.plan_id)
        .where(started, Measurement.at <= as_of).order_by(Plan.slug, Indicator.code, Measurement.at, Measurement.id),
        dates=("at",))  # fmt: skip
    measurements["value"] = measurements["value"].astype(float)

    budgets = _budgets(conn, started, as_of)

    checklist = _read(conn, select(
        Plan.slug.label("plan"), ChecklistItem.checklist, ChecklistItem.checklist_title, ChecklistItem.code,
        ChecklistItem.category, ChecklistItem.text,
    ).join(Plan, Plan.id == ChecklistItem.plan_id).where(started)
        .order_by(Plan.slug, ChecklistItem.checklist, ChecklistItem.position, ChecklistItem.id))  # fmt: skip

    return Frames(as_of, plan_frame, periods, units, outcomes, objectives, activities, events, indicators,
                  measurements, budgets, checklist, submissions=_submissions(conn, started, as_of))  # fmt: skip


def _require_plans(session: Session, plans: tuple[str, ...]) -> None:
    if not plans:
        return
    known = set(session.scalars(select(Plan.slug)).all())
    missing = [slug for slug in plans if slug not in known]
    if missing:
        hint = f"; plans are {', '.join(sorted(known))}" if known else "; no plan is loaded yet (cpflow load FILE)"
        raise NotFound(f"unknown plan {missing[0]!r}{hint}")


def _activities(conn, started, as_of: dt.date, units: pd.DataFrame, objectives: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The activities frame, and each activity's database id -> (plan, "plan:code") for the events."""
    last = last_moves(as_of)
    unit = aliased(Unit)
    query = (
        select(
            Plan.slug.label("plan"), Activity.code, Activity.title, Objective.code.label("objective"),
            Objective.title.label("objective_title"), unit.key.label("unit"), Activity.lead.label("own_lead"),
            Activity.contributors, Activity.phase, Period.name.label("phase_name"), Period.end.label("phase_end"),
            Activity.objectives, Activity.start, Activity.due, Activity.sectors, Activity.countries, Activity.cross_cutting,
            Activity.activity_type.label("type"), Activity.expected_result, Activity.checklist, Activity.initial_state,
            state_after(last).label("state"),
            last.c.at.label("last_event_at"), digests.as_digested(Activity.__table__.c.in_source).label("in_source"),
            Activity.id.label("row_id"),
            # Read only for the digest (below), never made into columns.
            *(digests.as_digested(Activity.__table__.c[name]).label(f"digest_{name}") for name in _DIGEST_ONLY),
        )
        .join(Plan, Plan.id == Activity.plan_id)
        .outerjoin(Objective, Objective.id == Activity.objective_id)
        .outerjoin(unit, unit.id == Activity.unit_id)
        .outerjoin(Period, and_(Period.plan_id == Activity.plan_id, Period.key == Activity.phase))
        .outerjoin(last, last.c.activity_id == Activity.id)
        .where(started)
        .order_by(Plan.slug, Activity.position, Activity.id)
    )  # fmt: skip
    found = digests.Digests()
    frame = _read(conn, query, dates=("phase_end", "start", "due", "last_event_at"),
                  lists=("objectives", "contributors", "sectors", "countries", "cross_cutting", "checklist"),
                  repeated=("plan", "objective", "objective_title", "unit", "own_lead", "phase", "phase_name", "type",
                            "initial_state", "state"), rows_to=_digest_rows(found), keep=-len(_DIGEST_ONLY))  # fmt: skip
    _check_digests(conn, started, found)
    frame.insert(0, "id", frame["plan"] + ":" + frame["code"])
    frame["in_source"] = frame["in_source"].astype(bool)
    names = dict(zip(frame.pop("row_id").tolist(), zip(frame["plan"].tolist(), frame["id"].tolist())))

    unit_leads = units.assign(unit_lead=units["leads"].str.join(", ").replace("", None))[["plan", "key", "unit_lead"]]
    frame = frame.merge(unit_leads, how="left", left_on=["plan", "unit"], right_on=["plan", "key"]).drop(columns="key")
    own = frame["own_lead"].where(frame["own_lead"].fillna("").str.strip() != "")
    frame.insert(frame.columns.get_loc("own_lead"), "lead", own.fillna(frame["unit_lead"]).astype(object))
    frame = frame.drop(columns="unit_lead")
    frame["lead"] = frame["lead"].where(frame["lead"].notna(), None)

    stated = objectives.assign(objective_results=objectives["expected_results"].str.len() > 0)
    frame = frame.merge(stated[["plan", "code", "objective_results"]].rename(columns={"code": "objective"}),
                        how="left", on=["plan", "objective"])  # fmt: skip
    own_result = frame["expected_result"].fillna("").str.strip() != ""
    has = own_result | frame["objective_results"].fillna(False).astype(bool)
    frame.insert(frame.columns.get_loc("expected_result") + 1, "has_expected_result", has.astype(bool))
    return frame.drop(columns="objective_results"), names


# The activities' content columns (cpflow.digests) under the labels the activities query
# selects them by, raw as the driver returns them; the rest are selected for the digest alone.
_DIGEST_LABELS = {"id": "row_id", "lead": "own_lead", "activity_type": "type"}
_DIGEST_ONLY = ("plan_id", "description", "objective_id", "unit_id", "schedule", "notes")


def _digest_rows(found: digests.Digests):
    """A `rows_to` callback adding each fetched activity row to `found`, keyed by plan id."""
    picks: list = []

    def take(names: list[str], rows: list[tuple]) -> None:
        if not picks:
            label = {name: f"digest_{name}" if name in _DIGEST_ONLY else _DIGEST_LABELS.get(name, name)
                     for name in digests.COLUMNS}  # fmt: skip
            picks.append(itemgetter(*(names.index(label[name]) for name in digests.COLUMNS)))
        plan, content, add = names.index("digest_plan_id"), picks[0], found.add
        for row in rows:
            add(row[plan], content(row))

    return take


def _check_digests(conn, started, found: digests.Digests) -> None:
    """Refuse activities whose content differs from the digest the last write recorded."""
    names = dict(conn.execute(select(Plan.id, Plan.slug).where(started)).all())
    digests.check_found(conn, found.result(), names)


def _events(conn, started, as_of: dt.date, names: dict) -> pd.DataFrame:
    """Moves up to the date. Events carry their plan id, so no event is joined to its
    activity: `plan:code` comes from a map of the (far fewer) activities."""
    plan_ids = select(Plan.id).where(started).scalar_subquery()
    query = (
        select(
            TransitionEvent.id.label("event"), TransitionEvent.activity_id, TransitionEvent.trigger,
            TransitionEvent.from_state.label("from"), TransitionEvent.to_state.label("to"), TransitionEvent.actor,
            TransitionEvent.at, TransitionEvent.recorded_at, TransitionEvent.reason, TransitionEvent.ref,
        )
        .where(TransitionEvent.plan_id.in_(plan_ids), TransitionEvent.kind == "transition", TransitionEvent.at <= as_of)
        .order_by(TransitionEvent.id)
    )  # fmt: skip
    frame = _read(conn, query, dates=("at",), repeated=("trigger", "from", "to", "actor", "recorded_at", "reason", "ref"))
    slug = {row: plan for row, (plan, _) in names.items()}
    ident = {row: code for row, (_, code) in names.items()}
    frame.insert(1, "plan", frame["activity_id"].map(slug).astype(object))
    frame.insert(2, "activity", frame["activity_id"].map(ident).astype(object))
    frame = frame.drop(columns="activity_id")
    frame["event"] = frame["event"].astype("int64")
    return frame


def _budgets(conn, started, as_of: dt.date) -> pd.DataFrame:
    query = (
        select(
            Plan.slug.label("plan"), Unit.key.label("unit"), BudgetLine.period, Period.start.label("period_start"),
            Period.end.label("period_end"), BudgetLine.currency, BudgetLine.budget_minor, BudgetLine.received_minor,
            BudgetLine.declared_gap_minor,
        )
        .join(Plan, Plan.id == BudgetLine.plan_id)
        .join(Unit, Unit.id == BudgetLine.unit_id)
        .outerjoin(Period, and_(Period.plan_id == BudgetLine.plan_id, Period.key == BudgetLine.period))
        .where(started)
        .order_by(Plan.slug, BudgetLine.id)
    )  # fmt: skip
    frame = _read(conn, query, dates=("period_start", "period_end"))
    for column in ("budget_minor", "received_minor", "declared_gap_minor"):
        frame[column] = frame[column].astype("Int64")
    frame = _replay_funding(conn, started, as_of, frame)
    frame.insert(2, "id", frame["plan"] + ":" + frame["unit"])
    for column in ("budget", "received", "declared_gap"):
        frame.insert(frame.columns.get_loc("currency") + 1 + ("budget", "received", "declared_gap").index(column),
                     column, _decimals(frame[f"{column}_minor"]))  # fmt: skip
    return frame


def _replay_funding(conn, started, as_of: dt.date, lines: pd.DataFrame) -> pd.DataFrame:
    """Budget and received as of the date: the latest funding event on or before it, else
    the figures before the first later event, else the line as stored."""
    query = (
        select(Plan.slug.label("plan"), TransitionEvent.id, TransitionEvent.at, TransitionEvent.data)
        .join(Plan, Plan.id == TransitionEvent.plan_id)
        .where(started, TransitionEvent.kind == "funding")
        .order_by(TransitionEvent.id)
    )
    events = pd.read_sql_query(query, conn)  # not read_sql: it asks the catalog whether the query is a table
    if events.empty:
        return lines
    data = pd.json_normalize([json.loads(text) for text in events["data"]])
    events = pd.concat([events[["plan", "id", "at"]], data[["unit", "period"]]], axis=1)
    events["at"] = pd.to_datetime(events["at"])
    for field in ("budget", "received"):
        pair = pd.DataFrame(data[field].tolist(), columns=["old", "new"])
        events[f"{field}_old"], events[f"{field}_new"] = _to_minor(pair["old"]), _to_minor(pair["new"])
    keys = ["plan", "unit", "period"]
    on_time = events["at"] <= pd.Timestamp(as_of)
    latest = events[on_time].drop_duplicates(keys, keep="last")[[*keys, "budget_new", "received_new"]]
    later = events[~on_time].drop_duplicates(keys, keep="first")[[*keys, "budget_old", "received_old"]]
    merged = lines.merge(latest, how="left", on=keys, indicator="has_latest").merge(
        later, how="left", on=keys, indicator="has_later"
    )
    has_latest = merged["has_latest"] == "both"
    has_later = (merged["has_later"] == "both") & ~has_latest
    for field in ("budget", "received"):
        column = merged[f"{field}_minor"].where(~has_latest, merged[f"{field}_new"])
        merged[f"{field}_minor"] = column.where(~has_later, merged[f"{field}_old"]).astype("Int64")
    # A line that a later funding event created did not exist yet on the date.
    absent = has_later & merged["budget_old"].isna() & merged["received_old"].isna()
    merged = merged[~absent]
    extra = ["budget_new", "received_new", "budget_old", "received_old", "has_latest", "has_later"]
    return merged.drop(columns=extra).reset_index(drop=True)


SUBMISSION_COLUMNS: tuple[str, ...] = (
    "submission", "plan", "activity", "kind", "trigger", "at", "submitted_by", "first_submitted_at", "submitted_at", "event",
    "revision", "status", "decided_by", "decided_at", "comment", "ref",
)  # fmt: skip


def _submissions(conn, started, as_of: dt.date) -> pd.DataFrame:
    """The review queue as of the date, from the submissions table (issue 14)."""
    query = (
        select(
            Submission.id.label("submission"), Plan.slug.label("plan"), Submission.target, Submission.kind,
            Submission.trigger, Submission.at, Submission.submitted_by, Submission.submitted_at, Submission.revision,
            Submission.status, Submission.decided_by, Submission.decided_at, Submission.comment, Submission.ref,
            Submission.event_id.label("event"), Submission.revisions,
        )
        .join(Plan, Plan.id == Submission.plan_id)
        .where(started)
        .order_by(Plan.slug, Submission.id)
    )  # fmt: skip
    frame = _read(conn, query, dates=("at",), lists=("revisions",))
    frame.insert(2, "activity", frame["plan"] + ":" + frame["target"])
    first = [r[0].get("submitted_at") or s if r else s for r, s in zip(frame["revisions"], frame["submitted_at"])]
    frame["first_submitted_at"] = _utc(pd.Series(first, index=frame.index, dtype=object))
    for column in ("submitted_at", "decided_at"):
        frame[column] = _utc(frame[column])
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    frame = frame[frame["first_submitted_at"] < end].copy()
    decided = frame["decided_at"].notna() & (frame["decided_at"] < end)
    current = frame["submitted_at"] < end
    # Revised after the date: it stood then as its latest earlier version, returned if that one
    # had been returned by the date, else pending (a loop over those few rows only).
    cutoff = end.strftime("%Y-%m-%d")
    for index in frame.index[~current]:
        earlier = [v for v in frame.at[index, "revisions"] if (v.get("submitted_at") or "") < cutoff]
        if not earlier:
            continue
        version = earlier[-1]
        returned = bool(version.get("decided_by")) and (version.get("decided_at") or "") < cutoff
        frame.at[index, "status"] = "returned" if returned else "pending"
        frame.at[index, "submitted_at"] = pd.Timestamp(version["submitted_at"]).tz_convert(None)
        frame.at[index, "at"] = pd.Timestamp(version.get("at") or frame.at[index, "at"])
        for key in ("revision", "trigger", "comment", "ref"):
            frame.at[index, key] = version.get(key, frame.at[index, key])
    frame["status"] = frame["status"].where(decided | ~current, "pending")
    frame["decided_by"] = frame["decided_by"].where(decided, None)
    frame["decided_at"] = frame["decided_at"].where(decided)
    frame["event"] = frame["event"].where(decided).astype("Int64")
    return frame[list(SUBMISSION_COLUMNS)].reset_index(drop=True)


def _utc(stamps: pd.Series) -> pd.Series:
    """ISO UTC timestamps (text) as naive UTC datetimes, NaT where absent."""
    return pd.to_datetime(stamps, format="ISO8601", utc=True).dt.tz_convert(None)


def _to_minor(amounts: pd.Series) -> pd.Series:
    """JSON currency amounts (int, float or None) as nullable Int64 cents."""
    return (pd.to_numeric(amounts).astype("Float64") * MINOR_PER_UNIT).round().astype("Int64")


def _decimals(minor: pd.Series) -> pd.Series:
    """Nullable cents as Decimal currency units (None where absent)."""
    return pd.Series([None if pd.isna(v) else Decimal(int(v)) / MINOR_PER_UNIT for v in minor], index=minor.index, dtype=object)


# Rows are fetched in chunks of this many, so the driver's row tuples never all exist at once.
_CHUNK = 20_000


def _read(conn, query, *, dates: tuple[str, ...] = (), lists: tuple[str, ...] = (),
          repeated: tuple[str, ...] = (), rows_to=None, keep: int | None = None) -> pd.DataFrame:  # fmt: skip
    """Run a select into a DataFrame. Date and JSON columns are fetched as the driver
    returns them (no per-row processing) and converted once per column here.

    Rows come straight from the driver's cursor (no SQLAlchemy row objects), a chunk at a
    time; in `repeated` columns (states, triggers, actors, dates) equal texts share one
    string object instead of one per row, which is most of a large log's memory.
    `rows_to(names, rows)` sees each chunk of raw rows first; only the columns up to `keep`
    (a slice end) become the frame's.
    """
    if dates or lists:  # dates as the driver gives them; JSON as its stored text, on both backends
        query = query.with_only_columns(
            *(type_coerce(c, Text).label(c.key) if c.key in dates else cast(c, Text).label(c.key) if c.key in lists else c
              for c in query.selected_columns),
            maintain_column_froms=True,
        )  # fmt: skip
    whole = [isinstance(c.type, Integer) for c in query.selected_columns]
    result = conn.execute(query)
    every = list(result.keys())
    names = every[:keep]
    shared = [name in repeated or name in dates for name in names]
    chunks: list[list[np.ndarray]] = [[] for _ in names]
    try:
        while rows := result.cursor.fetchmany(_CHUNK):
            if rows_to is not None:
                rows_to(every, rows)
            for chunk, values, share, integer in zip(chunks, zip(*rows), shared, whole):
                if integer and None not in values:  # int64 now, not a Python int per row until the end
                    chunk.append(np.fromiter(values, dtype=np.int64, count=len(rows)))
                    continue
                cells = np.fromiter(values, dtype=object, count=len(rows))
                chunk.append(_shared(cells) if share else cells)
            del rows
    finally:
        result.close()
    columns = {}
    for name, chunk in zip(names, chunks):  # each column's chunks freed once it is joined
        joined = np.concatenate(chunk) if chunk else np.empty(0, dtype=object)
        columns[name] = pd.Series(joined, dtype=joined.dtype)  # object stays object until infer_objects
        chunk.clear()
    frame = pd.DataFrame(columns)
    del columns
    kinds = {name: dtype.kind for name, dtype in frame.dtypes.items()}
    if "i" in kinds.values():
        # As pandas converts one object block holding whole numbers: column by column, text
        # becoming pandas' string dtype (the integer columns were whole numbers already).
        for name in [name for name, kind in kinds.items() if kind == "O"]:
            frame[name] = frame[name].infer_objects()
    else:
        frame = frame.infer_objects()
    for column in dates:
        frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    for column in lists:
        frame[column] = _lists(frame[column])
    return frame


def _shared(column: np.ndarray) -> np.ndarray:
    """The same values, equal ones as one object (None stays None)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    if len(uniques) == len(column):
        return column
    table = np.empty(len(uniques) + 1, dtype=object)  # the last entry (None) is the sentinel -1's
    table[:-1] = uniques
    return table[codes]


def _decoded(column: pd.Series, kind: type) -> pd.Series:
    """JSON cells (text on SQLite, already decoded by psycopg) as `kind`, empty when missing.

    Each distinct text is decoded once: sector and checklist lists repeat across
    thousands of rows. The frames are read-only, so rows may share one decoded value.
    """
    memo: dict[str, object] = {}

    def decode(value):
        if isinstance(value, str):
            if value not in memo:
                memo[value] = json.loads(value)
            value = memo[value]
        return value if isinstance(value, kind) else kind()

    return pd.Series([decode(value) for value in column.to_numpy(dtype=object)], index=column.index, dtype=object)


def _lists(column: pd.Series) -> pd.Series:
    return _decoded(column, list)


def _dicts(column: pd.Series) -> pd.Series:
    return _decoded(column, dict)
