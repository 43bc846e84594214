"""The plugin contract: every hook documented and exercised through a real plugin, the
manager's selection and failure handling, and `cpflow plugins`."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import MINI_PLAN, REPO

from cpflow.errors import GuardVeto
from cpflow.plugins import hookimpl, hookspecs
from cpflow.plugins.manager import BUILTIN_SOURCE, DEFAULT_PLUGINS, build
from cpflow.reports.model import Section
from cpflow.rules import Rule, findings
from cpflow.rules.engine import describe_plugins, registry_for
from cpflow.services import load_files, move
from cpflow.testing import plugins_with

HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "cpflow_spec"))


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
        return [Section("Everything", pd.DataFrame({"activities": [len(report.activities)]}), key="everything")]

    @hookimpl
    def register_importers(self, register):
        register(".tsv", lambda path, sheet: [["code", "title"], ["1", "One"]])

    @hookimpl
    def register_exporters(self, register):
        register("upper", lambda table, path: Path(path).write_text(str(table).upper()))


class Broken:
    """A plugin whose every hook raises: it must never cost another plugin anything."""

    @hookimpl
    def register_rules(self, register):
        raise RuntimeError("rules boom")

    @hookimpl
    def register_commands(self, cli):
        raise RuntimeError("commands boom")

    @hookimpl
    def guard_transition(self, activity, trigger):  # a subset of the arguments, as pluggy allows
        raise RuntimeError("guard boom")

    @hookimpl
    def after_transition(self, activity):
        raise RuntimeError("mail server down")

    @hookimpl
    def report_sections(self, report):
        raise RuntimeError("sections boom")

    @hookimpl
    def register_importers(self, register):
        register(".tsv", lambda path, sheet: [])  # taken by Everything first: reported, not replaced
        raise RuntimeError("importers boom")

    @hookimpl
    def register_exporters(self, register):
        raise RuntimeError("exporters boom")


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


def test_every_hookspec_has_a_docstring_a_tutorial_section_and_a_test_of_its_call_site():
    tutorial = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert HOOKS == ["after_transition", "guard_transition", "register_commands", "register_exporters",
                     "register_importers", "register_rules", "report_sections"]  # fmt: skip
    tests = [name for name in globals() if name.startswith("test_")]
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name))
        assert doc and len(doc) > 60, name
        assert f"`{name}" in tutorial, f"docs/plugins.md does not document {name}"
        assert [t for t in tests if name in t], f"no test of cpflow's call site of {name}"


def test_register_rules_through_the_registry_keeps_other_plugins_rules_when_one_fails(plugin):
    plugins = plugins_with(plugin, Broken())
    registry = registry_for(plugins)
    assert list(registry.rules) == ["P101"] and registry.sources["P101"] == "Everything"
    assert registry.problems == [("Broken", "register_rules failed: RuntimeError: rules boom")]
    assert [(f.name, f.error) for f in plugins.failures] == [("Broken", "register_rules failed: RuntimeError: rules boom")]


def test_register_commands_adds_working_commands_and_reports_failures_and_collisions(plugin):
    group = click.Group("cpflow")

    @group.command("hello")
    def taken():
        """Already here."""

    class Other:
        @hookimpl
        def register_commands(self, cli):
            @cli.command("greet")
            def greet():
                """Greet (from another plugin)."""
                click.echo("greetings")

    plugins = plugins_with(plugin, Broken(), Other())
    plugins.add_commands(group)
    assert sorted(group.commands) == ["greet", "hello"] and group.commands["hello"] is taken
    assert CliRunner().invoke(group, ["greet"]).output == "greetings\n"
    assert [(f.name, f.error) for f in plugins.failures] == [
        ("Everything", "command 'hello' is already taken; skipped"),
        ("Broken", "register_commands failed: RuntimeError: commands boom"),
    ]


def test_register_commands_through_the_cli_adds_a_plugin_command(tmp_path):
    code = textwrap.dedent("""
        import click, sys
        from cpflow.plugins import hookimpl
        from cpflow.plugins import manager

        class Hello:
            @hookimpl
            def register_commands(self, cli):
                @cli.command("hello")
                def hello():
                    click.echo("hello from a plugin")

        plugins = manager.get_plugins("builtin")
        plugins.manager.register(Hello(), name="hello")
        from cpflow.cli import main
        try:
            main(["--plugins", "builtin", "hello"])
        except SystemExit as exc:
            sys.exit(exc.code)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert (out.returncode, out.stdout) == (0, "hello from a plugin\n"), out.stderr


def test_guard_transition_vetoes_a_move_with_every_reason_and_writes_nothing(plan_db, plugin):
    plugins = plugins_with(plugin)
    do_move(plan_db, plugins, "mini:1.2", "endorse")
    with pytest.raises(GuardVeto) as refused:
        do_move(plan_db, plugins, "mini:1.2", "start")
    assert str(refused.value) == "mini:1.2: start refused: no lead named; ask the working group first"
    from cpflow.read.queries import history

    with plan_db.read() as session:
        assert [row["trigger"] for row in history(session, "mini:1.2")] == ["endorse"]
    assert ("guard", "mini:1.2", "start", "endorsed", "in_progress") in plugin.calls


