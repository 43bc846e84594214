"""check: every built-in rule on every activity, as of a date (`cpflow check`)."""

from __future__ import annotations

from benchmarks import AS_OF, rawdb

NAME = "check"
TARGET = 2.5  # issue 17; the suite judged 3 until this round
DOES = "cpflow.rules.engine.run_checks with every registered rule, as of a date (frames + rules + findings)"
BASELINE = "pandas.read_sql of the same tables (events and measurements up to the date): the data-access floor"
REQUIRES = ("cpflow.rules.engine", "cpflow.read.frames")
BACKENDS = ("sqlite",)
COMPARE = False  # the baseline reads; it finds nothing to compare with

# What the rules read: every table of the plans, the log up to the date.
TABLES = {
    "plans": "SELECT * FROM plans WHERE start <= :d",
    "periods": "SELECT * FROM periods",
    "units": "SELECT * FROM units",
    "outcomes": "SELECT * FROM outcomes",
    "objectives": "SELECT * FROM objectives",
    "activities": "SELECT * FROM activities",
    "events": "SELECT * FROM transition_events WHERE kind = 'transition' AND at <= :d ORDER BY id",
    "funding": "SELECT * FROM transition_events WHERE kind = 'funding' AND at <= :d ORDER BY id",
    "indicators": "SELECT * FROM indicators",
    "measurements": "SELECT * FROM measurements WHERE at <= :d",
    "budget_lines": "SELECT * FROM budget_lines",
    "checklist_items": "SELECT * FROM checklist_items",
}


def cpflow(ctx):
    import cpflow.read.frames  # noqa: F401 (pandas is imported untimed on both sides)
    from cpflow.db import Database
    from cpflow.plugins.manager import get_plugins
    from cpflow.rules.engine import run_checks

    db = Database(ctx.fixture_url)
    db.require_schema()
    plugins = get_plugins()

    def run():
        with db.read() as session:
            return run_checks(session, as_of=AS_OF, plugins=plugins)

    return run


def baseline(ctx):
    import pandas as pd

    conn = rawdb.sqlite_connect(ctx.data.fixture_db)
    params = {"d": AS_OF.isoformat()}
    return lambda: {name: pd.read_sql_query(sql, conn, params=params) for name, sql in TABLES.items()}


def summary(ctx, value):
    if isinstance(value, dict):
        return {name: len(frame) for name, frame in value.items() if name in ("activities", "events")}
    return {"findings": len(value.findings), "rules": len(value.rules), "counts": value.counts}
