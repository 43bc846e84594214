"""`cpflow import`: a coordinator's work-plan spreadsheet into a plan, in one transaction.

The import builds a PlanSpec and loads it with `cpflow.loading.load_plan`, so events,
the audit chain and idempotency are those of `cpflow load`. Into a new plan it is a
full load; into an existing plan a partial one (its other activities stay as they are).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cpflow.db import Database
from cpflow.errors import BadInput, ConflictError, PlanFileError
from cpflow.importers.build import Builder, _ColumnProblem
from cpflow.importers.cells import RowError, column_letter, text
from cpflow.importers.columns import SYNONYMS, Columns, find_header, map_header
from cpflow.importers.context import PlanContext, load_context
from cpflow.importers.mapping import Mapping, read_mapping
from cpflow.importers.readers import Sheet, read_sheets
from cpflow.importers.rows import read_rows
from cpflow.loading import LoadResult, load_plan
from cpflow.safe_output import csv_writer, safe_cell
from cpflow.plans import SLUG, LoadedPlan

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
        super().__init__(source, shown)
        self.args = (f"{source}: {total} problem{'s' if total != 1 else ''}; nothing was written\n" + "\n".join(shown),)


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
) -> ImportResult:
    """Import one sheet of `path` into plan `plan` (created when new); all or nothing,
    unless `keep_going`, which loads the good rows and writes the rest to a rejects file.
    `progress(rows, length)` wraps the row loop; `status(text)` hears what comes next."""
    from cpflow.clock import today
    from cpflow.services import require_actor

    actor = require_actor(actor)
    path = Path(path)
    source = str(path)
    if not SLUG.match(plan or ""):
        raise BadInput(f"--plan: expected a slug of lower-case letters, digits and '-', got {plan!r}")
    rules = read_mapping(mapping)
    data_sheet, columns = _choose_sheet(read_sheets(path, sheet or rules.sheet, readers), rules, source)
    db.ensure_schema()
    with db.read() as session:
        ctx = load_context(session, plan)
    _check_states(rules, ctx, mapping)
    read = read_rows(
        data_sheet, columns, fill_down=rules.fill_down, date_format=rules.date_format,
        states=ctx.states, status_words=rules.states, progress=progress,
    )  # fmt: skip
    notes = []
    preamble = [" ".join(t for c in row if (t := text(c))) for row in data_sheet.rows[: columns.header_row]]
    preamble = [line for line in preamble if line]
    if ctx.exists and title and title != ctx.meta.title:
        notes.append(f"--title ignored: plan {plan} exists (titled {ctx.meta.title!r})")
    plan_title = title or rules.plan.title or (preamble[0] if preamble else path.stem)
    builder = Builder(ctx, data_sheet.name, columns, rules, read, title=plan_title, source=path.name,
                      preamble=preamble, today=now or today())  # fmt: skip
    try:
        built = builder.build()
    except _ColumnProblem as exc:
        raise SpreadsheetError(source, [f"{source}: {exc}"]) from None
    notes.extend(built.notes)
    if "budget" in columns.fields:
        notes.append(
            f'column "{columns.labels[columns.fields["budget"]]}" was not imported: budgets are kept per unit and period (budgets: in a plan file, or cpflow fund)'
        )
    problems = [e for d in built.rejected for e in d.errors]
    if problems and not keep_going:
        raise SpreadsheetError(source, [e.describe(source) for e in problems[:MAX_LISTED]], total=len(problems))
    if not built.included or built.spec is None:
        what = "no row could be imported" if problems else f'sheet "{data_sheet.name}" has a header row but no activity rows'
        raise SpreadsheetError(
            source, [f"{source}: {what}"] + [e.describe(source) for e in problems[:MAX_LISTED]], total=len(problems) + 1
        )
    rejects_path = _write_rejects(path, data_sheet, columns, built.rejected) if built.rejected else None
    loaded = LoadedPlan(spec=built.spec, source=source, sha256=hashlib.sha256(path.read_bytes()).hexdigest())

    def work(session):
        if load_context(session, plan).exists != ctx.exists:
            raise ConflictError(
                f"plan {plan} was {'removed' if ctx.exists else 'created'} while importing; nothing was written — import again"
            )
        return load_plan(session, loaded, actor=actor, today=now or today(), partial=ctx.exists)

    if status:
        status(f"writing {len(built.included)} activities to {plan} …")
    result = db.write(work)
    return ImportResult(
        load=result, sheet=data_sheet.name, header_row=columns.header_row + 1, rows=len(built.included),
        columns={name: columns.labels[col] for name, col in columns.fields.items()}
        | {f"schedule:{builder.column_periods[col]}": columns.labels[col] for col, _ in columns.schedule},
        ignored=columns.ignored + [f"duplicate {d}" for d in columns.duplicates],
        rejected=len(built.rejected), rejects_path=rejects_path, notes=notes,
    )  # fmt: skip


def _choose_sheet(sheets: list[Sheet], rules: Mapping, source: str) -> tuple[Sheet, Columns]:
    """The first sheet with a header row (the named one when a sheet was named)."""
    targets = rules.header_targets()
    header_row = rules.header_row - 1 if rules.header_row else None
    for sheet in sheets:
        columns = find_header(sheet.rows, targets, header_row)
        if columns is not None and "title" in columns.fields:
            return sheet, columns
    raise SpreadsheetError(source, [_no_header(sheets, targets, header_row, source)])


def _no_header(sheets: list[Sheet], targets: dict[str, str], header_row: int | None, source: str) -> str:
    """Why no header row was found: the nearest candidate and what it lacks."""
    hint = 'if it has another name, map it in a mapping file: columns: {"Your header": title}'
    names = ", ".join(s.title() for s in SYNONYMS["title"][:6])
    for sheet in sheets:
        rows = [header_row] if header_row is not None else range(min(50, len(sheet.rows)))
        for index in rows:
            if index >= len(sheet.rows):
                return f'{source}: sheet "{sheet.name}" has no row {index + 1}'
            columns = map_header(sheet.rows[index], index, targets)
            if len(columns.fields) + len(columns.schedule) >= 2 or header_row is not None:
                found = ", ".join(repr(columns.labels[c]) for c in sorted(columns.used())) or "nothing cpflow knows"
                return (f'{source}: sheet "{sheet.name}" row {index + 1} has the headers {found} but no Activity column '
                        f"(the required column: {names} …); {hint}")  # fmt: skip
    where = ", ".join(f'"{s.name}"' for s in sheets) or "(no sheets)"
    if all(not any(text(c) for row in s.rows for c in row) for s in sheets):
        return f"{source}: sheet {where} is empty"
    return f"{source}: no header row in sheet {where}: none of the first 50 rows names an Activity column ({names} …); {hint}"


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
        writer.writerow(["sheet", "row", "problems", *labels])
        for d in rejected:
            problems = "; ".join(_short(e) for e in d.errors)
            writer.writerow([safe_cell(sheet.name), d.row, safe_cell(problems), *(safe_cell(text(c)) for c in d.cells)])
    return target


def _short(e: RowError) -> str:
    where = f"column {e.column} ({e.header})" if e.column else "row"
    shown = "empty" if e.value in (None, "") else repr(e.value if isinstance(e.value, str) else text(e.value))
    return f"{where}: got {shown}; expected {e.expected}"
