"""report_xlsx: progress.xlsx for every plan as of a date (`cpflow report progress`)."""

from __future__ import annotations

from pathlib import Path

from benchmarks import AS_OF, rawdb

NAME = "report_xlsx"
TARGET = 1.5
DOES = "cpflow.reports.build.build_reports('progress') + output.write_report(…, 'xlsx') as of a date"
BASELINE = "(the old baseline, kept for comparison) the raw as-of query + xlsxwriter constant_memory writing the same rows, one sheet, unformatted"
EXTRA_BASELINES = {
    "fair": {
        "target": 1.4,
        "baseline": "raw xlsxwriter making every call cpflow's writer makes (all sheets, cells, formats, widths, panes, "
        "filters, conditional formats, charts, properties), values prepared untimed: a byte-identical file",
        "compare": True,
    }
}
REQUIRES = ("cpflow.reports.build", "cpflow.reports.output", "cpflow.reports.xlsx")
BACKENDS = ("sqlite",)
COMPARE = False  # the old baseline writes another file; the fair one must write the same bytes


def setup_run(data, scratch, backend, variant=None):
    """Once per run, in a process of its own: cpflow's xlsx calls recorded for the fair
    baseline (benchmarks/xlsxreplay.py), untimed."""
    import subprocess
    import sys

    log = scratch / "report-xlsx-calls.pickle"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.xlsxreplay", str(data.fixture_db), AS_OF.isoformat(), str(log)],
        capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"recording exited {proc.returncode}")
    return {"calls": str(log)}


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


def baseline_fair(ctx):
    from benchmarks.xlsxreplay import load, replay

    recorded = load(Path(ctx.params["calls"]))
    out = ctx.scratch / f"progress-{ctx.side}-{ctx.rep}.xlsx"
    return lambda: [replay(recorded, out)]


def summary(ctx, paths):
    """Size and SHA-256 of what was written: the fair baseline must write cpflow's bytes."""
    import hashlib

    return {"bytes": sum(p.stat().st_size for p in paths), "sha256": [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]}
