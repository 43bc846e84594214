"""The harness the fuzz tests share, and tests that prove its detectors work.

`Target.run(...)` runs one cpflow command in-process under a time limit, with every table's
rows captured before and after, and holds it to the contract for hostile input: success,
or exit 2 with one `error:` message and not a single row changed. Never a traceback,
an internal error (exit 70), a hang, or a partial write.
"""

from __future__ import annotations

import gc
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import MINI_PLAN, Result, run_cli
from hypothesis import HealthCheck, settings

from cpflow.backup import table_rows
from cpflow.db import Database

CASE_LIMIT_S = 30  # one case; a hang trips it
FUZZ = settings(
    max_examples=int(os.environ.get("CPFLOW_FUZZ_EXAMPLES", "40")),
    deadline=None,  # wall time on a shared CI machine is noise; CASE_LIMIT_S catches hangs
    database=None,
    derandomize=bool(os.environ.get("CI")),  # CI replays the same cases; local runs explore new ones
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Hung(BaseException):
    """Raised by the alarm inside a case that ran past CASE_LIMIT_S (a BaseException, so
    the CLI's catch-all cannot swallow it)."""


@contextmanager
def time_limit(seconds: float):
    def expire(signum, frame):
        raise Hung(f"the case ran for more than {seconds}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Target:
    """A database with some history, and the contract every hostile input is held to."""

    def __init__(self, url: str, workdir: Path):
        self.url = url
        self.workdir = workdir
        self.db = Database(url)
        self.runs = 0

    def snapshot(self) -> dict:
        with self.db.connect() as conn, conn.begin():
            return table_rows(conn)

    def file(self, name: str, data: bytes | str) -> Path:
        path = self.workdir / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    def run(self, *args: str, ok: tuple[int, ...] = (0, 2), env: dict | None = None) -> Result:
        """Run `cpflow ARGS` and hold it to the contract."""
        before = self.snapshot()
        with time_limit(CASE_LIMIT_S):
            result = run_cli(*args, db_url=self.url, env=env)
        self.runs += 1
        if self.runs % 50 == 0:
            gc.collect()  # each in-process run builds an engine; release their connections
        check_contract(result, ok)
        if result.exit_code != 0:
            assert self.snapshot() == before, f"a refused command changed rows: {args}\n{result.output[:2000]}"
        return result


def check_contract(result: Result, ok: tuple[int, ...] = (0, 2)) -> None:
    output = result.output
    assert "Traceback" not in output, output[-3000:]
    assert result.exit_code != 70 and "internal error" not in output, output[-3000:]
    assert result.exit_code in ok, f"exit {result.exit_code}: {output[-3000:]}"
    if result.exit_code == 2:
        assert result.stderr.startswith(("error: ", "Error: ", "Usage: ")), result.stderr[:2000]
        errors = [line for line in result.stderr.splitlines() if line.startswith(("error: ", "Error: "))]
        assert len(errors) == 1, result.stderr[:3000]


@pytest.fixture
def target(db_url, tmp_path) -> Target:
    """A database holding the mini plan with one recorded move."""
    plan = tmp_path / "mini.yaml"
    plan.write_text(MINI_PLAN, encoding="utf-8")
    assert run_cli("load", str(plan), "--by", "lead", db_url=db_url).exit_code == 0
    assert run_cli("move", "mini:1.1", "endorse", "--by", "lead", "--at", "2022-02-01", db_url=db_url).exit_code == 0
    work = tmp_path / "cases"
    work.mkdir()
    yield Target(db_url, work)
    gc.collect()


# --- the harness's own detectors ------------------------------------------------------------


def test_time_limit_interrupts_a_hang():
    import time

    with pytest.raises(Hung):
        with time_limit(0.2):
            time.sleep(5)


def test_contract_rejects_internal_errors_and_tracebacks():
    with pytest.raises(AssertionError):
        check_contract(Result(70, "", "internal error: ZeroDivisionError (rerun with --debug)"))
    with pytest.raises(AssertionError):
        check_contract(Result(2, "", "Traceback (most recent call last):\n"))
    with pytest.raises(AssertionError):
        check_contract(Result(1, "", "error: something"))
    check_contract(Result(2, "", "error: x.yaml: 1 problem; nothing was written\nx.yaml:1: bad\n"))


def test_snapshot_sees_a_changed_row(target):
    from sqlalchemy import text

    before = target.snapshot()
    with target.db.engine.begin() as conn:
        conn.execute(text("UPDATE activities SET title = title || '!' WHERE code = '1.2'"))
    assert target.snapshot() != before
