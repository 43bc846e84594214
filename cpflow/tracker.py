"""The tracker spreadsheet (issue 14): exported for members to fill in offline, imported
back as submissions (or, for a lead, as direct records).

Export (xlsxwriter): an `Activities` sheet with one row per activity, a `New status`
drop-down of the states one allowed move reaches, a `Date` validated between the plan's
start and the export day, `Reason / comment` and `Reference`; an `Indicators` sheet
(`Value`, `Date`, `Source` per indicator and period); a `Read me`; only the input cells
unlocked; a hidden `_cpflow` sheet stamping the plan, the export time and each activity's
version. Import (python-calamine): every problem is one line naming sheet, row, column,
value, the activity's code and an error code; nothing is written when any row is bad
(unless keep_going); a row already recorded or submitted is unchanged, so importing the
same file twice adds nothing; a row whose activity changed since the export is a conflict.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from cpflow import digests, services
from cpflow.audit import utc_now
from cpflow.clock import today
from cpflow.dates import parse_date
from cpflow.db import Database
from cpflow.errors import BadInput, ConflictError, PlanFileError
from cpflow.lifecycle import lifecycle_for
from cpflow.models import Activity, Indicator, Measurement, Plan, Submission, TransitionEvent, Unit
from cpflow.paths import output_file
from cpflow.read.lookup import find_plan
from cpflow.read.team import active_account, four_eyes, roles_in
from cpflow.roles import DECIDERS
from cpflow.safe_output import safe_cell
from cpflow.teams.submissions import Draft, create_many

if TYPE_CHECKING:
    from cpflow.plugins.manager import Plugins

ACTIVITY_COLUMNS = ("Code", "Title", "State", "New status", "Date", "Reason / comment", "Reference", "State since")
INDICATOR_COLUMNS = ("Code", "Indicator", "Period", "Target", "Value", "Date", "Source")
STAMP = "_cpflow"
INPUT_ACTIVITY = ("New status", "Date", "Reason / comment", "Reference")
INPUT_INDICATOR = ("Value", "Date", "Source")
FORMAT_VERSION = 1

README = """\
How to fill in this tracker

1. On the Activities sheet, for each activity that moved, choose its new status in the
   "New status" column (the list shows only the moves allowed from its current state;
   you may also type the move, such as "endorse").
2. Put the date it happened in "Date" (YYYY-MM-DD; not in the future).
3. Give a reason in "Reason / comment" (a drop, reopen or reinstate needs one) and a
   reference in "Reference" (meeting minutes, report, photo link).
4. On the Indicators sheet, fill "Value", "Date" and "Source" for what you measured.
5. Leave the other cells and rows as they are, and send the file back to your lead.

