"""scale: peak memory of the reviews a large plan set needs — `check`, `report progress`
and `report pack` at 300,000 activities (3M events, the seeded generator), and the pack at
100,000. Judged on peak RSS (VmHWM of the process, set-up included), not on a ratio; runs
only with --size full (generating the 300k data takes minutes; it is cached)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks import AS_OF, SEED

NAME = "scale"
TARGET = 0.0  # no ratio: RSS_LIMIT_MB is the target
RSS_LIMIT_MB = 1536
DOES = "the variant's command, in-process, on the 300k-activity data (pack_100k: on the full fixture)"
BASELINE = "(none: peak RSS against the limit)"
REQUIRES = ("cpflow.rules.engine", "cpflow.reports.build", "cpflow.reports.pack")
BACKENDS = ("sqlite",)
ONLY_SIZES = ("full",)
REPS = 1
VARIANTS = {
    "check": {"does": "rules.engine.run_checks on 300k activities"},
    "progress": {"does": "report progress (build + xlsx) on 300k activities"},
    "pack": {"does": "report pack (both reports, every format, manifest) on 300k activities"},
    "pack_100k": {"does": "report pack on the 100k full fixture", "rss_limit_mb": 1024},
}


def setup_run(data, scratch, backend, variant=None):
    """The 300k data, generated once (in a process of its own) and cached beside the others."""
    if variant == "pack_100k":
        return {"fixture": str(data.fixture_db)}
    out = data.root.parent
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.generate", "--size", "scale", "--out", str(out)],
        capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"generating the scale data exited {proc.returncode}")
    return {"fixture": str(out / f"scale-{SEED}" / "fixture.db")}


def cpflow(ctx):
    from cpflow.db import Database
    from cpflow.plugins.manager import get_plugins
    from cpflow.reports.build import ReportOptions, build_reports
    from cpflow.reports.output import write_report
    from cpflow.reports.pack import write_pack
    from cpflow.rules.engine import run_checks

    db = Database(f"sqlite:///{ctx.params['fixture']}")
    db.require_schema()
    plugins = get_plugins()
    options = ReportOptions(as_of=AS_OF)
    out = ctx.scratch / f"scale-{ctx.variant}-{ctx.rep}"

    def run():
        if ctx.variant == "check":
            with db.read() as session:
                return len(run_checks(session, as_of=AS_OF, plugins=plugins).findings)
        if ctx.variant == "progress":
            (report,), _ = build_reports(db, ("progress",), options, plugins)
            return len(write_report(report, "xlsx", out.with_suffix(".xlsx")))
        return len(write_pack(db, options, out, plugins))

    return run


def summary(ctx, value):
    return {"result": value}
