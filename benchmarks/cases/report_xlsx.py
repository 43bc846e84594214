"""report_xlsx: progress.xlsx for every plan as of a date (`cpflow report progress`)."""

from __future__ import annotations

from benchmarks import AS_OF, rawdb

NAME = "report_xlsx"
TARGET = 1.5
DOES = "cpflow.reports.build.build_reports('progress') + output.write_report(…, 'xlsx') as of a date"
BASELINE = "the raw as-of query + xlsxwriter constant_memory writing the same rows, unformatted"
REQUIRES = ("cpflow.reports.build", "cpflow.reports.output", "cpflow.reports.xlsx")
BACKENDS = ("sqlite",)
COMPARE = False


def cpflow(ctx):
    import cpflow.reports.progress  # noqa: F401 (pandas is imported untimed, as the baseline's xlsxwriter is)
    import cpflow.reports.xlsx  # noqa: F401
    from cpflow.db import Database
    from cpflow.plugins.manager import get_plugins
    from cpflow.reports.build import ReportOptions, build_reports
    from cpflow.reports.output import write_report

    db = Database(ctx.fixture_url)
    db.require_schema()
    plugins = get_plugins()
    out = ctx.scratch / f"progress-{ctx.side}-{ctx.rep}.xlsx"

    def run():
        (report,), _ = build_reports(db, ("progress",), ReportOptions(as_of=AS_OF), plugins)
        return write_report(report, "xlsx", out)

    return run


def baseline(ctx):
    import xlsxwriter

    conn = rawdb.sqlite_connect(ctx.data.fixture_db)
    out = ctx.scratch / f"progress-{ctx.side}-{ctx.rep}.xlsx"
    sql, params = rawdb.as_of_sql(), (AS_OF.isoformat(), AS_OF.isoformat())
    header = ("id", "plan", "code", "title", "objective", "unit", "lead", "phase", "start", "due", "sectors", "state")

    def run():
        book = xlsxwriter.Workbook(str(out), {"constant_memory": True})
        sheet = book.add_worksheet("activities")
        sheet.write_row(0, 0, header)
        for r, row in enumerate(conn.execute(sql, params), start=1):
            sheet.write_row(r, 0, row)
        book.close()
        return [out]

    return run


def summary(ctx, paths):
    return {"bytes": sum(p.stat().st_size for p in paths)}