def test_guard_transition_that_raises_is_a_veto_naming_the_plugin_not_a_crash(plan_db, plugin):
    with pytest.raises(GuardVeto) as refused:
        do_move(plan_db, plugins_with(plugin, Broken()), "mini:1.1", "endorse")
    assert str(refused.value) == "mini:1.1: endorse refused: the Broken plugin's guard failed (RuntimeError: guard boom)"
    assert ("guard", "mini:1.1", "endorse", "proposed", "endorsed") in plugin.calls  # the others still judged it
    from cpflow.read.queries import history

    with plan_db.read() as session:
        assert history(session, "mini:1.1") == []


def test_after_transition_sees_the_committed_event_and_a_failing_plugin_cannot_undo_it(plan_db, plugin):
    result = do_move(plan_db, plugins_with(plugin), "mini:1.1", "endorse", ref="minutes")
    assert plugin.calls[-1] == ("after", "mini:1.1", "endorse", "endorsed", result.event_id)

    class Mailer:
        @hookimpl
        def after_transition(self, activity):
            raise RuntimeError("mail server down")

    second = do_move(plan_db, plugins_with(Mailer(), plugin), "mini:1.1", "start")
    assert second.dest == "in_progress"
    assert second.warnings == ["the Mailer plugin's after_transition hook failed: RuntimeError: mail server down"]
    assert plugin.calls[-1] == ("after", "mini:1.1", "start", "in_progress", second.event_id)  # still told


def test_report_sections_through_the_report_builder_keeps_good_sections_and_lists_failures(plugin):
    from cpflow.reports.plugin_sections import collect

    report = types.SimpleNamespace(activities=pd.DataFrame({"id": ["a", "b"]}), sections=[])
    sections = collect(plugins_with(plugin, Broken()), report)
    assert [s.key for s in sections] == ["everything", "plugin-problems"]
    assert sections[0].table.to_dict("records") == [{"activities": 2}]
    assert sections[1].table.to_dict("records") == [
        {"plugin": "Broken", "problem": "report_sections raised RuntimeError: sections boom"}
    ]


def test_register_importers_and_register_exporters_keep_each_plugins_formats_when_one_fails(plugin, tmp_path):
    plugins = plugins_with(plugin, Broken())
    readers, problems = plugins.formats("register_importers")
    assert readers[".tsv"](tmp_path / "x.tsv", None) == [["code", "title"], ["1", "One"]]
    assert problems == ["the Broken plugin's '.tsv' skipped: already registered by Everything",
                        "the Broken plugin's register_importers hook failed: RuntimeError: importers boom"]  # fmt: skip
    writers, problems = plugins.formats("register_exporters")
    writers["upper"]("table", tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_text() == "TABLE"
    assert problems == ["the Broken plugin's register_exporters hook failed: RuntimeError: exporters boom"]


def test_call_hook_passes_argument_subsets_and_runs_wrappers_around_each_plugin():
    from cpflow.plugins.manager import call_hook

    seen = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def guard_transition(self, trigger):
            seen.append(("before", trigger))
            result = yield
            seen.append(("after", result))
            return result

    class Veto:
        @hookimpl
        def guard_transition(self, trigger):
            return f"no {trigger}"

    results = call_hook(plugins_with(Wrapper(), Veto()), "guard_transition", activity={}, trigger="start", source="a",
                        dest="b", actor="x", at=None, reason=None, ref=None)  # fmt: skip
    assert [(r.plugin, r.value, r.error) for r in results] == [("Veto", "no start", None)]
    assert seen == [("before", "start"), ("after", ["no start"])]


# --- the manager ----------------------------------------------------------------------


def test_builtin_packs_load_as_plugins_and_register_their_rules():
    plugins = build("builtin")
    names = [row["name"] for row in describe_plugins(plugins)]
    assert names == sorted(DEFAULT_PLUGINS)
    timeline = next(row for row in describe_plugins(plugins) if row["name"] == "cpflow.rules.timeline")
    assert timeline == {"name": "cpflow.rules.timeline", "source": BUILTIN_SOURCE, "status": "loaded",
                        "hooks": ["register_rules"], "rules": ["T101", "T102", "T103", "T104"], "errors": []}  # fmt: skip
    assert len(registry_for(plugins).rules) == 22 and not plugins.failures


def test_plugin_selection_none_and_by_name():
    assert build("none").describe() == [] and registry_for(build("none")).rules == {}
    only = build("cpflow.rules.funding")
    assert list(registry_for(only).rules) == ["F301", "F302", "F303", "F304"]


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
    assert isinstance(plugins, Plugins) and len(registry_for(plugins).rules) == 22


def test_plugins_command_lists_builtins(cpflow):
    rows = json.loads(cpflow("plugins", "--format", "json").stdout)
    builtin = [r for r in rows if r["source"] == BUILTIN_SOURCE]
    assert [r["name"] for r in builtin] == sorted(DEFAULT_PLUGINS)
    table = cpflow("plugins").stdout
    assert "cpflow.rules.coverage" in table and "C501, C502, C503, C504" in table
