"""`cpflow import`: a coordinator's work-plan spreadsheet into a plan, in one transaction.

The import is a pipeline, each stage taking the previous one's output:

    read the sheets (readers) -> locate the header (columns.locate) -> map the columns by
    header and content (columns.read_by_content) -> read the rows (rows) -> build the plan
    and its statuses (build)

and this module only orchestrates and writes. The PlanSpec is loaded with
`cpflow.loading.load_plan`, so events, the audit chain and idempotency are those of
`cpflow load` (into a new plan a full load, into an existing one a partial one). Each
status cell is then one `imported status` fact: a `transition` event with trigger
`import` from the activity's current state, dated when the sheet says it held.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, case, func, select, update

from cpflow import audit
from cpflow.audit import Fact
from cpflow.db import Database
from cpflow.errors import BadInput, ConflictError, PlanFileError
from cpflow.importers.build import Builder, Built, _ColumnProblem
from cpflow.importers.cells import RowError, column_letter, shown, text
from cpflow.importers.columns import Columns, HeaderNotFound, HeaderProblem, locate, read_by_content
from cpflow.importers.context import PlanContext, load_context
from cpflow.importers.mapping import Mapping, read_mapping
from cpflow.importers.readers import Sheet, read_sheets
from cpflow.importers.rows import read_rows
from cpflow.lifecycle import lifecycle_for
from cpflow.loading import LoadResult, load_plan
from cpflow.models import Activity, Plan, TransitionEvent
from cpflow.plans import SLUG, LoadedPlan
from cpflow.safe_output import csv_writer, safe_cell

MAX_LISTED = 200


class SpreadsheetError(PlanFileError):
    """Rows that failed validation; nothing was written. Lists the first MAX_LISTED."""

    def __init__(self, source: str, problems: list[str], total: int | None = None):
        total = total or len(problems)
        shown = problems[:MAX_LISTED]
        if total > len(shown):
            shown = [
                *shown,
                f"… and {total - len(shown)} more (--keep-going writes the good rows and lists every rejected row in a file)",
            ]
        super().__init__(source, shown, total)


MERGE_LIMIT = 2  # new objectives (or units) a differently titled sheet may add to a plan without --merge


@dataclass
class ImportResult:
    load: LoadResult
    sheet: str
    header_row: int  # 1-based
    rows: int  # activity rows imported
    columns: dict[str, str]  # field -> header text
    ignored: list[str]
    rejected: int = 0
    rejects_path: Path | None = None
    notes: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)  # codes whose imported status was recorded
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return self.load.changed or bool(self.statuses)

    def summary(self, source: str) -> str:
        """One line: what the import did (or, with --dry-run, would do) to the plan."""
        line = self.load.summary(source, rows=self.rows)
        if self.statuses:
            recorded = f"{len(self.statuses)} status{'es' if len(self.statuses) != 1 else ''} recorded"
            line = f"{self.load.slug}: {recorded} from {source}" if not self.load.changed else f"{line}, {recorded}"
        return f"dry run, nothing was written: {line}" if self.dry_run else line


class _DryRun(Exception):
    """Raised inside the write transaction to roll it back, carrying what it would have done."""

    def __init__(self, result):
        self.result = result


def import_file(
    db: Database,
    path: str | Path,
    *,
    plan: str,
    actor: str | None,
    title: str | None = None,
    mapping: str | Path | None = None,
    sheet: str | None = None,
    keep_going: bool = False,
    now: dt.date | None = None,
    progress: Callable | None = None,
    status: Callable[[str], None] | None = None,
    readers: dict | None = None,
    dry_run: bool = False,
    merge: bool = False,
    status_date: dt.date | None = None,
) -> ImportResult:
    """Import one sheet of `path` into plan `plan` (created when new); all or nothing,
    unless `keep_going`, which loads the good rows and writes the rest to a rejects file.
    `dry_run` does everything but commit; `merge` allows a sheet titled otherwise to add
    objectives and units to an existing plan; `status_date` dates statuses the sheet does
    not date. `progress(rows, length)` wraps the row loop; `status(text)` hears what comes next.

    The cycle collector is paused throughout: the cells, drafts, specs and facts are many
    new objects without cycles, and each generation-2 pass walks them all again (a third
    of a 10,000-row import's CPU time)."""
    from cpflow.clock import today
    from cpflow.read.queries import collector_paused
    from cpflow.services import require_actor

    with collector_paused():
        actor = require_actor(actor)
        day = now or today()
        path = Path(path)
        source = str(path)
        if not SLUG.match(plan or ""):
            raise BadInput(f"--plan: expected a slug of lower-case letters, digits and '-', got {plan!r}")
        rules = read_mapping(mapping)
        sheets = read_sheets(path, sheet or rules.sheet, readers)
        try:
            data_sheet, columns = locate(
                sheets, rules.header_targets(), rules.header_row - 1 if rules.header_row else None, source
            )
            columns = read_by_content(columns, data_sheet.rows, rules.states, rules.date_format)
        except HeaderNotFound as exc:
            raise SpreadsheetError(source, [str(exc)]) from None
        except HeaderProblem as exc:
            raise SpreadsheetError(source, [f'{source}: sheet "{data_sheet.name}", {exc}']) from None
        db.ensure_schema()
        with db.read() as session:
            ctx = load_context(session, plan)
        _check_states(rules, ctx, mapping)
        read = read_rows(
            data_sheet, columns, fill_down=rules.fill_down, date_format=rules.date_format,
            states=ctx.states, status_words=rules.states, progress=progress,
        )  # fmt: skip
        notes = [*columns.notes, *read.notes]
        preamble = [" ".join(t for c in row if (t := text(c))) for row in data_sheet.rows[: columns.first_row]]
        preamble = [line for line in preamble if line]
        if ctx.exists and title and title != ctx.meta.title:
            notes.append(f"--title ignored: plan {plan} exists (titled {ctx.meta.title!r})")
        sheet_title = title or rules.plan.title or (preamble[0] if preamble else None)
        lifecycle = lifecycle_for(ctx.lifecycle)
        builder = Builder(ctx, data_sheet.name, columns, rules, read, title=sheet_title or path.stem, source=path.name,
                          preamble=preamble, today=day, status_date=status_date,
                          dropped=lifecycle.tagged("cancelled"))  # fmt: skip
        try:
            built = builder.build()
        except _ColumnProblem as exc:
            raise SpreadsheetError(source, [f"{source}: {exc}"]) from None
        notes.extend(built.notes)
        if "budget" in columns.fields:
            notes.append(
                f'column "{columns.label("budget")}" was not imported: budgets are kept per unit and period (budgets: in a plan file, or cpflow fund)'
            )
        problems = [e for d in built.rejected for e in d.errors]
        if problems and not keep_going:
            raise SpreadsheetError(source, [e.describe(source) for e in problems[:MAX_LISTED]], total=len(problems))
        if not built.included or built.spec is None:
            what = "no row could be imported" if problems else f'sheet "{data_sheet.name}" has a header row but no activity rows'
            raise SpreadsheetError(
                source, [f"{source}: {what}"] + [e.describe(source) for e in problems[:MAX_LISTED]], total=len(problems) + 1
            )
        if ctx.exists and not merge:
            _refuse_foreign_sheet(source, sheet_title, ctx, built)
        if built.status_dates:
            dated = "; ".join(f"{n} from {how}" for how, n in built.status_dates.items())
            notes.append(f"statuses are dated: {dated}")
        rejects_path = None
        if built.rejected and not dry_run:
            rejects_path = _write_rejects(path, data_sheet, columns, built.rejected)
        loaded = LoadedPlan(spec=built.spec, source=source, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
        where = f'{path.name}, sheet "{data_sheet.name}"'
        # The write keeps only what it needs: the sheet's cells, the drafts and the builder are let
        # go before it (at 100,000 rows they are a third of the import's peak memory).
        sheet_name, included, rejected = data_sheet.name, len(built.included), len(built.rejected)
        scheduled = {f"schedule:{builder.column_periods[col]}": columns.labels[col] for col, _ in columns.schedule}
        built.included, built.rejected = [], []
        del sheets, data_sheet, read, builder

        def work(session):
            if load_context(session, plan).exists != ctx.exists:
                raise ConflictError(
                    f"plan {plan} was {'removed' if ctx.exists else 'created'} while importing; nothing was written — import again"
                )
            result = load_plan(session, loaded, actor=actor, today=day, partial=ctx.exists)
            recorded = _record_statuses(session, plan, built, result, actor, where)
            if dry_run:
                raise _DryRun((result, recorded))
            return result, recorded

        if status:
            status(f"{'checking' if dry_run else 'writing'} {included} activities to {plan} …")
        try:
            result, recorded = db.write(work)
        except _DryRun as rolled_back:
            result, recorded = rolled_back.result
        return ImportResult(
            load=result, sheet=sheet_name, header_row=columns.first_row + 1, rows=included,
            columns={name: columns.labels[col] for name, col in columns.fields.items()} | scheduled,
            ignored=columns.ignored + [f"duplicate {d}" for d in columns.duplicates],
            rejected=rejected, rejects_path=rejects_path, notes=notes, statuses=recorded, dry_run=dry_run,
        )  # fmt: skip


def _refuse_foreign_sheet(source: str, sheet_title: str | None, ctx: PlanContext, built: Built) -> None:
    """A sheet titled otherwise that would add several objectives or units is probably meant
    for another plan: refuse unless --merge."""
    if sheet_title is not None and sheet_title.casefold() == ctx.meta.title.casefold():
        return
    new = {
        "objectives": [o.code for o in built.spec.objectives if o.code not in ctx.objectives],
        "units": [u.key for u in built.spec.units if u.key not in ctx.units],
    }
    for what, keys in new.items():
        if len(keys) > MERGE_LIMIT:
            titled = f'titled "{sheet_title}"' if sheet_title else "without a title row"
            raise BadInput(
                f"{source}: the sheet ({titled}) would add {len(keys)} {what} ({', '.join(keys[:5])}"
                f'{" …" if len(keys) > 5 else ""}) to plan {ctx.slug} ("{ctx.meta.title}"); if it belongs there, '
                "import it with --merge (--dry-run shows what would change); nothing was written"
            )


def _record_statuses(session, slug: str, built: Built, result: LoadResult, actor: str, where: str) -> list[str]:
    """One `imported status` fact per status that differs from the activity's state: a
    transition with trigger `import` from the current state, dated when the sheet says it
    held. A status never overrules a move recorded by hand (or a later imported one)."""
    if not built.statuses:
        return []
    plan_id = session.scalar(select(Plan.id).where(Plan.slug == slug))
    current = {
        row.code: row
        for row in session.execute(
            select(Activity.id, Activity.code, Activity.state, Activity.version).where(Activity.plan_id == plan_id)
        )
    }
    history = {
        row.activity_id: row
        for row in session.execute(
            select(
                TransitionEvent.activity_id,
                func.max(TransitionEvent.at).label("last_at"),
                func.sum(case((TransitionEvent.trigger == "import", 0), else_=1)).label("by_hand"),
            )
            .join(Activity, Activity.id == TransitionEvent.activity_id)
            .where(Activity.plan_id == plan_id, TransitionEvent.kind == "transition")
            .group_by(TransitionEvent.activity_id)
        )
    }
    facts, updates, recorded, older = [], [], [], []
    for st in built.statuses:
        activity = current[st.code]
        if activity.state == st.state:
            continue
        past = history.get(activity.id)
        if past is not None and past.by_hand:
            result.ignored_states.append(st.code)
            continue
        if past is not None and st.at < past.last_at:
            older.append(st.code)
            continue
        reason = f'imported status "{st.word}" ({where}, row {st.row})' + (f": {st.reason}" if st.reason else "")
        facts.append(Fact("transition", actor, st.at, plan_id=plan_id, activity_id=activity.id, trigger="import",
                          from_state=activity.state, to_state=st.state, reason=reason))  # fmt: skip
        updates.append({"b_id": activity.id, "b_state": st.state, "b_version": activity.version + 1})
        recorded.append(st.code)
    if older:
        result.kept.append(
            f"note: the sheet's status is older than the one recorded, which was kept: {', '.join(older[:20])}"
            + (" …" if len(older) > 20 else "")
        )
    if updates:
        session.connection().execute(
            update(Activity)
            .where(Activity.id == bindparam("b_id"))
            .values(state=bindparam("b_state"), version=bindparam("b_version")),
            updates,
        )
        result.events += len(audit.append(session, facts))
    return recorded


def _check_states(rules: Mapping, ctx: PlanContext, mapping: str | Path | None) -> None:
    unknown = [(word, state) for word, state in rules.states.items() if state not in ctx.states]
    if unknown:
        word, state = unknown[0]
        raise PlanFileError(
            str(mapping), [f"{mapping}: states.{word}: unknown state {state!r}; states are {', '.join(ctx.states)}"]
        )


def _write_rejects(path: Path, sheet: Sheet, columns: Columns, rejected) -> Path:
    """FILE.rejects.csv next to the input: each rejected row's cells and its problems."""
    target = path.with_name(f"{path.stem}.rejects.csv")
    width = max([len(columns.labels)] + [len(d.cells) for d in rejected])
    labels = columns.labels + [column_letter(i) for i in range(len(columns.labels), width)]
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv_writer(handle)
        writer.writerow([safe_cell(h) for h in ("sheet", "row", "problems", *labels)])
        for d in rejected:
            problems = "; ".join(_short(e) for e in d.errors)
            writer.writerow([safe_cell(sheet.name), d.row, safe_cell(problems), *(safe_cell(text(c)) for c in d.cells)])
    return target


def _short(e: RowError) -> str:
    where = f"column {e.column} ({e.header})" if e.column else "row"
    return f"{where}: got {shown(e.value)}; expected {e.expected}"