Plan: {plan}. Exported {exported}. Only the white input cells can be changed.
"""


# --- export -----------------------------------------------------------------------------


@dataclass
class ExportResult:
    path: Path
    plan: str
    activities: int
    indicators: int


class _ActivityRow(TypedDict):
    """One row of the Activities sheet (and of the stamp: code, version, state)."""

    code: str
    title: str
    state: str
    version: int
    since: dt.date | None  # the date of its last move


def _activity_rows(session: Session, plan_id: int, lead: str | None, unit: str | None) -> list[_ActivityRow]:
    last = {
        activity_id: at
        for activity_id, at in session.execute(
            select(TransitionEvent.activity_id, TransitionEvent.at)
            .where(TransitionEvent.plan_id == plan_id, TransitionEvent.kind == "transition")
            .order_by(TransitionEvent.id)
        )
    }
    units = dict(session.execute(select(Unit.id, Unit.key).where(Unit.plan_id == plan_id)).all())
    rows: list[_ActivityRow] = []
    query = (
        select(Activity).where(Activity.plan_id == plan_id, Activity.in_source.is_(True)).order_by(Activity.position, Activity.id)
    )
    for activity in session.scalars(query):
        if lead and (activity.lead or "").casefold() != lead.casefold():
            continue
        if unit and (activity.unit_id is None or units.get(activity.unit_id) != unit):
            continue
        rows.append({"code": activity.code, "title": activity.title, "state": activity.state, "version": activity.version,
                     "since": last.get(activity.id)})  # fmt: skip
    return rows


def export_tracker(
    db: Database, plan: str, path: str | Path, *, lead: str | None = None, unit: str | None = None, now: dt.date | None = None
) -> ExportResult:
    """Write the tracker workbook for one plan (optionally one lead's or one unit's activities)."""
    import xlsxwriter

    day = now or today()
    path = output_file(path)
    with db.read() as session:
        target = find_plan(session, plan)
        digests.check_reads(session.connection(), [target.id])  # never hand out a cache that disagrees with the log
        if unit and unit not in {u.key for u in target.units}:
            raise BadInput(f"unknown unit {unit!r} in {target.slug}; units are {', '.join(u.key for u in target.units)}")
        lifecycle = lifecycle_for(target.lifecycle)
        rows = _activity_rows(session, target.id, lead, unit)
        if lead and not rows:
            raise BadInput(f"no activity of {target.slug} is led by {lead!r}")
        indicators = [  # plain values: the session's objects expire when the read ends
            (i.code, i.name, list(i.targets or []))
            for i in session.scalars(select(Indicator).where(Indicator.plan_id == target.id).order_by(Indicator.id))
        ]
        slug, start = target.slug, target.start
        periods = [p.key for p in target.periods]
    exported = utc_now()
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    try:
        head = workbook.add_format({"bold": True, "bg_color": "#DDDDDD", "locked": True})
        locked = workbook.add_format({"locked": True, "bg_color": "#F2F2F2"})
        locked_date = workbook.add_format({"locked": True, "bg_color": "#F2F2F2", "num_format": "yyyy-mm-dd"})
        free = workbook.add_format({"locked": False})
        free_date = workbook.add_format({"locked": False, "num_format": "yyyy-mm-dd"})
        date_rule = {
            "validate": "date", "criteria": "between", "minimum": start, "maximum": day,
            "error_title": "Date", "error_message": f"A date between {start} and {day} (not in the future).",
        }  # fmt: skip

        sheet = workbook.add_worksheet("Activities")
        sheet.write_row(0, 0, ACTIVITY_COLUMNS, head)
        for col, width in enumerate((10, 60, 14, 16, 12, 40, 30, 12)):
            sheet.set_column(col, col, width)
        for r, row in enumerate(rows, start=1):
            sheet.write_string(r, 0, safe_cell(row["code"]), locked)
            sheet.write_string(r, 1, safe_cell(row["title"]), locked)
            sheet.write_string(r, 2, row["state"], locked)
            if row["since"] is not None:
                sheet.write_datetime(r, 7, dt.datetime.combine(row["since"], dt.time()), locked_date)
            else:
                sheet.write_blank(r, 7, None, locked)
            sheet.write_blank(r, 3, None, free)
            sheet.write_blank(r, 4, None, free_date)
            sheet.write_blank(r, 5, None, free)
            sheet.write_blank(r, 6, None, free)
            reachable = [lifecycle.destination(row["code"], row["state"], t) for t in lifecycle.allowed(row["state"])]
            choices = list(dict.fromkeys(d for d in reachable if d))
            if choices:
                sheet.data_validation(r, 3, r, 3, {
                    "validate": "list", "source": choices, "error_type": "warning", "error_title": "New status",
                    "error_message": f"From {row['state']}: {', '.join(choices)} (or type a move such as "
                                     f"{lifecycle.allowed(row['state'])[0]}).",
                })  # fmt: skip
            sheet.data_validation(r, 4, r, 4, date_rule)
        sheet.freeze_panes(1, 0)
        sheet.protect("", {"format_columns": True, "autofilter": True, "sort": False})

        ind_sheet = workbook.add_worksheet("Indicators")
        ind_sheet.write_row(0, 0, INDICATOR_COLUMNS, head)
        for col, width in enumerate((10, 50, 14, 10, 12, 12, 30)):
            ind_sheet.set_column(col, col, width)
        r = 0
        for code, name, targets in indicators:
            for target_row in [t for t in targets if isinstance(t, dict)] or [{"period": None, "value": None}]:
                r += 1
                ind_sheet.write_string(r, 0, safe_cell(code), locked)
                ind_sheet.write_string(r, 1, safe_cell(name), locked)
                ind_sheet.write_string(r, 2, str(target_row.get("period") or ""), locked)
                value = target_row.get("value")
                if isinstance(value, (int, float)):
                    ind_sheet.write_number(r, 3, value, locked)
                else:
                    ind_sheet.write_blank(r, 3, None, locked)
                ind_sheet.write_blank(r, 4, None, free)
                ind_sheet.write_blank(r, 5, None, free_date)
                ind_sheet.write_blank(r, 6, None, free)
                ind_sheet.data_validation(r, 4, r, 4, {"validate": "decimal", "criteria": "between",
                                                       "minimum": -1e15, "maximum": 1e15})  # fmt: skip
                ind_sheet.data_validation(r, 5, r, 5, date_rule)
        ind_sheet.freeze_panes(1, 0)
        ind_sheet.protect("", {"format_columns": True})

        readme = workbook.add_worksheet("Read me")
        for i, line in enumerate(README.format(plan=slug, exported=exported).splitlines()):
            readme.write_string(i, 0, line)
        readme.set_column(0, 0, 100)
        readme.protect()

        stamp = workbook.add_worksheet(STAMP)
        stamp.write_row(0, 0, ("plan", slug))
        stamp.write_row(1, 0, ("exported_at", exported))
        stamp.write_row(2, 0, ("format", FORMAT_VERSION))
        stamp.write_row(3, 0, ("periods", ",".join(periods)))
        stamp.write_row(4, 0, ("code", "version", "state"))
        for i, row in enumerate(rows, start=5):
            stamp.write_row(i, 0, (row["code"], row["version"], row["state"]))
        stamp.protect()
        stamp.hide()
        sheet.activate()
    finally:
        workbook.close()
    return ExportResult(path, slug, len(rows), r)


# --- import -----------------------------------------------------------------------------


@dataclass
class TrackerImport:
    source: str
    plan: str
    submitted: list[int] = field(default_factory=list)
    recorded: list[int] = field(default_factory=list)
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.submitted)} submitted", f"{len(self.recorded)} recorded", f"{self.unchanged} unchanged"]
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} conflicts")
        if self.rejected:
            parts.append(f"{len(self.rejected)} rejected")
        return f"{self.source}: {self.plan}: " + ", ".join(parts)


@dataclass
class _Row:
    sheet: str
    number: int
    code: str
    draft: Draft


def _sheets(path: Path) -> dict[str, list[list[Any]]]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 (calamine raises its own errors for every unreadable file)
        raise BadInput(f"{path}: not a tracker workbook cpflow can read ({type(exc).__name__}: {exc})") from None
    sheets: dict[str, list[list[Any]]] = {}
    for name in book.sheet_names:
        sheets[name] = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    return sheets


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
    return parse_date(_text(value))


def _headers(rows: list[list[Any]], wanted: tuple[str, ...], sheet: str, source: str) -> dict[str, int]:
    header = [_text(v) for v in (rows[0] if rows else [])]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise BadInput(
            f"{source}: sheet {sheet} has no column {missing[0]!r}; export a fresh tracker with `cpflow tracker export`"
        )
    return {name: header.index(name) for name in wanted}


def import_tracker(
    db: Database,
    path: str | Path,
    *,
    by: str | None,
    keep_going: bool = False,
    now: dt.date | None = None,
    plugins: Plugins | None = None,
    plan: str | None = None,
) -> TrackerImport:
    """Turn every filled row into a submission (or a direct record for a lead); see the module docstring.
    With `plan`, a tracker of another plan is refused before its plan is looked up (the web app's upload)."""
    path = output_file(path)
    source = path.name
    day = now or today()
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    sheets = _sheets(path)
    if STAMP not in sheets or "Activities" not in sheets:
        raise BadInput(
            f"{source}: not a cpflow tracker (no {STAMP} or Activities sheet); export one with `cpflow tracker export`"
        )
    stamp = sheets[STAMP]
    slug = _text(stamp[0][1]) if stamp and len(stamp[0]) > 1 else ""
    versions = {_text(r[0]): (int(float(r[1])), _text(r[2])) for r in stamp[5:] if r and _text(r[0])}
    if plan is not None and slug != plan:
        raise BadInput(f"{source}: this is not a tracker of {plan}; export one from this plan's reports page")
    result = TrackerImport(source, slug)
    problems: list[str] = []
    rows: list[_Row] = []

    with db.read() as session:
        target = find_plan(session, slug)
        account = active_account(session, by, f"{source}: importing into {target.slug}")
        login = account.login
        held = roles_in(session, account.id, target.id)
        if not held & (DECIDERS | {"member"}):
            what = "is a reviewer, who reads and submits nothing" if "reviewer" in held else "holds no role"
            raise BadInput(f"{source}: {login} {what} in {target.slug}; nothing was written")
        direct = bool(held & DECIDERS) and not four_eyes(target)
        lifecycle = lifecycle_for(target.lifecycle)
        activities = {a.code: a for a in session.scalars(select(Activity).where(Activity.plan_id == target.id))}
        last_events = _last_events(session, target.id)

        for number, cell, code, bad in _filled_rows(
            sheets["Activities"], "Activities", INPUT_ACTIVITY, source, target.slug, problems
        ):
            activity = activities.get(code)
            if activity is None or code not in versions:
                bad("Code", code, "is not an activity of this tracker", "unknown-activity")
                continue
            exported_version, exported_state = versions[code]
            wanted = _text(cell["New status"])
            if not wanted:
                bad("New status", wanted, "has a date, reason or reference but no new status", "missing-status")
                continue
            allowed = lifecycle.allowed(exported_state)
            dests = {lifecycle.destination(code, exported_state, t): t for t in allowed}
            trigger = dests.get(wanted) or (wanted if wanted in allowed else None)
            if trigger is None:
                options = ", ".join(f"{d} ({t})" for d, t in dests.items()) or "none (it is final)"
                bad("New status", wanted, f"is {exported_state}: cannot become {wanted}; allowed: {options}", "illegal-move")
                continue
            try:
                at = _date(cell["Date"]) if _text(cell["Date"]) else None
            except ValueError as exc:
                bad("Date", cell["Date"], f"has no usable date: {exc}", "bad-date")
                continue
            if at is None:
                bad("Date", "", "needs the date it happened", "missing-date")
                continue
            if at > day:
                bad("Date", at, f"is dated in the future (today is {day})", "future-date")
                continue
            reason = _text(cell["Reason / comment"]) or None
            if lifecycle.rules[trigger].reason_required and not reason:
                bad("Reason / comment", "", f"needs a reason to {trigger}", "reason-required")
                continue
            ref = _text(cell["Reference"]) or None
            draft = Draft("move", f"{target.slug}:{code}", trigger, at, reason, ref)
            if _already(session, activity, draft, login, last_events):
                result.unchanged += 1
                continue
            if activity.version != exported_version:
                last = last_events.get(activity.id)
                since = f"; last {last[0]} by {last[2]} on {last[1]}" if last else ""
                result.conflicts.append(
                    f"{source}: Activities row {number}: {target.slug}:{code} changed since the export "
                    f"(version {exported_version}, {exported_state} then; version {activity.version}, {activity.state} now{since}) [conflict]"
                )
                continue
            rows.append(_Row("Activities", number, code, draft))

        if "Indicators" in sheets:
            rows += _indicator_rows(session, sheets["Indicators"], target, login, source, day, problems, result)

    if (problems or result.conflicts) and not keep_going:
        if problems:
            raise PlanFileError(source, problems + result.conflicts)
        raise ConflictError(f"{source}: {len(result.conflicts)} rows changed since the export; nothing was written\n"
                            + "\n".join(result.conflicts))  # fmt: skip
    result.rejected = problems
    if direct:
        for row in rows:
            if row.draft.kind == "move":
                assert row.draft.trigger is not None  # a move row is only drafted with its trigger
                moved = services.move(db, row.draft.ident, row.draft.trigger, actor=login, at=row.draft.at,
                                      reason=row.draft.reason, ref=row.draft.ref, now=day, plugins=plugins)  # fmt: skip
                result.recorded.append(moved.event_id)
            else:
                payload = row.draft.payload or {}
                measured = services.measure(db, row.draft.ident, payload["value"], actor=login, at=row.draft.at,
                                            period=payload.get("period"), source=payload.get("source"), now=day)  # fmt: skip
                result.recorded.append(measured.event_id)
    elif rows:
        result.submitted = [s["id"] for s in create_many(db, [r.draft for r in rows], by=login, now=day)]
    return result


# An activity's last move: (trigger, at, actor).
_LastMove = tuple[str | None, dt.date, str]


def _last_events(session: Session, plan_id: int) -> dict[int | None, _LastMove]:
    """Each activity's last move in the plan, by activity id (the column is nullable; moves have one)."""
    last: dict[int | None, _LastMove] = {}
    for activity_id, trigger, at, actor in session.execute(
        select(TransitionEvent.activity_id, TransitionEvent.trigger, TransitionEvent.at, TransitionEvent.actor)
        .where(TransitionEvent.plan_id == plan_id, TransitionEvent.kind == "transition")
        .order_by(TransitionEvent.id)
    ):
        last[activity_id] = (trigger, at, actor)
    return last


def _already(session: Session, activity: Activity, draft: Draft, login: str, last_events: dict[int | None, _LastMove]) -> bool:
    """The row was imported before: its move is the activity's last, or the same submission is pending or approved."""
    last = last_events.get(activity.id)
    if last is not None and last[0] == draft.trigger and last[1] == draft.at:
        return True
    same = select(Submission.id).where(
        Submission.activity_id == activity.id, Submission.trigger == draft.trigger, Submission.at == draft.at,
        Submission.submitted_by == login, Submission.status.in_(("pending", "approved")),
    )  # fmt: skip
    return session.scalar(same.limit(1)) is not None


# Records one problem of a tracker row: bad(column, value, message, error code).
_Bad = Callable[[str, Any, str, str], None]


def _filled_rows(
    rows: list[list[Any]],
    sheet: str,
    inputs: tuple[str, ...],
    source: str,
    slug: str,
    problems: list[str],
    extra: tuple[str, ...] = (),
) -> Iterator[tuple[int, dict[str, Any], str, _Bad]]:
    """Each row of a tracker sheet whose input cells someone filled: (its row number, cells by
    header, the row's code, `bad(column, value, message, error)` that records a problem naming the sheet,
    row, column, value and code)."""
    col = _headers(rows, ("Code", *extra, *inputs), sheet, source)
    for number, raw in enumerate(rows[1:], start=2):
        cell = {name: (raw[i] if i < len(raw) else None) for name, i in col.items()}
        if not any(_text(cell[c]) for c in inputs):
            continue
        code = _text(cell["Code"])

        def bad(column: str, value: Any, message: str, error: str, number: int = number, code: str = code) -> None:
            problems.append(
                f"{source}: {sheet} row {number}, column {column}, value {_text(value)!r}: {slug}:{code} {message} [{error}]"
            )

        yield number, cell, code, bad


def _indicator_rows(
    session: Session,
    rows: list[list[Any]],
    plan: Plan,
    login: str,
    source: str,
    day: dt.date,
    problems: list[str],
    result: TrackerImport,
) -> list[_Row]:
    known = {i.code: i for i in session.scalars(select(Indicator).where(Indicator.plan_id == plan.id))}
    out = []
    for number, cell, code, bad in _filled_rows(
        rows, "Indicators", INPUT_INDICATOR, source, plan.slug, problems, extra=("Period",)
    ):
        indicator = known.get(code)
        if indicator is None:
            bad("Code", code, "is not an indicator of this plan", "unknown-indicator")
            continue
        try:
            value = float(_text(cell["Value"]))
        except ValueError:
            bad("Value", cell["Value"], "needs a number", "bad-value")
            continue
        try:
            at = _date(cell["Date"]) if _text(cell["Date"]) else None
        except ValueError as exc:
            bad("Date", cell["Date"], f"has no usable date: {exc}", "bad-date")
            continue
        if at is None or at > day:
            bad("Date", cell["Date"], "needs the date it was measured, not in the future", "bad-date")
            continue
        period = _text(cell["Period"]) or None
        source_text = _text(cell["Source"]) or None
        measured = select(Measurement.id).where(
            Measurement.indicator_id == indicator.id, Measurement.at == at, Measurement.value == value,
            (Measurement.period == period) if period else Measurement.period.is_(None),
        )  # fmt: skip
        submitted = select(Submission.id).where(
            Submission.plan_id == plan.id, Submission.kind == "measure", Submission.target == code, Submission.at == at,
            Submission.submitted_by == login, Submission.status.in_(("pending", "approved")),
        )  # fmt: skip
        if session.scalar(measured.limit(1)) is not None or any(
            (s.payload or {}).get("value") == value and (s.payload or {}).get("period") == period
            for s in session.scalars(select(Submission).where(Submission.id.in_(submitted)))
        ):
            result.unchanged += 1
            continue
        payload = {"value": value, "period": period, "source": source_text}
        out.append(
            _Row("Indicators", number, code, Draft("measure", f"{plan.slug}:{code}", None, at, None, source_text, None, payload))
        )
    return out
