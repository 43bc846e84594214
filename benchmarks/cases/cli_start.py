"""cli_start: `cpflow --help` in a fresh process — what every command pays before it works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

NAME = "cli_start"
TARGET = 8.0
DOES = "`cpflow --help` as a subprocess (imports, plugin discovery, click)"
BASELINE = "`python -c pass` as a subprocess"
REQUIRES = ("cpflow.cli",)
BACKENDS = ("sqlite",)
REPS = 7
# Peak RSS of `cpflow --help` itself, taken in one more (untimed) run that reports VmHWM
# at exit: a parent's ru_maxrss of its children would include the harness's own.
_MEASURE = """
import atexit, sys
def report():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("VmHWM " + line.split()[1] + chr(10))
atexit.register(report)
sys.argv = ["cpflow", "--help"]
from cpflow.cli import main
main()
"""


def _run(argv):
    return lambda: subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cpflow(ctx):
    return _run([str(Path(sys.executable).with_name("cpflow")), "--help"])


def baseline(ctx):
    return _run([sys.executable, "-c", "pass"])


def peak_rss_mb(ctx) -> float:
    code = _MEASURE if ctx.side == "cpflow" else _MEASURE.split("sys.argv")[0]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    kb = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("VmHWM ")]
    return int(kb[-1]) / 1024 if kb else float("nan")
