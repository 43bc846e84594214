"""The plugin contract: every hook documented and exercised through a real plugin, the
manager's selection and failure handling, and `cpflow plugins`."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import MINI_PLAN, REPO

from cpflow.errors import GuardVeto
from cpflow.plugins import hookimpl, hookspecs
from cpflow.plugins.manager import BUILTIN_SOURCE, DEFAULT_PLUGINS, build
from cpflow.rules import Rule, findings
from cpflow.services import load_files, move
from cpflow.testing import plugins_with

HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "cpflow_spec"))
EXERCISED: set[str] = set()  # each test below adds the hook it exercised


class Lonely(Rule):
    code = "P101"
    title = "Activity with no lead"
    description = "A test rule registered by the Everything plugin."

    def check(self, ctx):
        acts = ctx.activities
        rows = acts[acts["lead"].isna()]
        return findings(rows, rows["id"] + " is lonely")


class Everything:
    """A real plugin implementing every hook, recording what it was called with."""

    def __init__(self):
        self.calls: list[tuple] = []

    @hookimpl
    def register_rules(self, register):
        register(Lonely())

    @hookimpl
    def register_commands(self, cli):
        @cli.command("hello")
        def hello():
            """Say hello (from a plugin)."""
            click.echo("hello from a plugin")

    @hookimpl
    def guard_transition(self, activity, trigger, source, dest, actor, at, reason, ref):
        self.calls.append(("guard", activity["id"], trigger, source, dest))
        if trigger == "start" and not activity["lead"]:
            return ["no lead named", "ask the working group first"]
        return None

    @hookimpl
    def after_transition(self, activity, trigger, source, dest, actor, at, reason, ref, event_id):
        self.calls.append(("after", activity["id"], trigger, dest, event_id))

    @hookimpl
    def report_sections(self, report):
        return [("section for", report)]

    @hookimpl
    def register_importers(self, register):
        register(".tsv", lambda path, sheet: [["code", "title"], ["1", "One"]])

    @hookimpl
    def register_exporters(self, register):
        register("upper", lambda table, path: Path(path).write_text(str(table).upper()))


@pytest.fixture
def plugin():
    return Everything()


@pytest.fixture
def plan_db(db, tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(MINI_PLAN, encoding="utf-8")
    load_files(db, [path], actor="lead", now=dt.date(2026, 1, 1))
    return db


def do_move(db, plugins, ident, trigger, **kwargs):
    return move(db, ident, trigger, actor="lead", at=dt.date(2022, 3, 1), now=dt.date(2026, 1, 1), plugins=plugins, **kwargs)


def test_every_hookspec_has_a_docstring_and_a_section_in_the_tutorial():
    tutorial = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert HOOKS == ["after_transition", "guard_transition", "register_commands", "register_exporters",
                     "register_importers", "register_rules", "report_sections"]  # fmt: skip
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name))
        assert doc and len(doc) > 60, name
        assert f"`{name}" in tutorial, f"docs/plugins.md does not document {name}"


def test_register_rules_adds_the_plugins_rules_to_the_registry(plugin):
    EXERCISED.add("register_rules")
    plugins = plugins_with(plugin)
    assert list(plugins.rules.rules) == ["P101"] and plugins.rules.sources["P101"] == "Everything"
    assert plugins.rules.rules["P101"].title == "Activity with no lead"


def test_register_commands_adds_a_working_command(plugin):
    EXERCISED.add("register_commands")
    group = click.Group("cpflow")
    plugins_with(plugin).hook.register_commands(cli=group)
    result = CliRunner().invoke(group, ["hello"])
    assert result.exit_code == 0 and result.output == "hello from a plugin\n"


def test_guard_transition_vetoes_a_move_with_every_reason_and_writes_nothing(plan_db, plugin):
    EXERCISED.add("guard_transition")
    plugins = plugins_with(plugin)
    do_move(plan_db, plugins, "mini:1.2", "endorse")
    with pytest.raises(GuardVeto) as refused:
        do_move(plan_db, plugins, "mini:1.2", "start")
    assert str(refused.value) == "mini:1.2: start refused: no lead named; ask the working group first"
    from cpflow.read.queries import history

    with plan_db.read() as session:
        assert [row["trigger"] for row in history(session, "mini:1.2")] == ["endorse"]
    assert ("guard", "mini:1.2", "start", "endorsed", "in_progress") in plugin.calls


def test_after_transition_sees_the_committed_event_and_cannot_undo_it(plan_db, plugin):
    EXERCISED.add("after_transition")
    result = do_move(plan_db, plugins_with(plugin), "mini:1.1", "endorse", ref="minutes")
    assert plugin.calls[-1] == ("after", "mini:1.1", "endorse", "endorsed", result.event_id)

    class Failing:
        @hookimpl
        def after_transition(self, activity, trigger, source, dest, actor, at, reason, ref, event_id):
            raise RuntimeError("mail server down")

    second = do_move(plan_db, plugins_with(Failing()), "mini:1.1", "start")
    assert second.dest == "in_progress"
    assert second.warnings == ["a plugin's after_transition hook failed: RuntimeError: mail server down"]


def test_report_sections_returns_the_plugins_sections(plugin):
    EXERCISED.add("report_sections")
    report = object()
    assert plugins_with(plugin).hook.report_sections(report=report) == [[("section for", report)]]


def test_register_importers_and_exporters_hand_over_callables(plugin, tmp_path):
    EXERCISED.update({"register_importers", "register_exporters"})
    plugins = plugins_with(plugin)
    readers, writers = {}, {}
    plugins.hook.register_importers(register=readers.__setitem__)
    plugins.hook.register_exporters(register=writers.__setitem__)
    assert readers[".tsv"](tmp_path / "x.tsv", None) == [["code", "title"], ["1", "One"]]
    writers["upper"]("table", tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_text() == "TABLE"


def test_zz_every_hookspec_was_exercised_by_a_test_above():
    # Runs last in this module (pytest keeps file order); fails if a hook gains no test.
    assert sorted(EXERCISED) == HOOKS


# --- the manager ----------------------------------------------------------------------


def test_builtin_packs_load_as_plugins_and_register_their_rules():
    plugins = build("builtin")
    names = [row["name"] for row in plugins.describe()]
    assert names == sorted(DEFAULT_PLUGINS)
    timeline = next(row for row in plugins.describe() if row["name"] == "cpflow.rules.timeline")
    assert timeline == {"name": "cpflow.rules.timeline", "source": BUILTIN_SOURCE, "status": "loaded",
                        "hooks": ["register_rules"], "rules": ["T101", "T102", "T103", "T104"], "errors": []}  # fmt: skip
    assert len(plugins.rules.rules) == 20 and not plugins.failures


def test_plugin_selection_none_and_by_name():
    assert build("none").describe() == [] and build("none").rules.rules == {}
    only = build("cpflow.rules.funding")
    assert list(only.rules.rules) == ["F301", "F302", "F303", "F304"]


def test_check_pending_rejects_a_misspelt_hook_and_the_plugin_is_reported():
    from cpflow.plugins.manager import Plugins, _register

    class Misspelt:
        @hookimpl
        def register_rulez(self, register):
            pass

    plugins = build("builtin")
    _register(plugins, Misspelt(), "misspelt", "test")
    assert [f.name for f in plugins.failures] == ["misspelt"]
    assert "register_rulez" in plugins.failures[0].error
    assert isinstance(plugins, Plugins) and len(plugins.rules.rules) == 20


def test_plugins_command_lists_builtins(cpflow):
    rows = json.loads(cpflow("plugins", "--format", "json").stdout)
    builtin = [r for r in rows if r["source"] == BUILTIN_SOURCE]
    assert [r["name"] for r in builtin] == sorted(DEFAULT_PLUGINS)
    table = cpflow("plugins").stdout
    assert "cpflow.rules.coverage" in table and "C501, C502, C503, C504" in table


def test_cpflow_help_does_not_import_pandas_or_the_database_layer(tmp_path):
    code = textwrap.dedent("""
        import sys
        from cpflow.cli import main
        try:
            main(["--help"])
        except SystemExit:
            pass
        heavy = sorted(m for m in ("pandas", "numpy", "sqlalchemy", "cpflow.read.frames") if m in sys.modules)
        print("HEAVY=" + ",".join(heavy))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "check" in out.stdout and "rules" in out.stdout and "plugins" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="
