"""Build the PluginManager once: built-in plugins, then the `cpflow` entry points.

A plugin that fails to import or register is recorded in `failures` and skipped; it
never takes the CLI down. `CPFLOW_PLUGINS` (or `--plugins`) restricts which plugins load:
a comma-separated list of names, `builtin` for the built-in packs, or `none`.
"""

from __future__ import annotations

import functools
import os
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


@dataclass
class Plugins:
    manager: pluggy.PluginManager
    failures: list[PluginFailure] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # plugin name -> distribution and version

    _rules: Any = field(default=None, repr=False)

    @property
    def hook(self):
        return self.manager.hook

    @property
    def rules(self):
        """The rule registry (`cpflow.rules.engine.RuleRegistry`), built on first use; a
        rule that could not be registered is added to `failures`."""
        if self._rules is None:
            from cpflow.rules.engine import build_registry

            self._rules = build_registry(self)
            self.failures.extend(PluginFailure(name, error) for name, error in self._rules.problems)
        return self._rules

    def describe(self) -> list[dict]:
        """One row per plugin: name, source, status, hooks it implements, rules, errors.

        A plugin that failed to load has status `failed`; one that loaded but had a rule
        or command refused has status `problems`, with the errors listed.
        """
        registry = self.rules
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
                         "hooks": hooks, "rules": registry.codes_of(name), "errors": problems})  # fmt: skip
        rows += [{"name": name, "source": "", "status": "failed", "hooks": [], "rules": [], "errors": problems}
                 for name, problems in errors.items()]  # fmt: skip
        return rows


def _selection(value: str | None) -> set[str] | None:
    if value is None or value.strip() in ("", "all"):
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def build(selection: str | None = None) -> Plugins:
    """A fresh PluginManager honouring the selection (default: $CPFLOW_PLUGINS, else all)."""
    wanted = _selection(selection if selection is not None else os.environ.get("CPFLOW_PLUGINS"))
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
    """The process-wide plugins for a selection (built once per selection)."""
    return _cached(selection if selection is not None else os.environ.get("CPFLOW_PLUGINS"))
