"""The benchmark registry: one module per benchmark, in the order they run.

A benchmark module defines:

- `NAME`, `TARGET` (the team's ratio cpflow_s / baseline_s; never lowered to pass),
  `DOES` and `BASELINE` (one line each, for the table legend);
- `REQUIRES`: cpflow modules that must exist (checked with importlib.util.find_spec at run
  time, so a benchmark starts counting as soon as its feature lands) and, optionally,
  `available()` returning None or the reason it cannot run yet;
- `BACKENDS`: ("sqlite",) or ("sqlite", "postgresql") for those `--db` moves to PostgreSQL;
  `TARGET_BY_BACKEND` (optional) overrides TARGET per backend;
- `cpflow(ctx)` and `baseline(ctx)`: untimed set-up that returns the timed work (a
  zero-argument callable). A module without `baseline` is judged on its peak RSS alone
  (`RSS_LIMIT_MB`), its target is None;
- optionally `summary(ctx, value)`: turns what the timed work returned into a small
  JSON value, untimed. When both sides give one, they must be equal — the guard that a
  baseline does the same work on the same data (`COMPARE = False` turns it off).

Optional shapes:

- `EXTRA_BASELINES = {"fair": {"target": 1.5, "baseline": "…", "compare": True}}` with a
  function `baseline_fair(ctx)`: a second baseline run beside the first in the same
  repetitions, reported as its own row `NAME_fair` against the same cpflow runs;
- `VARIANTS = {"plans": {...}, ...}`: one row per variant, named `NAME:KEY`; a variant's
  dict may override "target", "does", "baseline", "rss_limit_mb"; the sides read
  `ctx.variant`;
- `ONLY_SIZES = ("full",)`: the benchmark runs only at these sizes (and is not listed at
  the others).
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from benchmarks.generate import Prepared

# Module names under benchmarks/cases/. `import_sheet` (NAME "import") is the importer
# engineer's; until its file exists it is reported as skipped.
ORDER = tuple(
    dict.fromkeys(
        (
            "load", "history", "move", "as_of", "check", "report_xlsx", "verify", "cli_start", "import_sheet",
            "user_edge", "scale", "web",
        )
    )
)  # fmt: skip
PLACEHOLDER_NAMES = {"import_sheet": "import"}


@dataclass
class Context:
    """What a benchmark side gets in its child process."""

    size: str
    side: str  # "cpflow" | "baseline" | "baseline_KEY"
    rep: int
    data: Prepared
    scratch: Path  # this run's scratch directory (deleted at the end of the run)
    backend: str = "sqlite"
    pg_url: str | None = None  # SQLAlchemy URL of this run's PostgreSQL schema
    info: dict = field(default_factory=dict)  # the data's info.json
    params: dict = field(default_factory=dict)  # what the benchmark's setup_run() gave, if any
    path: Path | None = None  # the database a side wrote, for summary()
    variant: str | None = None  # the VARIANTS key this row measures

    def scratch_copy(self, source: Path) -> Path:
        """A private copy of a database file for one side and repetition."""
        target = self.scratch / f"{source.stem}-{self.side}-{self.rep}{source.suffix}"
        shutil.copyfile(source, target)
        return target

    @property
    def fixture_url(self) -> str:
        """The fixture database as cpflow sees it (read-only benchmarks)."""
        return self.pg_url if self.backend == "postgresql" else f"sqlite:///{self.data.fixture_db}"


@dataclass(frozen=True)
class Bench:
    """One runnable unit: a module, or one of its variants. It gives one row, plus one per
    extra baseline."""

    module: str
    name: str
    variant: str | None = None

    @property
    def case(self) -> ModuleType:
        return load_case(self.module)

    @property
    def row_names(self) -> list[str]:
        extra = getattr(self.case, "EXTRA_BASELINES", {})
        return [self.name, *(f"{self.name}_{key}" for key in extra)]

    def setting(self, key: str, default=None):
        """A variant's override, else the module's upper-case attribute, else default."""
        variants = getattr(self.case, "VARIANTS", None) or {}
        chosen = variants.get(self.variant, {}) if self.variant else {}
        return chosen[key] if key in chosen else getattr(self.case, key.upper(), default)

    def target(self, backend: str) -> float | None:
        """The ratio target of the main row; None for an RSS-only benchmark (no baseline)."""
        case = self.case
        if not hasattr(case, "baseline"):
            return None
        if self.variant and "target" in case.VARIANTS[self.variant]:
            return float(case.VARIANTS[self.variant]["target"])
        return float(getattr(case, "TARGET_BY_BACKEND", {}).get(backend, case.TARGET))


def _placeholder(module: str) -> ModuleType:
    """A not-yet-written case: skipped with a reason, never an import error."""
    stub = ModuleType(f"benchmarks.cases.{module}")
    stub.NAME = PLACEHOLDER_NAMES.get(module, module)
    stub.TARGET = 0.0
    stub.DOES = stub.BASELINE = "(not written yet)"
    stub.REQUIRES = ()
    stub.BACKENDS = ("sqlite",)
    stub.available = lambda: f"benchmarks/cases/{module}.py not written yet"
    stub.cpflow = stub.baseline = lambda ctx: None
    return stub


def load_case(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"benchmarks.cases.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"benchmarks.cases.{name}":
            raise
        return _placeholder(name)


def all_cases() -> list[ModuleType]:
    return [load_case(name) for name in ORDER]


def benches(size: str) -> list[Bench]:
    """Every runnable unit at this size, in run order."""
    out = []
    for module in ORDER:
        case = load_case(module)
        if size not in getattr(case, "ONLY_SIZES", (size,)):
            continue
        variants = getattr(case, "VARIANTS", None)
        if variants:
            out.extend(Bench(module, f"{case.NAME}:{key}", key) for key in variants)
        else:
            out.append(Bench(module, case.NAME))
    return out


def row_names(size: str) -> list[str]:
    """The names `python -m benchmarks --size SIZE --json` prints, in order."""
    return [name for bench in benches(size) for name in bench.row_names]


def select(size: str, wanted: list[str]) -> tuple[list[Bench], list[str]]:
    """The units a `--only` list asks for: a module's NAME (all its variants), a row name
    (`user_edge:plans`, or `move_fair`, which runs move with both baselines).
    Returns (units, names nobody knows)."""
    units = benches(size)
    chosen, unknown = [], []
    for name in wanted:
        hits = [b for b in units if name in (b.case.NAME, b.module) or name in b.row_names]
        if not hits and any(name == load_case(m).NAME for m in ORDER):
            continue  # a benchmark that does not run at this size
        if not hits:
            unknown.append(name)
        chosen.extend(h for h in hits if h not in chosen)
    return [b for b in units if b in chosen], unknown


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
