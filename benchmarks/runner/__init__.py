"""`python -m benchmarks`: every benchmark, cpflow against its raw baseline, same data, same run.

    python -m benchmarks [--size small|full] [--only NAME[,NAME]] [--json] [--db URL]
                         [--reps N] [--data-dir DIR] [--profile DIR] [--no-growth]

For each benchmark and repetition the two sides run in fresh processes of their own, in
alternating order (cpflow first on even repetitions, the baseline first on odd ones), so
a noisy neighbour on a shared machine hits both alike; the median of the repetitions is
reported. A benchmark gets up to 5 repetitions (small) or 3 (full), but no new one starts
once it has used its time budget (10 s small, 90 s full), which keeps the whole run
inside 2 and 15 minutes; `--reps N` asks for exactly N. Peak RSS is the cpflow process's ru_maxrss. A benchmark whose cpflow feature is
not built yet is reported as skipped and starts counting once the code lands.

`--size full` first runs the small size too (unless --no-growth) and reports the growth
from small to full: time_full / time_small for a 10x larger input, and the exponent
log(growth) / log(10) (1.0 = linear; the limit is a factor of 12, exponent 1.08).

A case with a second (fair) baseline gives two rows, NAME and NAME_fair, from the same
repetitions (the sides take turns going first); a case with variants gives NAME:KEY rows
(`user_edge:plans` …); `scale` runs only with --size full and is judged on peak RSS.
`--only` takes a case name (all its rows) or a row name.

`--db postgresql+psycopg://…` runs the benchmarks that support it (move, as_of) on
PostgreSQL: a fresh schema is created in that database, filled with the same fixture,
and dropped at the end. The others stay on SQLite.

Generated data is cached under --data-dir (default: $TMPDIR/cpflow-bench) and reused
while the generator, the seed and cpflow's schema revision are unchanged.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import SIZES
from benchmarks.cases import ORDER, Bench, benches, load_case, missing, row_names, select
from benchmarks.generate import Prepared, dataset, prepare

RSS_LIMIT_MB = 1536.0
GROWTH_LIMIT = 12.0
CHILD_TIMEOUT_S = 1800
JSON_KEYS = ("name", "size", "cpflow_s", "baseline_s", "ratio", "target", "peak_rss_mb", "ok")


@dataclass
class Row:
    """One benchmark at one size: the JSON object and the table line."""

    name: str
    size: str
    target: float | None  # None: judged on peak RSS alone
    backend: str = "sqlite"
    rss_limit_mb: float = RSS_LIMIT_MB
    cpflow_runs: list[float] = field(default_factory=list)
    baseline_runs: list[float] = field(default_factory=list)
    cpflow_cpu: list[float] = field(default_factory=list)
    baseline_cpu: list[float] = field(default_factory=list)
    peak_rss_mb: float | None = None
    baseline_rss_mb: float | None = None
    skipped: str | None = None
    error: str | None = None
    detail: object = None
    baseline_detail: object = None  # the baseline's own figures (the web floor's p50/p95)
    growth: float | None = None
    growth_exponent: float | None = None

    @property
    def cpflow_s(self) -> float | None:
        return round(statistics.median(self.cpflow_runs), 4) if self.cpflow_runs else None

    @property
    def baseline_s(self) -> float | None:
        return round(statistics.median(self.baseline_runs), 4) if self.baseline_runs else None

    @property
    def ratio(self) -> float | None:
        if self.cpflow_s is None or not self.baseline_s:
            return None
        return round(statistics.median(self.cpflow_runs) / statistics.median(self.baseline_runs), 3)

    @property
    def ok(self) -> bool | None:
        """Meets its target ratio and the RSS limit; None when skipped."""
        if self.skipped:
            return None
        if self.error:
            return False
        if self.target is not None and (self.ratio is None or self.ratio > self.target):
            return False
        return (self.peak_rss_mb or 0) <= self.rss_limit_mb

    @property
    def growth_ok(self) -> bool | None:
        return None if self.growth is None else self.growth <= GROWTH_LIMIT

    @property
    def cpu_ratio(self) -> float | None:
        """The same ratio in CPU seconds: a noise check on a busy machine (SQLite only:
        PostgreSQL's work happens in the server process)."""
        if not self.cpflow_cpu or not self.baseline_cpu or not statistics.median(self.baseline_cpu):
            return None
        return round(statistics.median(self.cpflow_cpu) / statistics.median(self.baseline_cpu), 3)

    def as_json(self) -> dict:
        out = {key: getattr(self, key) for key in JSON_KEYS}
        out.update(
            backend=self.backend,
            cpflow_cpu_s=round(statistics.median(self.cpflow_cpu), 4) if self.cpflow_cpu else None,
            baseline_cpu_s=round(statistics.median(self.baseline_cpu), 4) if self.baseline_cpu else None,
            cpu_ratio=self.cpu_ratio, baseline_rss_mb=self.baseline_rss_mb, reps=len(self.cpflow_runs),
            cpflow_runs=[round(t, 4) for t in self.cpflow_runs], baseline_runs=[round(t, 4) for t in self.baseline_runs],
            skipped=self.skipped, error=self.error, detail=self.detail, baseline_detail=self.baseline_detail,
            rss_limit_mb=self.rss_limit_mb,
        )  # fmt: skip
        if self.growth is not None:
            out.update(growth=self.growth, growth_exponent=self.growth_exponent, growth_ok=self.growth_ok)
        return out

    def verdict(self) -> str:
        if self.skipped:
            return f"skipped: {self.skipped}"
        if self.error:
            return f"FAIL: {self.error}"
        problems = []
        if self.target is not None and (self.ratio is None or self.ratio > self.target):
            problems.append(f"ratio > {self.target:g}")
        if (self.peak_rss_mb or 0) > self.rss_limit_mb:
            problems.append(f"RSS > {self.rss_limit_mb:.0f} MB")
        return "FAIL: " + ", ".join(problems) if problems else "pass"


# --- PostgreSQL -------------------------------------------------------------------------------


class PgSchema:
    """A fresh schema in the given PostgreSQL database, dropped by close()."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine, text

        self.name = f"cpflow_bench_{uuid.uuid4().hex[:10]}"
        self._admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        separator = "&" if "?" in url else "?"
        self.url = f"{url}{separator}options=-csearch_path%3D{self.name}"

    def close(self) -> None:
        from sqlalchemy import text

        with self._admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self._admin.dispose()


# --- running ------------------------------------------------------------------------------------


_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def run_child(spec: dict) -> dict:
    """One side, one repetition, in a fresh interpreter; raises RuntimeError on failure."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.runner.child", json.dumps(spec)],
        capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, env=env, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        raise RuntimeError(lines[-1] if lines else f"exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_case(
    bench: Bench | str,
    size: str,
    prepared: Prepared,
    scratch: Path,
    *,
    reps: int | None,
    pg: PgSchema | None,
    profile: Path | None = None,
) -> list[Row]:
    """One benchmark unit: its row, and one more per extra baseline (`NAME_fair`), all from
    the same repetitions (the cpflow side runs once per repetition for all of them)."""
    if isinstance(bench, str):
        bench = next(b for b in benches(size) if b.name == bench)
    case, name = bench.case, bench.name
    backend = "postgresql" if pg is not None and "postgresql" in case.BACKENDS else "sqlite"
    extra = getattr(case, "EXTRA_BASELINES", {})
    rss_limit = float(bench.setting("rss_limit_mb", RSS_LIMIT_MB))
    rows = {"baseline": Row(name=name, size=size, target=bench.target(backend), backend=backend, rss_limit_mb=rss_limit)}
    for key, spec in extra.items():
        rows[f"baseline_{key}"] = Row(name=f"{name}_{key}", size=size, target=float(spec["target"]), backend=backend,
                                      rss_limit_mb=rss_limit)  # fmt: skip
    out = list(rows.values())
    reason = missing(case)
    if reason:
        for row in out:
            row.skipped = reason
        log(f"{name} [{size}]: skipped: {reason}")
        return out
    setup_run = getattr(case, "setup_run", None)
    try:
        params = setup_run(prepared, scratch, backend, *([bench.variant] if bench.variant else [])) if setup_run else {}
    except Exception as exc:  # noqa: BLE001 (a set-up that fails is this benchmark's error, not the run's)
        for row in out:
            row.error = f"set-up failed: {type(exc).__name__}: {exc}"[:300]
        log(f"{name} [{size}]: {out[0].error}")
        return out
    sides = ["cpflow", *(rows if hasattr(case, "baseline") else [])]
    count = reps or bench.setting("reps") or SIZES[size].reps
    budget = math.inf if reps else SIZES[size].budget_s
    started = time.perf_counter()
    results: dict[str, list[dict]] = {side: [] for side in sides}
    for rep in range(count):
        if rep and time.perf_counter() - started > budget:
            log(f"{name} [{size}]: {rep} repetition(s) used its {budget:.0f} s budget; no more")
            break
        shift = rep % len(sides)  # each side goes first in turn, so a noisy neighbour hits all alike
        for side in sides[shift:] + sides[:shift]:
            spec = {"case": bench.module, "variant": bench.variant, "side": side, "size": size, "rep": rep,
                    "data": str(prepared.root), "scratch": str(scratch), "backend": backend,
                    "pg_url": pg.url if backend == "postgresql" else None, "params": params,
                    "profile": str(profile) if profile else None}  # fmt: skip
            try:
                result = run_child(spec)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                for row in out:
                    row.error = f"{side} side failed: {exc}"[:300]
                log(f"{name} [{size}] {side} rep {rep + 1}/{count}: {out[0].error}")
                _clean(scratch, keep=params)
                return out
            results[side].append(result)
            log(
                f"{name} [{size}/{backend}] {side:14} rep {rep + 1}/{count}: {result['seconds']:.3f} s (cpu {result['cpu_s']:.3f} s), {result['rss_mb']:.0f} MB"
            )
            _clean(scratch, keep=params)
    ours = results["cpflow"]
    compare_default = getattr(case, "COMPARE", True) and getattr(case, "summary", None) is not None
    for side, row in rows.items():
        row.cpflow_runs = [r["seconds"] for r in ours]
        row.cpflow_cpu = [r["cpu_s"] for r in ours]
        row.peak_rss_mb = _max_rss(ours)
        row.detail = ours[0]["summary"] if ours else None
        theirs = results.get(side, [])
        if not theirs:
            continue
        row.baseline_runs = [r["seconds"] for r in theirs]
        row.baseline_cpu = [r["cpu_s"] for r in theirs]
        row.baseline_rss_mb = _max_rss(theirs)
        row.baseline_detail = theirs[0]["summary"]
        key = side.removeprefix("baseline_") if side != "baseline" else None
        compare = extra[key].get("compare", compare_default) if key else compare_default
        if compare and ours[0]["summary"] != theirs[0]["summary"]:
            row.error = f"the two sides disagree: cpflow {ours[0]['summary']} vs {side} {theirs[0]['summary']}"[:300]
    return out


