"""cpflow: track humanitarian work plans activity by activity, check them against their
framework's criteria, and write the reports governance reviews read."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cpflow")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
