"""The benchmark registry: one module per benchmark, in the order they run.

A benchmark module defines:

- `NAME`, `TARGET` (the team's ratio cpflow_s / baseline_s; never lowered to pass),
  `DOES` and `BASELINE` (one line each, for the table legend);
- `REQUIRES`: cpflow modules that must exist (checked with importlib.util.find_spec at run
  time, so a benchmark starts counting as soon as its feature lands) and, optionally,
  `available()` returning None or the reason it cannot run yet;
- `BACKENDS`: ("sqlite",) or ("sqlite", "postgresql") for those `--db` moves to PostgreSQL;
- `cpflow(ctx)` and `baseline(ctx)`: untimed set-up that returns the timed work (a
  zero-argument callable);
- optionally `summary(ctx, value)`: turns what the timed work returned into a small
  JSON value, untimed. When both sides give one, they must be equal — the guard that a
  baseline does the same work on the same data.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from benchmarks.generate import Prepared

ORDER = ("load", "history", "move", "as_of", "check", "report_xlsx", "verify", "cli_start")


@dataclass
class Context:
    """What a benchmark side gets in its child process."""

    size: str
    side: str  # "cpflow" | "baseline"
    rep: int
    data: Prepared
    scratch: Path  # this run's scratch directory (deleted at the end of the run)
    backend: str = "sqlite"
    pg_url: str | None = None  # SQLAlchemy URL of this run's PostgreSQL schema
    info: dict = field(default_factory=dict)  # the data's info.json
    params: dict = field(default_factory=dict)  # what the benchmark's setup_run() gave, if any
    path: Path | None = None  # the database a side wrote, for summary()

    def scratch_copy(self, source: Path) -> Path:
        """A private copy of a database file for one side and repetition."""
        target = self.scratch / f"{source.stem}-{self.side}-{self.rep}{source.suffix}"
        shutil.copyfile(source, target)
        return target

    @property
    def fixture_url(self) -> str:
        """The fixture database as cpflow sees it (read-only benchmarks)."""
        return self.pg_url if self.backend == "postgresql" else f"sqlite:///{self.data.fixture_db}"


def load_case(name: str) -> ModuleType:
    return importlib.import_module(f"benchmarks.cases.{name}")


def all_cases() -> list[ModuleType]:
    return [load_case(name) for name in ORDER]


def missing(case: ModuleType) -> str | None:
    """None when the benchmark can run; otherwise why not ("<feature> not built yet")."""
    for module in case.REQUIRES:
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            found = None
        if found is None:
            return f"{module} not built yet"
    check = getattr(case, "available", None)
    return check() if check else None
