"""import: a coordinator's work-plan workbook of N rows — read, locate the header, map the
columns, read the rows, build the plan, write it and its dated statuses."""

from __future__ import annotations

import hashlib
from collections import Counter

from benchmarks import ACTOR, NOW, SIZES, rawdb

NAME = "import"
TARGET = 3.0
DOES = (
    "cpflow.importers.service.import_file of one xlsx sheet of N rows (title rows, merged-style objective cells, "
    "quarter X marks, statuses dated by --status-date) into an empty SQLite database"
)
BASELINE = "python-calamine reading the same sheet into Python lists (CalamineWorkbook.to_python)"
EXTRA_BASELINES = {
    "fair": {
        "target": 1.5,
        "baseline": "python-calamine read + the rows parsed by hand (objective carried down, codes from the text, "
        "quarter marks, status words) + pydantic validation (benchmarks/planschema.py) + sqlite3 executemany of the "
        "plan's rows + the hash-chained `create` events and one `transition` per status, states updated",
        "compare": True,
    }
}
REQUIRES = ("cpflow.importers.service", "python_calamine")
BACKENDS = ("sqlite",)
COMPARE = False  # calamine alone writes nothing; the fair baseline is compared (rows, events by kind)
STATUS = ("Not started", "Ongoing", "Done", "Agreed")
SHEET = "Work plan"
# What the sheet's status words are under the default lifecycle (cpflow.importers.cells.STATES).
STATE_OF = {"Not started": "proposed", "Ongoing": "in_progress", "Done": "completed", "Agreed": "endorsed"}


def workbook(ctx):
    """The sheet (written once per run into the scratch directory, untimed): objectives every
    100 rows (blank below, as when merged), quarter marks, statuses, results."""
    import xlsxwriter

    rows = SIZES[ctx.size].activities
    path = ctx.scratch / f"import-{rows}.xlsx"
    if path.exists():
        return path
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet(SHEET)
    sheet.write_row(0, 0, ["Country work plan 2025"])
    sheet.write_row(2, 0, ["Objective", "Activity", "Responsible", "Q1", "Q2", "Q3", "Q4", "Status", "Expected result"])
    for i in range(rows):
        objective = f"Objective {i // 100 + 1}: Theme {i // 100 + 1}" if i % 100 == 0 else None
        values = [objective, f"{i % 100 + 1}. Activity {i} of the work plan", f"Agency {i % 7}",
                  *("X" if i % 4 == q else None for q in range(4)), STATUS[i % 4], f"Result {i}"]  # fmt: skip
        for col, value in enumerate(values):
            if value is not None:
                sheet.write_string(i + 3, col, value)
    book.close()
    return path


def cpflow(ctx):
    from cpflow.db import Database
    from cpflow.importers.service import import_file

    path = workbook(ctx)
    target = ctx.scratch_copy(ctx.data.empty_db)
    db = Database(f"sqlite:///{target}")
    db.require_schema()
    ctx.path = target
    return lambda: import_file(db, path, plan="bench-import", actor=ACTOR, now=NOW, status_date=NOW).rows


def baseline(ctx):
    from python_calamine import CalamineWorkbook

    path = workbook(ctx)

    def run():
        grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
        return len(grid) - 3

    return run


def baseline_fair(ctx):
    import datetime as dt
    import re

    from python_calamine import CalamineWorkbook

    from benchmarks.planschema import validate
    from cpflow.audit import utc_now

    path = workbook(ctx)
    target = ctx.scratch_copy(ctx.data.empty_db)
    conn = rawdb.sqlite_connect(target)
    ctx.path = target
    objective_re = re.compile(r"^Objective (\d+):\s*(.*)$")
    numbered = re.compile(r"^(\d+)\.\s+(.*)$")

    def run():
        data = path.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
        header = grid[2]
        col = {name: header.index(name) for name in header if name}
        quarters = [(col[f"Q{q}"], f"Q{q}") for q in range(1, 5)]
        year = NOW.year  # what cpflow reads quarters without a year as, given --status-date NOW
        periods = [{"key": f"Q{q}", "name": f"Q{q} {year}", "kind": "quarter", "start": dt.date(year, 3 * q - 2, 1),
                    "end": dt.date(year, 3 * q, [31, 30, 30, 31][q - 1])} for q in range(1, 5)]  # fmt: skip
        objectives, activities, statuses = [], [], []
        objective = None
        for index, row in enumerate(grid[3:], start=4):
            cell = row[col["Objective"]]
            if cell:
                code, title = objective_re.match(cell).groups()
                objective = code
                objectives.append({"code": code, "title": title})
            number, title = numbered.match(row[col["Activity"]]).groups()
            code = f"{objective}.{number}"
            activity = {"code": code, "title": title, "objective": objective, "lead": row[col["Responsible"]],
                        "schedule": [key for c, key in quarters if row[c] == "X"],
                        "expected_result": row[col["Expected result"]]}  # fmt: skip
            activities.append(activity)
            word = row[col["Status"]]
            statuses.append((code, word, STATE_OF[word], index))
        spec = validate({
            "format": 1,
            "plan": {"slug": "bench-import", "title": grid[0][0], "start": periods[0]["start"], "end": periods[-1]["end"],
                     "source": path.name, "records_expected_results": True},
            "periods": periods, "objectives": objectives, "activities": activities,
        })  # fmt: skip
        rows, ids, _ = rawdb.plan_rows(spec, rawdb.Ids(), sha256=sha256)
        (plan_id,) = (row[0] for row in rows["plans"])
        where = f'{path.name}, sheet "{SHEET}"'
        facts = [("create", ACTOR, NOW, plan_id, None, None, None, None, None, None,
                  {"table": "plans", "key": "bench-import", "file_sha256": sha256})]  # fmt: skip
        facts.extend(
            ("create", ACTOR, NOW, plan_id, activity_id, None, None, None, None, None, {"code": code})
            for code, activity_id in ids.items()
        )
        moved = [(code, word, state, index) for code, word, state, index in statuses if state != "proposed"]
        facts.extend(
            ("transition", ACTOR, NOW, plan_id, ids[code], "import", "proposed", state,
             f'imported status "{word}" ({where}, row {index})', None, None)
            for code, word, state, index in moved
        )  # fmt: skip
        conn.execute("BEGIN IMMEDIATE")
        rawdb.insert_rows(conn, rows)
        rawdb.append_events(conn, facts, utc_now())
        conn.executemany("UPDATE activities SET state = ?, version = 2 WHERE id = ?", [(s, ids[c]) for c, _, s, _ in moved])
        conn.execute("COMMIT")
        return len(activities)

    return run


def summary(ctx, value):
    """Activities imported; for the sides that write (cpflow, fair): rows per table, events
    by kind, chain length and activities by state, which must agree."""
    if ctx.path is None:
        return {"rows": value}
    conn = rawdb.sqlite_connect(ctx.path)
    try:
        tables = ("plans", "periods", "objectives", "activities")
        out = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608
        out["events"] = dict(sorted(Counter(k for (k,) in conn.execute("SELECT kind FROM transition_events")).items()))
        out["states"] = dict(conn.execute("SELECT state, count(*) FROM activities GROUP BY state ORDER BY state").fetchall())
        out["chain_length"] = conn.execute("SELECT seq FROM chain_head WHERE id = 1").fetchone()[0]
        return out
    finally:
        conn.close()
