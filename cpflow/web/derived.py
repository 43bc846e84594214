"""What the dashboard shows (the progress report's figures and views, the findings by
severity), built once per state of the record and kept, so a page read costs one head read.

The key is everything that determines the answer: the plan, the as-of and since dates, and
the event log's head (number of events and last hash) read in the same snapshot as the
figures. Every write appends an event and so moves the head; a kept entry can therefore
never answer for another state of the record, and workers that keep different entries (or
none) still give the same answer: the cache changes how fast, never what. The report and
the findings counts are built from one snapshot, so the head they carry is theirs.

Concurrent requests for the same key wait for the one that is building it instead of each
building it (the dashboard's first visitors after a change are served by one build)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KEPT = 16  # entries kept per worker (a few plans, today and a few chosen dates)
SHOWN_ROWS = 200  # rows of a table a page shows; the downloads hold all


@dataclass(frozen=True)
class SectionText:
    """The parts of a report section a page shows (not its DataFrame)."""

    key: str
    title: str
    note: str | None


@dataclass(frozen=True)
class ShownView:
    """One section as a page shows it: the first SHOWN_ROWS rows, the total and the chart."""

    section: SectionText
    anchor: str
    headers: list[tuple[str, str]]
    rows: list
    total: int
    chart: Any


@dataclass(frozen=True)
class Dashboard:
    as_of: dt.date
    since: dt.date | None
    figures: list
    views: list[ShownView]
    counts: dict[str, int]
    head: tuple[int, str]


Key = tuple[str, dt.date, dt.date | None, int, str]


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Dashboard | None = None


class DerivedCache:
    """A small LRU of built dashboards with one build at a time per key."""

    def __init__(self, size: int = KEPT):
        self.size = size
        self._kept: OrderedDict[Key, Dashboard] = OrderedDict()
        self._flights: dict[Key, _Flight] = {}
        self._lock = threading.Lock()
        self.builds = 0  # how many times build() ran (tests read it)

    def get(self, key: Key, build: Callable[[], Dashboard]) -> Dashboard:
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
            found = self._flights.get(key)
            leader = found is None
            flight = self._flights[key] = _Flight() if found is None else found
        if not leader:
            flight.done.wait()
            if flight.result is not None:
                # Built from the record at this key's head or a later one (a write landed
                # meanwhile): either is a real snapshot, as if this request came a moment later.
                return flight.result
            return build()  # the build failed: this request builds (and reports) on its own
        try:
            self.builds += 1
            result = flight.result = build()
            if result.head[0] >= 0:
                with self._lock:
                    kept = (*key[:3], *result.head)
                    self._kept[kept] = result
                    self._kept.move_to_end(kept)
                    while len(self._kept) > self.size:
                        self._kept.popitem(last=False)
            return result
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()


def shown(view) -> ShownView:
    """A report View reduced to what a page shows."""
    section = view.section
    return ShownView(SectionText(section.key, section.title, section.note), view.anchor, view.headers,
                     view.rows[:SHOWN_ROWS], len(view.rows), view.chart)  # fmt: skip


def build_dashboard(db, plugins, slug: str, as_of: dt.date, since: dt.date | None) -> Dashboard:
    """The progress report's figures and views (not its full activity list) and the findings
    counts, through the same services as `cpflow report progress` and `cpflow check`."""
    from cpflow.reports import html
    from cpflow.reports.build import ReportOptions, build_reports_and_check

    options = ReportOptions(as_of=as_of, plans=(slug,), since=since)
    (report,), checks, at = build_reports_and_check(db, ("progress",), options, plugins)
    views = [shown(html.view(report, section)) for section in report.sections if section.key != "activities"]
    return Dashboard(as_of, since, list(report.figures), views, dict(checks.counts), at)
