"""Build the PluginManager once: built-in plugins, then the `cpflow` entry points.

A plugin that fails to import or register is recorded in `failures` and skipped; it
never takes the CLI down. `CPFLOW_PLUGINS` (or `--plugins`) restricts which plugins load:
a comma-separated list of names, `builtin` for the built-in packs, or `none`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pluggy

from cpflow.plugins import hookspecs

# Built-in rule packs are plugins like any other; they register through the same hooks.
DEFAULT_PLUGINS: tuple[str, ...] = ()


@dataclass
class PluginFailure:
    name: str
    error: str


@dataclass
class Plugins:
    manager: pluggy.PluginManager
    failures: list[PluginFailure] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # plugin name -> distribution and version

    @property
    def hook(self):
        return self.manager.hook


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
                _register_module(plugins, name, name, "cpflow (built-in)")
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
