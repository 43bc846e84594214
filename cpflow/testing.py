"""Helpers for plugin authors: run a rule or a transition guard on a small plan.

    from cpflow.testing import check_rule

    def test_h101_fires():
        findings = check_rule(MyRule(), PLAN_YAML, as_of="2024-01-01",
                              moves=[("mini:1.1", "endorse", "2022-03-01")])
        assert [f.subject for f in findings] == ["mini:1.1"]

`Sandbox` gives finer control: a plan loaded into a temporary SQLite database, moves,
measurements and funding recorded through cpflow's own services, your plugin's hooks
active, and `check()` through the real engine.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import types
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from cpflow.plugins import hookimpl, hookspecs
from cpflow.plugins.manager import Plugins
from cpflow.rules.base import Finding, RegisterRule, Rule

if TYPE_CHECKING:
    from cpflow.read.frames import Frames
    from cpflow.rules.engine import CheckReport
    from cpflow.services import FundResult, MeasureResult, MoveResult

# Facts in a sandbox may be dated any day: "today" is pushed far into the future.
_FAR_FUTURE = dt.date(9999, 12, 31)
# A move for `check_rule`: (id, trigger, at) or (id, trigger, at, reason).
MoveSpec = tuple[str, str, str | dt.date] | tuple[str, str, str | dt.date, str]
# An amount for `Sandbox.fund` (a number or its text), or None to leave it unchanged.
Amount = Decimal | float | str | None


def _date(value: str | dt.date | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def plugins_with(*items: Any) -> Plugins:
    """A plugin set holding exactly these items: plugin modules (or objects with hook
    implementations) and `Rule` instances or classes, in that order."""
    manager = pluggy.PluginManager("cpflow")
    manager.add_hookspecs(hookspecs)
    plugins = Plugins(manager)
    loose = [item for item in items if isinstance(item, Rule) or (isinstance(item, type) and issubclass(item, Rule))]
    for item in items:
        if item in loose:
            continue
        name = getattr(item, "__name__", None) or type(item).__name__
        manager.register(item, name=name)
        plugins.sources[name] = "cpflow.testing"
    if loose:

        @hookimpl
        def register_rules(register: RegisterRule) -> None:
            for rule in loose:
                register(rule)

        manager.register(types.SimpleNamespace(register_rules=register_rules), name="cpflow.testing")
        plugins.sources["cpflow.testing"] = "cpflow.testing"
    manager.check_pending()
    return plugins


class Sandbox:
    """One plan loaded into a throwaway SQLite database; use as a context manager."""

    def __init__(self, plan_yaml: str, *, plugins: Iterable[Any] = (), actor: str = "cpflow.testing") -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="cpflow-test-")
        from cpflow.db import Database
        from cpflow.services import load_files

        self.plugins = plugins_with(*plugins)
        self.actor = actor
        self.db = Database(f"sqlite:///{Path(self._dir.name) / 'cpflow.db'}")
        path = Path(self._dir.name) / "plan.yaml"
        path.write_text(plan_yaml, encoding="utf-8")
        self.plans = [result.slug for result in load_files(self.db, [path], actor=actor, now=_FAR_FUTURE)]

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.dispose()
        self._dir.cleanup()

    def move(self, ident: str, trigger: str, at: str | dt.date, *, reason: str | None = None, ref: str | None = None,
             actor: str | None = None) -> MoveResult:  # fmt: skip
        """Record a move through cpflow's service, with this sandbox's plugins' guards."""
        from cpflow.services import move

        return move(self.db, ident, trigger, actor=actor or self.actor, at=_date(at), reason=reason, ref=ref,
                    now=_FAR_FUTURE, plugins=self.plugins)  # fmt: skip

    def measure(self, ident: str, value: float, at: str | dt.date, *, period: str | None = None) -> MeasureResult:
        from cpflow.services import measure

        return measure(self.db, ident, value, actor=self.actor, at=_date(at), period=period, now=_FAR_FUTURE)

    def fund(self, ident: str, period: str, at: str | dt.date, *, received: Amount = None,
             budget: Amount = None) -> FundResult:  # fmt: skip
        from cpflow.services import fund

        def money(value: Amount) -> Decimal | None:
            return None if value is None else Decimal(str(value))

        return fund(self.db, ident, period=period, received=money(received), budget=money(budget), actor=self.actor,
                    at=_date(at), now=_FAR_FUTURE)  # fmt: skip

    def frames(self, as_of: str | dt.date | None = None) -> Frames:
        """The plan's frames (`cpflow.read.frames.Frames`) as of a date."""
        from cpflow.read.frames import load_frames

        with self.db.read() as session:
            return load_frames(session, as_of=_date(as_of))

    def check(self, *, as_of: str | dt.date | None = None, select: Sequence[str] = (), ignore: Sequence[str] = (),
              settings: Mapping[str, Mapping[str, Any]] | None = None) -> CheckReport:  # fmt: skip
        """Run the sandbox's rules through the real engine; returns the `CheckReport`."""
        from cpflow.rules.engine import run_checks

        with self.db.read() as session:
            return run_checks(session, as_of=_date(as_of), select=select, ignore=ignore, settings=settings,
                              plugins=self.plugins, debug=True)  # fmt: skip


def check_rule(
    rule: Rule | type[Rule],
    plan_yaml: str,
    *,
    as_of: str | dt.date | None = None,
    moves: Iterable[MoveSpec] = (),
    settings: dict[str, Any] | None = None,
) -> list[Finding]:
    """The findings of one rule on a plan given as YAML text, after some moves.

    Each move is `(id, trigger, at)` or `(id, trigger, at, reason)`. `settings` are the
    rule's settings (`{"days": 30}`). A rule that raises fails the test with its error.
    """
    rule = rule() if isinstance(rule, type) else rule
    with Sandbox(plan_yaml, plugins=[rule]) as sandbox:
        for move in moves:
            ident, trigger, at, *rest = move
            sandbox.move(ident, trigger, at, reason=rest[0] if rest else None)
        report = sandbox.check(as_of=as_of, select=[rule.code], settings={rule.code: settings} if settings else None)
    crashed = [f for f in report.findings if f.code == "E001"]
    if crashed:
        raise AssertionError(f"{crashed[0].message}\n{crashed[0].data.get('traceback', '')}")
    return report.findings
