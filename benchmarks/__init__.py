"""cpflow's benchmark suite: cpflow against a raw baseline on the same data, in the same run.

`python -m benchmarks [--size small|full] [--only NAME] [--json] [--db URL]` — see
benchmarks/runner/__init__.py for the options and benchmarks/RESULTS.md for the figures.
Each benchmark is one module in benchmarks/cases/; the synthetic data comes from
benchmarks/generate.py; the raw baselines' database code lives in benchmarks/rawdb.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    activities: int
    events: int
    reps: int  # at most this many repetitions per side; the median is reported
    budget_s: float  # no new repetition starts once a benchmark has used this much time


SIZES: dict[str, Size] = {
    # `tiny` keeps the harness test fast; it is not a benchmark size anyone reports.
    "tiny": Size("tiny", 200, 2_000, 1, 0.0),
    "small": Size("small", 10_000, 100_000, 5, 10.0),
    "full": Size("full", 100_000, 1_000_000, 3, 90.0),
    # The data of the `scale` benchmark (run only with --size full); not a --size of its own.
    "scale": Size("scale", 300_000, 3_000_000, 1, 0.0),
}

SEED = 20_260_801
# No generated event is later than HORIZON; NOW is "today" for the move benchmark, so every
# move is on or after each activity's last event and not in the future.
HORIZON = dt.date(2025, 12, 31)
NOW = dt.date(2026, 1, 15)
# The as-of date of the as_of, check and report benchmarks: every generated plan has started.
AS_OF = dt.date(2025, 3, 31)
# One recorded_at for every bulk-appended event, as an import or a restore would give them.
RECORDED_AT = "2026-01-15T09:00:00.000000Z"
ACTOR = "benchmark"