def _max_rss(results: list[dict]) -> float | None:
    values = [r["rss_mb"] for r in results if r["rss_mb"] is not None and not math.isnan(r["rss_mb"])]
    return max(values) if values else None


def _clean(scratch: Path, keep: dict | None = None) -> None:
    """Drop the per-repetition databases and files (full-size ones are hundreds of MB),
    keeping the run-wide files a benchmark's setup_run() made (named in `keep`)."""
    kept = {Path(v).name for v in (keep or {}).values() if isinstance(v, str)}
    for path in scratch.iterdir():
        if path.name not in kept and not any(path.name.startswith(k) for k in kept):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def run_size(
    size: str, names: list[str] | None, data_dir: Path, *, reps: int | None, pg_url: str | None, profile: Path | None = None
) -> list[Row]:
    """Every unit named in `names` (None: all) that runs at this size."""
    from benchmarks.rawdb import check_columns, same_settings

    started = time.perf_counter()
    prepared = prepare(size, data_dir, log=log)
    check_columns()
    settings = same_settings(prepared.fixture_db)
    log(f"SQLite settings on both sides: {settings}")
    units = benches(size) if names is None else select(size, names)[0]
    needs_pg = pg_url and any("postgresql" in b.case.BACKENDS and not missing(b.case) for b in units)
    pg = PgSchema(pg_url) if needs_pg else None
    scratch = Path(tempfile.mkdtemp(prefix=f"run-{size}-", dir=data_dir))
    try:
        if pg is not None:
            from benchmarks.generate import build_postgres

            log(f"building the {size} fixture in PostgreSQL schema {pg.name}")
            build_postgres(dataset(SIZES[size].activities, SIZES[size].events), pg.url)
        rows = [row for b in units for row in run_case(b, size, prepared, scratch, reps=reps, pg=pg, profile=profile)]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if pg is not None:
            pg.close()
    log(f"{size}: {time.perf_counter() - started:.0f} s in all")
    return rows


