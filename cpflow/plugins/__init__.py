"""cpflow's plugin system (pluggy). Hooks are declared in `hookspecs`; implement them
with `cpflow.plugins.hookimpl` and publish your module in the `cpflow` entry-point group."""

import pluggy

hookimpl = pluggy.HookimplMarker("cpflow")

__all__ = ["hookimpl"]
