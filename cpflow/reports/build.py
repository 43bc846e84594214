"""Build reports from a database: one read transaction (a consistent snapshot) per call,
the options every report shares, and the facts about the build (`about`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cpflow.errors import BadInput


@dataclass(frozen=True)
class ReportOptions:
    """What a report is about: plans (all when empty), the date, the review it follows,
    and the rule selection (as for `cpflow check`)."""

    as_of: dt.date
    plans: tuple[str, ...] = ()
    since: dt.date | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    settings: dict = field(default_factory=dict)
    severities: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.since is not None and self.since >= self.as_of:
            raise BadInput(f"--since {self.since} must be before --as-of {self.as_of}")

    def selection(self) -> dict:
        return {
            "select": list(self.select), "ignore": list(self.ignore),
            "settings": {code: dict(sorted(v.items())) for code, v in sorted(self.settings.items())},
            "severities": dict(sorted(self.severities.items())),
        }  # fmt: skip


def _version() -> str:
    from cpflow import __version__

    return __version__


class _Checks:
    """`cpflow check` for the report's selection, run once per date and kept: the progress
    change log and the compliance report read the same check of the as-of date. The frames
    of the as-of date are read once too, and shared by the check and every report."""

    def __init__(self, session, options: ReportOptions, plugins):
        self.session, self.options, self.plugins = session, options, plugins
        self._runs: dict[dt.date, object] = {}
        self._frames = None

    def frames(self):
        """The plans' frames as of the report's date (read on first use)."""
        from cpflow.read.frames import load_frames

        if self._frames is None:
            self._frames = load_frames(self.session, plans=tuple(self.options.plans), as_of=self.options.as_of)
        return self._frames

    def run(self, on: dt.date):
        from cpflow.rules.engine import run_checks

        if on not in self._runs:
            o = self.options
            frames = self.frames() if on == o.as_of else None
            self._runs[on] = run_checks(self.session, plans=o.plans, as_of=on, select=o.select, ignore=o.ignore,
                                        settings=o.settings, severities=o.severities, plugins=self.plugins,
                                        frames=frames)  # fmt: skip
        return self._runs[on]

    def findings(self, on: dt.date):
        """The findings on a date as a DataFrame (for the change log's appeared and resolved findings)."""
        import pandas as pd

        return pd.DataFrame(self.run(on).rows(), columns=["code", "severity", "subject", "plan", "message", "data"])


def progress_in(session, options: ReportOptions, plugins, checks: _Checks):
    from cpflow.reports.progress import build_progress

    report = build_progress(session, plans=options.plans, as_of=options.as_of, since=options.since, plugins=plugins,
                            checks=checks.findings, frames=checks.frames())  # fmt: skip
    report.about = {"cpflow": _version(), **options.selection()}
    return report


def compliance_in(session, options: ReportOptions, plugins, checks: _Checks):
    from cpflow.reports.compliance import build_compliance

    report = build_compliance(session, plans=options.plans, as_of=options.as_of, select=options.select,
                              ignore=options.ignore, settings=options.settings, severities=options.severities,
                              plugins=plugins, check=checks.run(options.as_of), frames=checks.frames())  # fmt: skip
    report.about = {"cpflow": _version(), **report.about}
    return report


def iptt_in(session, options: ReportOptions, checks: _Checks):
    from cpflow.reports.iptt import build_iptt

    report = build_iptt(session, plans=options.plans, as_of=options.as_of, frames=checks.frames())
    report.about = {"cpflow": _version()}
    return report


def _require_started(session, options: ReportOptions) -> None:
    """Refuse a date before every selected plan started: there is nothing to report."""
    from sqlalchemy import select

    from cpflow.models import Plan
    from cpflow.read.lookup import find_plan

    for slug in options.plans:
        find_plan(session, slug)
    query = select(Plan.slug, Plan.start).order_by(Plan.start, Plan.slug)
    if options.plans:
        query = query.where(Plan.slug.in_(options.plans))
    plans = session.execute(query).all()
    if not plans:
        raise BadInput("no plan is loaded yet (cpflow load FILE)")
    if all(start > options.as_of for _, start in plans):
        raise BadInput(f"no plan has started by {options.as_of}: the first, {plans[0][0]}, starts on {plans[0][1]}")


def build_reports(db, kinds: tuple[str, ...], options: ReportOptions, plugins=None) -> tuple[list, tuple[int, str]]:
    """The reports of the given kinds ('progress', 'compliance', 'iptt') and the event-log head
    (events, hash) they were read at, all from one snapshot."""
    reports, _check, at = _build(db, kinds, options, plugins, check=False)
    return reports, at


def build_reports_and_check(db, kinds: tuple[str, ...], options: ReportOptions, plugins=None):
    """`build_reports`, with the check of the as-of date the reports were built beside (as
    `cpflow check` gives it): (reports, check, head), one snapshot, the plans read once."""
    return _build(db, kinds, options, plugins, check=True)


def _build(db, kinds: tuple[str, ...], options: ReportOptions, plugins, *, check: bool):
    from cpflow.audit import head

    if plugins is None:
        from cpflow.plugins.manager import get_plugins

        plugins = get_plugins()
    with db.read() as session:
        _require_started(session, options)
        checks = _Checks(session, options, plugins)
        as_of_check = checks.run(options.as_of) if check or "compliance" in kinds or options.since else None
        if "progress" in kinds and options.since is not None:
            checks.run(options.since)
        reports = []
        for kind in kinds:
            if kind == "progress":
                reports.append(progress_in(session, options, plugins, checks))
            elif kind == "iptt":
                reports.append(iptt_in(session, options, checks))
            else:
                reports.append(compliance_in(session, options, plugins, checks))
        return reports, as_of_check, head(session)
