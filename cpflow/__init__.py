"""cpflow: track humanitarian work plans activity by activity, check them against their
framework's criteria, and write the reports governance reviews read."""

from __future__ import annotations

import functools


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cpflow")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+source"


def __getattr__(name: str) -> str:
    # `cpflow.__version__` is looked up when asked for (--version, report manifests), not
    # at every import: importlib.metadata scans the installed distributions (20-45 ms).
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'cpflow' has no attribute {name!r}")
