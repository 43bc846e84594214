"""Build the PluginManager: built-in plugins, then the `cpflow` entry points, and call
its hooks the one way cpflow calls them (`call_hook`).

A plugin that fails to import or register is recorded in `failures` and skipped; it
never takes the CLI down. A selection restricts which plugins load: a comma-separated
list of names, `builtin` for the built-in packs, `none`, or `all` (the default). The
selection is always passed explicitly (the CLI reads `--plugins` / `CPFLOW_PLUGINS`);
nothing here reads the environment.

Every call site goes through `call_hook`, which calls each plugin's implementation on its
own through pluggy (hook wrappers and argument subsets as pluggy does them) and returns
one `HookResult` per plugin: its value, or its error. One broken plugin therefore never
loses the others' rules, commands, sections, formats or vetoes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, entry_points, version
from typing import Any

import pluggy

from cpflow.plugins import hookspecs

# Built-in rule packs are plugins like any other; they register through the same hooks.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "cpflow.rules.timeline",
    "cpflow.rules.indicators",
    "cpflow.rules.funding",
    "cpflow.rules.governance",
    "cpflow.rules.coverage",
    "cpflow.rules.localisation",
    "cpflow.rules.team",
)


def _cpflow_version() -> str:
    try:
        return version("cpflow")
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "unknown version"


BUILTIN_SOURCE = f"cpflow {_cpflow_version()} (built-in)"


@dataclass
class PluginFailure:
    name: str
    error: str


@dataclass(frozen=True)
class HookResult:
    """What one plugin's implementation of a hook gave: its return value, or its error
    (`"RuntimeError: mail server down"`) when it raised."""

    plugin: str
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def call_hook(plugins: Plugins, name: str, per_plugin: Callable[[str], dict] | None = None, **kwargs) -> list[HookResult]:
    """Call hook `name` on each plugin separately, in registration order (built-in first).

    `kwargs` go to every plugin; `per_plugin(plugin_name)` may add arguments of its own
    (such as a `register` callback that knows which plugin is registering). An exception
    is that plugin's result, never the caller's problem.
    """
    manager = plugins.manager
    hookimpls = getattr(manager.hook, name).get_hookimpls()
    wrappers = [impl for impl in hookimpls if impl.hookwrapper or impl.wrapper]
    results = []
    for impl in (impl for impl in hookimpls if not (impl.hookwrapper or impl.wrapper)):
        arguments = {**kwargs, **(per_plugin(impl.plugin_name) if per_plugin else {})}
        try:
            # pluggy's own executor, given this implementation and every wrapper: argument
            # subsets, wrappers and call monitoring as for a normal hook call. (A subset
            # hook caller would need hashable plugin objects, which pluggy does not require.)
            returned = manager._hookexec(name, [impl, *wrappers], arguments, False)
        except Exception as exc:  # noqa: BLE001 (a plugin's failure is its own result)
            results.append(HookResult(impl.plugin_name, error=f"{type(exc).__name__}: {exc}"))
            continue
        results.append(HookResult(impl.plugin_name, returned[0] if returned else None))  # type: ignore[index]
    return results


@dataclass
class Plugins:
    manager: pluggy.PluginManager
    failures: list[PluginFailure] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # plugin name -> distribution and version

    # What other layers build from this plugin set once (the rule registry: see
    # `cpflow.rules.engine.registry_for`), kept with the set it was built from.
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def hook(self):
        return self.manager.hook

    def call(self, name: str, per_plugin: Callable[[str], dict] | None = None, **kwargs) -> list[HookResult]:
        """`call_hook(self, ...)`."""
        return call_hook(self, name, per_plugin, **kwargs)

    def guard(self, **kwargs) -> list[str]:
        """Every veto of a move (`guard_transition`): the reasons plugins gave, and, for a
        guard that raised, a veto naming the plugin (a broken guard never lets a move through)."""
        vetoes = []
        for result in self.call("guard_transition", **kwargs):
            if not result.ok:
                vetoes.append(f"the {result.plugin} plugin's guard failed ({result.error})")
            elif result.value:
                value = result.value
                vetoes.extend([value] if isinstance(value, str) else [str(reason) for reason in value])
        return vetoes

    def after_transition(self, **kwargs) -> list[str]:
        """Tell plugins about a committed move; returns a warning per plugin that failed."""
        return [f"the {r.plugin} plugin's after_transition hook failed: {r.error}"
                for r in self.call("after_transition", **kwargs) if not r.ok]  # fmt: skip

    def formats(self, hook: str) -> tuple[dict[str, Any], list[str]]:
        """`register_importers` or `register_exporters` as (name -> callable, problems). Each
        plugin registers on its own: a broken plugin loses only its own formats, and a name
        another plugin took first is reported, not replaced."""
        table: dict[str, Any] = {}
        owner: dict[str, str] = {}
        problems: list[str] = []

        def per_plugin(plugin: str) -> dict:
            def register(name, function):
                if not isinstance(name, str) or not callable(function):
                    problems.append(f"the {plugin} plugin registered {name!r}: expected a name and a callable")
                elif name in table:
                    problems.append(f"the {plugin} plugin's {name!r} skipped: already registered by {owner[name]}")
                else:
                    table[name], owner[name] = function, plugin

            return {"register": register}

        for result in self.call(hook, per_plugin):
            if not result.ok:
                problems.append(f"the {result.plugin} plugin's {hook} hook failed: {result.error}")
        return table, problems

    def add_commands(self, cli) -> None:
        """Let plugins add click commands to the group `cli`. A plugin that fails, or names a
        command that is taken, is recorded in `failures` and skipped."""
        import click

        staged: dict[str, Any] = {}
        results = self.call("register_commands", lambda plugin: {"cli": staged.setdefault(plugin, click.Group())})
        for result in results:
            if not result.ok:
                self.failures.append(PluginFailure(result.plugin, f"register_commands failed: {result.error}"))
                continue
            for name, command in staged[result.plugin].commands.items():
                if name in cli.commands:
                    self.failures.append(PluginFailure(result.plugin, f"command {name!r} is already taken; skipped"))
                else:
                    cli.add_command(command, name)

    def describe(self, rules_of: Callable[[str], list[str]] = lambda name: []) -> list[dict]:
        """One row per plugin: name, source, status, hooks it implements, rules (from
        `rules_of(plugin name)`: `cpflow.rules.engine.describe_plugins` passes the registry's),
        errors. A plugin that failed to load has status `failed`; one that loaded but had a
        rule or command refused has status `problems`, with the errors listed.
        """
        errors: dict[str, list[str]] = {}
        for failure in self.failures:
            errors.setdefault(failure.name, []).append(failure.error)
        rows = []
        for name, plugin in sorted(self.manager.list_name_plugin(), key=lambda item: item[0]):
            if plugin is None:
                continue
            hooks = sorted(caller.name for caller in self.manager.get_hookcallers(plugin) or [])
            problems = errors.pop(name, [])
            rows.append({"name": name, "source": self.sources.get(name, ""), "status": "problems" if problems else "loaded",
                         "hooks": hooks, "rules": rules_of(name), "errors": problems})  # fmt: skip
        rows += [{"name": name, "source": "", "status": "failed", "hooks": [], "rules": [], "errors": problems}
                 for name, problems in errors.items()]  # fmt: skip
        return rows


def _selection(value: str | None) -> set[str] | None:
    if value is None or value.strip() in ("", "all"):
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def build(selection: str | None = None) -> Plugins:
    """A fresh PluginManager honouring the selection (None or `all`: every plugin)."""
    wanted = _selection(selection)
    manager = pluggy.PluginManager("cpflow")
    manager.add_hookspecs(hookspecs)
    plugins = Plugins(manager)
    if wanted is None or "builtin" in wanted or wanted & set(DEFAULT_PLUGINS):
        for name in DEFAULT_PLUGINS:
            if wanted is None or "builtin" in wanted or name in wanted:
                _register_module(plugins, name, name, BUILTIN_SOURCE)
    for ep in sorted(entry_points(group="cpflow"), key=lambda ep: ep.name):
        if wanted is not None and ep.name not in wanted:
            continue
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "unknown distribution"
        try:
            module = ep.load()
        except Exception as exc:  # noqa: BLE001 (a broken plugin is reported, not fatal)
            plugins.failures.append(PluginFailure(ep.name, f"failed to import {ep.value}: {type(exc).__name__}: {exc}"))
            continue
        _register(plugins, module, ep.name, dist)
    return plugins


def _register_module(plugins: Plugins, name: str, module_name: str, source: str) -> None:
    import importlib

    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001
        plugins.failures.append(PluginFailure(name, f"failed to import: {type(exc).__name__}: {exc}"))
        return
    _register(plugins, module, name, source)


def _register(plugins: Plugins, module, name: str, source: str) -> None:
    try:
        plugins.manager.register(module, name=name)
        plugins.manager.check_pending()
    except Exception as exc:  # noqa: BLE001
        if plugins.manager.is_registered(module):
            plugins.manager.unregister(module)
        plugins.failures.append(PluginFailure(name, f"failed to register: {type(exc).__name__}: {exc}"))
        return
    plugins.sources[name] = source


@functools.cache
def _cached(selection: str | None) -> Plugins:
    return build(selection)


def get_plugins(selection: str | None = None) -> Plugins:
    """The plugins for a selection (None: all), built once per selection and process."""
    return _cached(selection)