def add_growth(small: list[Row], full: list[Row]) -> None:
    """time_full / time_small of cpflow, and its exponent for a 10x larger input."""
    scale = SIZES["full"].activities / SIZES["small"].activities
    before = {row.name: row for row in small}
    for row in full:
        prior = before.get(row.name)
        if prior and prior.cpflow_s and row.cpflow_s:
            row.growth = round(row.cpflow_s / prior.cpflow_s, 2)
            row.growth_exponent = round(math.log(row.growth) / math.log(scale), 3) if row.growth > 0 else None


# --- output ------------------------------------------------------------------------------------


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[Row]) -> str:
    header = (
        "benchmark",
        "size",
        "backend",
        "cpflow s",
        "baseline s",
        "ratio",
        "target",
        "peak RSS MB",
        "reps",
        "cpu ratio",
        "result",
    )
    lines = [header]
    for r in rows:
        lines.append((r.name, r.size, r.backend, _fmt(r.cpflow_s, ".3f"), _fmt(r.baseline_s, ".3f"), _fmt(r.ratio, ".2f"),
                      f"≤ {r.target:g}" if r.target is not None else f"RSS ≤ {r.rss_limit_mb:g}", _fmt(r.peak_rss_mb, ".0f"), str(len(r.cpflow_runs)), _fmt(r.cpu_ratio, ".2f"),
                      r.verdict()))  # fmt: skip
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header) - 1)]
    out = []
    for line in lines:
        out.append(
            "  ".join(str(cell).ljust(w) if i < 3 else str(cell).rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
            + "  "
            + line[-1]
        )
    return "\n".join(out)


def growth_table(rows: list[Row]) -> str:
    lines = [f"growth small -> full (cpflow time, input x10; limit x{GROWTH_LIMIT:g}):"]
    for r in rows:
        if r.growth is not None:
            verdict = "pass" if r.growth_ok else "FAIL"
            lines.append(f"  {r.name:22} x{r.growth:<8.2f} exponent {r.growth_exponent:.2f}  {verdict}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="cpflow against raw baselines, same data, same run."
    )
    parser.add_argument("--size", choices=[s for s in SIZES if s not in ("tiny", "scale")] + ["tiny"], default="small",
                        help="small: 10k activities / 100k events (< 2 min); full: 100k / 1M (< 15 min)")  # fmt: skip
    parser.add_argument("--only", metavar="NAME[,NAME]",
                        help="run only these benchmarks: a name (user_edge runs every user_edge:…) or a row name")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON object per benchmark on stdout")
    parser.add_argument("--db", metavar="URL", help="a PostgreSQL URL: run move and as_of there (fresh schema, dropped after)")
    parser.add_argument(
        "--reps", type=int, help="exactly this many repetitions per side (default: up to 5 small, 3 full, within a time budget)"
    )
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "cpflow-bench",
                        help="where generated data is cached (default: %(default)s)")  # fmt: skip
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="profile each timed run into DIR (pyinstrument if installed, else cProfile); "
                             "timings of such a run are not comparable")  # fmt: skip
    parser.add_argument("--no-growth", action="store_true", help="with --size full, skip the small pass and the growth figures")
    args = parser.parse_args(argv)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        known = sorted({n for size in SIZES for n in row_names(size)} | {load_case(m).NAME for m in ORDER})
        unknown = [n for n in names if n not in known]
        if unknown:
            parser.error(f"unknown benchmark {unknown[0]!r}; benchmarks are {', '.join(known)}")
        args.names = names
    else:
        args.names = None
    if args.db and not args.db.startswith("postgresql"):
        parser.error("--db: expected a PostgreSQL URL (postgresql+psycopg://USER@HOST/DB); SQLite is the default")
    return args


def main(argv: list[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    sizes = ["small", "full"] if args.size == "full" and not args.no_growth else [args.size]
    results = {
        size: run_size(size, args.names, args.data_dir, reps=args.reps, pg_url=args.db, profile=args.profile) for size in sizes
    }
    rows = results[args.size]
    if "small" in results and args.size == "full":
        add_growth(results["small"], rows)
    for size, size_rows in results.items():
        (args.data_dir / f"results-{size}.json").write_text("\n".join(json.dumps(r.as_json()) for r in size_rows) + "\n")
    if args.json:
        for row in rows:
            print(json.dumps(row.as_json()), flush=True)
    else:
        for size_rows in results.values():
            print(table(size_rows))
            print()
        if any(r.growth is not None for r in rows):
            print(growth_table(rows))
    log(f"all done in {time.perf_counter() - started:.0f} s")
    return rows
