"""`cpflow check`, `cpflow rules` and `cpflow plugins`: parse, call the rules engine or the
plugin manager, render. Heavy imports stay inside the commands."""

from __future__ import annotations

import sys

import click

from cpflow.cli.common import DATE, Context, emit, format_option, pass_ctx, say
from cpflow.errors import EXIT_FINDINGS

FINDING_COLUMNS = ("code", "severity", "subject", "plan", "message", "data")


@click.command()
@click.option("--plan", "plans", multiple=True, metavar="SLUG", help="Only this plan (repeatable). Default: all.")
@click.option("--as-of", "as_of", type=DATE, help="Check the plans as they stood on this date. Default today.")
@click.option("--select", "select", multiple=True, metavar="CODES",
              help="Rule codes or prefixes to run, comma-separated (T,F3). Default: the plan's, else all.")  # fmt: skip
@click.option("--ignore", "ignore", multiple=True, metavar="CODES", help="Rule codes or prefixes to skip (T103).")
@click.option("--set", "settings", multiple=True, metavar="CODE.KEY=VALUE",
              help="A rule setting (F301.threshold=0.9) or severity (G402.severity=warning); repeatable.")  # fmt: skip
@click.option("--fail-on", "fail_on", type=click.Choice(("error", "warning", "info", "never")), default="error",
              show_default=True, help="Exit 1 when a finding is at least this severe.")  # fmt: skip
@format_option()
@click.option("--json-list", "json_list", is_flag=True,
              help="With --format json, print only the list of findings, as cpflow 0.1 did (kept for one release).")  # fmt: skip
@pass_ctx
def check(c: Context, plans, as_of, select, ignore, settings, fail_on, fmt, json_list) -> None:
    """Check plans against the rules: timeline, indicators, funding, governance, coverage
    and any plugin's rules.

    \b
    cpflow check --plan cpms-wg-2022-2025 --as-of 2024-01-01 --select T101
    cpflow check --select T,F3 --ignore T103 --set F301.threshold=0.9

    Exit 0 when no finding reaches --fail-on, 1 when some do, 2 on bad input.
    `--format json` prints one report object (version, as_of, plans, rules, counts,
    notes, findings, waived: docs/rules.md).
    """
    from cpflow.errors import BadInput
    from cpflow.render import render, render_json
    from cpflow.rules.engine import RuleSettingError, parse_settings, run_checks

    try:
        parsed = parse_settings(settings)
        with c.db.read() as session:
            report = run_checks(session, plans=plans, as_of=as_of, select=select, ignore=ignore, settings=parsed,
                                plugins=c.plugins, debug=c.debug)  # fmt: skip
    except RuleSettingError as exc:
        raise BadInput(f"--set {exc.detail}") from None
    rows = report.rows()
    if fmt == "table":
        emit(render(rows, "table", ("severity", "code", "subject", "message")))
    elif fmt == "json" and not json_list:
        emit(render_json(report.to_dict()) + "\n")
    else:
        emit(render(rows, fmt, FINDING_COLUMNS))
    for note in report.notes:
        say(f"note: {note}")
    if c.debug:
        for finding in report.findings:
            if "traceback" in finding.data:
                click.echo(f"{finding.message}\n{finding.data['traceback']}", err=True)
    say(report.summary())
    if report.fails(fail_on):
        sys.exit(EXIT_FINDINGS)


@click.command()
@click.argument("code", required=False, metavar="[CODE]")
@format_option("table", "json")
@pass_ctx
def rules(c: Context, code: str | None, fmt: str) -> None:
    """List every rule (code, title, severity, pack, plugin), or explain one rule and its
    settings. A prefix (T, F3) lists those rules."""
    from cpflow.render import render, render_json, render_record
    from cpflow.rules.engine import normalise_code, registry_for

    registry = registry_for(c.plugins)
    listed = registry.matching(code)  # BadInput when the code or prefix names no rule
    if code and normalise_code(code) in registry.rules:
        record = registry.explain(code)
        if fmt == "json":
            emit(render_json(record) + "\n")
            return
        record["settings"] = [
            f"{key}={entry['default']} ({entry['help']})" for key, entry in record["settings"].items()
        ] or "none"
        emit(render_record(record))
        return
    rows = [{"code": r.code, "title": r.title, "severity": r.severity, "pack": r.pack, "plugin": registry.sources[r.code]}
            for r in listed]  # fmt: skip
    emit(render(rows, fmt))


@click.command()
@format_option("table", "json")
@pass_ctx
def plugins(c: Context, fmt: str) -> None:
    """List loaded plugins with their version, hooks and rules, and any that failed to load."""
    from cpflow.render import render
    from cpflow.rules.engine import describe_plugins

    rows = describe_plugins(c.plugins)
    emit(render(rows, fmt, ("name", "source", "status", "hooks", "rules", "errors")))


COMMANDS = (check, rules, plugins)
