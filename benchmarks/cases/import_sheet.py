"""import: a coordinator's work-plan workbook of N rows — read, locate the header, map the
columns, read the rows, build the plan, write it and its dated statuses."""

from __future__ import annotations

from benchmarks import ACTOR, NOW, SIZES

NAME = "import"
TARGET = 3.0
DOES = (
    "cpflow.importers.service.import_file of one xlsx sheet of N rows (title rows, merged-style objective cells, "
    "quarter X marks, statuses dated by --status-date) into an empty SQLite database"
)
BASELINE = "python-calamine reading the same sheet into Python lists (CalamineWorkbook.to_python)"
REQUIRES = ("cpflow.importers.service", "python_calamine")
BACKENDS = ("sqlite",)
COMPARE = False  # the sides return different things: activities written vs cells read
STATUS = ("Not started", "Ongoing", "Done", "Agreed")
SHEET = "Work plan"


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


def summary(ctx, value):
    return {"rows": value}
