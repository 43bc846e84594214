"""user_edge: what a person waits for at the terminal — each command in a fresh process on
the five seed plans, against the interpreter importing what such a command cannot avoid.

The floors are measured in the same run, in the same kind of process (`python -c` with the
same one-line VmHWM report at exit, so both sides pay the same wrapper): the ratio says how
much of a command is cpflow's own, not how fast the machine is.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from benchmarks import NOW

NAME = "user_edge"
TARGET = 1.5
DOES = "one cpflow command as a fresh process on the seed plans (the variant's command line)"
BASELINE = "`python -c 'import …'` of what that command cannot avoid importing"
REQUIRES = ("cpflow.cli",)
BACKENDS = ("sqlite",)
REPS = 7
COMPARE = False
PLAN = "cpms-wg-2022-2025"
ACTIVITY = f"{PLAN}:2.11"
LIGHT = "sqlalchemy.orm, click"
VARIANTS = {
    "plans": {"argv": ["plans"], "floor": LIGHT},
    "activities": {"argv": ["activities"], "floor": LIGHT},
    "show": {"argv": ["show", ACTIVITY], "floor": LIGHT},
    "history": {"argv": ["history", ACTIVITY], "floor": LIGHT},
    "move": {"argv": ["move", ACTIVITY, "complete", "--by", "Benchmark lead", "--at", NOW.isoformat()], "floor": LIGHT},
    "verify": {"argv": ["audit", "verify"], "floor": LIGHT},
    "check": {"argv": ["check", "--plan", PLAN], "floor": "pandas, sqlalchemy.orm, click", "exit": (0, 1)},
    "pack": {
        "argv": ["report", "pack", "--plan", PLAN, "--as-of", "2023-12-31", "-o", "{scratch}/pack"],
        "floor": "pandas, xlsxwriter, jinja2, sqlalchemy.orm, click",
        "target": 2.0,
    },
    "help": {"argv": ["--help"], "floor": "click", "target": 3.0},
}
# Both sides run `python -c PRELUDE + BODY`: the prelude reports the process's peak RSS on
# stderr at exit (a parent's ru_maxrss of its children would include the parent's own).
PRELUDE = """import atexit, sys
def _rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("VmHWM " + line.split()[1] + chr(10))
atexit.register(_rss)
"""
CPFLOW = "sys.argv[0] = 'cpflow'\nfrom cpflow.cli import main\nsys.exit(main())\n"


def setup_run(data, scratch, backend, variant=None):
    """Once per run: the seed plans loaded into a SQLite file, with a few real moves so
    `show` and `history` have something to show (untimed; reused by every variant)."""
    seeds = scratch / "user-edge-seeds.db"
    if not seeds.exists():
        building = scratch / "user-edge-building.db"
        for stale in scratch.glob("user-edge-building.db*"):
            stale.unlink()
        workflows = Path(__file__).resolve().parents[2] / "workflows"
        steps = [
            ["load", *sorted(str(p) for p in workflows.glob("*.yaml")), "--by", "Benchmark lead"],
            ["move", ACTIVITY, "endorse", "--by", "Benchmark lead", "--at", "2022-05-12", "--ref", "May meeting minutes"],
            ["move", ACTIVITY, "start", "--by", "Benchmark lead", "--at", "2022-09-01"],
        ]
        for argv in steps:
            proc = subprocess.run(_cpflow_argv(building, argv), capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"cpflow {' '.join(argv[:2])}: {_errors(proc.stderr)}")
        checkpoint = sqlite3.connect(building)
        checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        checkpoint.close()
        building.rename(seeds)
    return {"seeds_db": str(seeds)}


def _errors(stderr: str) -> str:
    """What a command said on stderr, without the prelude's RSS line, on one line."""
    return " | ".join(line for line in stderr.strip().splitlines() if not line.startswith("VmHWM "))[-300:]


def _cpflow_argv(db: Path, argv: list[str]) -> list[str]:
    return [sys.executable, "-c", PRELUDE + CPFLOW, "--db", f"sqlite:///{db}", *argv]


def _timed(argv: list[str], ok_codes=(0,)):
    state = {}

    def run():
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        if proc.returncode not in ok_codes:
            raise RuntimeError(f"{' '.join(argv[3:])[:200]} exited {proc.returncode}: {_errors(proc.stderr)}")
        state["stderr"] = proc.stderr
        return proc.returncode

    return run, state


_LAST: dict = {}


def cpflow(ctx):
    spec = VARIANTS[ctx.variant]
    db = Path(ctx.params["seeds_db"])
    if ctx.variant == "move":  # every repetition moves the same activity from the same state
        db = ctx.scratch_copy(db)
    argv = [a.format(scratch=ctx.scratch) for a in spec["argv"]]
    if ctx.variant == "pack":
        shutil.rmtree(ctx.scratch / "pack", ignore_errors=True)
    run, _LAST["state"] = _timed(_cpflow_argv(db, argv), spec.get("exit", (0,)))
    return run


def baseline(ctx):
    spec = VARIANTS[ctx.variant]
    run, _LAST["state"] = _timed([sys.executable, "-c", PRELUDE + f"import {spec['floor']}\n"])
    return run


def peak_rss_mb(ctx) -> float | None:
    """The timed process's own VmHWM, as it reported it at exit."""
    lines = [line for line in _LAST["state"].get("stderr", "").splitlines() if line.startswith("VmHWM ")]
    return int(lines[-1].split()[1]) / 1024 if lines else None
