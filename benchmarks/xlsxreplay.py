"""The fair baseline of report_xlsx: raw xlsxwriter writing exactly cpflow's workbook.

`record()` runs cpflow's report build and xlsx writer once, untimed, with xlsxwriter's
Workbook wrapped so every call cpflow makes on the workbook, its sheets, formats and
charts (the cells with their converted values, formats, widths, panes, filters,
conditional formats, charts, properties) is written down with its arguments. `replay()`
makes the same calls on a real xlsxwriter Workbook: the work raw xlsxwriter must do for
the same file, with every value already prepared. The replayed file is byte-identical to
cpflow's (the benchmark compares their SHA-256), which proves the baseline writes the
same workbook and nothing less.

    python -m benchmarks.xlsxreplay DB_PATH AS_OF LOG_PICKLE
"""

from __future__ import annotations

import datetime as dt
import pickle
import sys
from pathlib import Path


class Ref:
    """An object made during the recording (a sheet, format or chart), by number."""

    __slots__ = ("n",)

    def __init__(self, n: int):
        self.n = n

    def __reduce__(self):
        return (Ref, (self.n,))


def _has_ref(value) -> bool:
    if isinstance(value, Ref):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_ref(v) for v in value)
    if isinstance(value, dict):
        return any(_has_ref(v) for v in value.values())
    return False


def _ref_kind(args: tuple, kwargs: dict) -> int:
    """0: no object reference; 1: references only as top-level positional arguments (a
    cell's format: resolved on a fast path); 2: references anywhere else."""
    if not _has_ref((args, kwargs)):
        return 0
    flat = not _has_ref(kwargs) and not any(isinstance(a, (list, tuple, dict)) and _has_ref(a) for a in args)
    return 1 if flat else 2


def _resolve(value, objects):
    if isinstance(value, Ref):
        return objects[value.n]
    if isinstance(value, tuple):
        return tuple(_resolve(v, objects) for v in value)
    if isinstance(value, list):
        return [_resolve(v, objects) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, objects) for k, v in value.items()}
    return value


class _Recorder:
    """Stands in for one xlsxwriter object: forwards every call, writes it down."""

    def __init__(self, log: list, number: int, real, proxies: dict):
        object.__setattr__(self, "_log", log)
        object.__setattr__(self, "_n", number)
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_proxies", proxies)

    def __getattr__(self, name):
        attr = getattr(self._real, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            encoded_args, encoded_kwargs = self._encode(args), self._encode(kwargs)
            result = attr(*self._unwrap(args), **self._unwrap(kwargs))
            made = None
            if result is not None and type(result).__module__.startswith("xlsxwriter.") and not isinstance(result, (int, str)):
                made = len(self._proxies)
                proxy = _Recorder(self._log, made, result, self._proxies)
                self._proxies[made] = proxy
                result = proxy
            self._log.append((self._n, name, encoded_args, encoded_kwargs, made, _ref_kind(encoded_args, encoded_kwargs)))
            return result

        return call

    def __setattr__(self, name, value):
        setattr(self._real, name, value)

    def _encode(self, value):
        if isinstance(value, _Recorder):
            return Ref(value._n)
        if isinstance(value, tuple):
            return tuple(self._encode(v) for v in value)
        if isinstance(value, list):
            return [self._encode(v) for v in value]
        if isinstance(value, dict):
            return {k: self._encode(v) for k, v in value.items()}
        return value

    def _unwrap(self, value):
        if isinstance(value, _Recorder):
            return value._real
        if isinstance(value, tuple):
            return tuple(self._unwrap(v) for v in value)
        if isinstance(value, list):
            return [self._unwrap(v) for v in value]
        if isinstance(value, dict):
            return {k: self._unwrap(v) for k, v in value.items()}
        return value


def record(db_path: Path, as_of: dt.date, log_path: Path) -> Path:
    """cpflow's progress report for every plan as of `as_of`, written once through the
    recorder; the call log is pickled to `log_path`, cpflow's file kept beside it."""
    import xlsxwriter

    from cpflow.db import Database
    from cpflow.plugins.manager import get_plugins
    from cpflow.reports.build import ReportOptions, build_reports
    from cpflow.reports.output import write_report

    real_workbook = xlsxwriter.Workbook
    log: list = []
    opened: dict = {}

    def recording_workbook(filename, options=None):
        workbook = real_workbook(filename, options)
        proxies: dict = {}
        proxy = _Recorder(log, 0, workbook, proxies)
        proxies[0] = proxy
        opened["options"] = options
        return proxy

    db = Database(f"sqlite:///{db_path}")
    try:
        (report,), _ = build_reports(db, ("progress",), ReportOptions(as_of=as_of), get_plugins())
        xlsxwriter.Workbook = recording_workbook
        try:
            (written,) = write_report(report, "xlsx", log_path.with_suffix(".xlsx"))
        finally:
            xlsxwriter.Workbook = real_workbook
    finally:
        db.dispose()
    with log_path.open("wb") as f:
        pickle.dump({"options": opened["options"], "calls": log}, f, protocol=pickle.HIGHEST_PROTOCOL)
    return written


def load(log_path: Path) -> dict:
    with log_path.open("rb") as f:
        return pickle.load(f)  # noqa: S301 (our own file, written by record)


def replay(recorded: dict, path: Path) -> Path:
    """The recorded calls on a real xlsxwriter Workbook writing `path`."""
    import xlsxwriter

    objects: dict = {0: xlsxwriter.Workbook(str(path), recorded["options"])}
    bound: dict = {}
    for number, name, args, kwargs, made, refs in recorded["calls"]:
        method = bound.get((number, name))
        if method is None:
            method = bound[number, name] = getattr(objects[number], name)
        if refs == 1:
            args = tuple(objects[a.n] if a.__class__ is Ref else a for a in args)
        elif refs:
            args, kwargs = _resolve(args, objects), _resolve(kwargs, objects)
        result = method(*args, **kwargs)
        if made is not None:
            objects[made] = result
    return path


def main(argv: list[str]) -> None:
    db_path, as_of, log_path = Path(argv[0]), dt.date.fromisoformat(argv[1]), Path(argv[2])
    written = record(db_path, as_of, log_path)
    print(written)


if __name__ == "__main__":
    # Through the importable module, so the pickled Ref is benchmarks.xlsxreplay.Ref, not __main__.Ref.
    from benchmarks import xlsxreplay

    xlsxreplay.main(sys.argv[1:])
