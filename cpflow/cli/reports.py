"""`cpflow report progress|compliance|iptt|pack`: parse, build the report, write it.
Heavy imports (pandas, xlsxwriter, jinja2) stay inside the commands."""

from __future__ import annotations

from pathlib import Path

import click

from cpflow.cli.common import DATE, Context, emit, pass_ctx


def _shared(since: bool, formats: bool, rules: bool = True):
    """The options every report command takes, defined once (`rules`: the rule selection)."""

    def decorate(func):
        options = [
            click.option("--plan", "plans", multiple=True, metavar="SLUG", help="Only this plan (repeatable). Default: all."),
            click.option("--as-of", "as_of", type=DATE, help="The plans as they stood on this date. Default today."),
        ]  # fmt: skip
        if rules:
            options += [
                click.option("--select", "select", multiple=True, metavar="CODES", help="Rule codes or prefixes, as for `cpflow check`."),
                click.option("--ignore", "ignore", multiple=True, metavar="CODES", help="Rule codes or prefixes to skip."),
                click.option("--set", "settings", multiple=True, metavar="CODE.KEY=VALUE", help="A rule setting or severity; repeatable."),
            ]  # fmt: skip
        if since:
            options.append(
                click.option("--since", "since", type=DATE, help="The previous review: add what changed after this date.")
            )
        if formats:
            options.append(click.option("--format", "fmt", type=click.Choice(("xlsx", "html", "md", "json", "csv")),
                                        default="xlsx", show_default=True, help="Output format."))  # fmt: skip
            options.append(click.option("-o", "--output", "output", type=click.Path(path_type=Path),
                                        help="File to write (a folder for csv). Default: KIND-DATE.xlsx or "
                                             "KIND-DATE-csv/; html, md and json go to stdout."))  # fmt: skip
        else:
            options.append(click.option("-o", "--output", "output", type=click.Path(path_type=Path),
                                        help="Folder to write. Default: pack-DATE/."))  # fmt: skip
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _options(plans, as_of, since, select, ignore, settings):
    from cpflow.clock import today
    from cpflow.reports.build import ReportOptions
    from cpflow.rules.engine import parse_settings

    return ReportOptions(as_of=as_of or today(), plans=tuple(plans), since=since, select=tuple(select),
                         ignore=tuple(ignore), settings=parse_settings(settings))  # fmt: skip


def _single(c: Context, kind: str, options, fmt: str, output: Path | None) -> None:
    from cpflow.reports.build import build_reports
    from cpflow.reports.output import TEXT_FORMATS, default_path, render_text, write_report

    (report,), _ = build_reports(c.db, (kind,), options, c.plugins)
    if output is None and fmt in TEXT_FORMATS:
        emit(render_text(report, fmt))
        return
    for path in write_report(report, fmt, output or default_path(report, fmt)):
        click.echo(f"wrote {path}")


@click.group()
def report() -> None:
    """Progress and compliance reports for governance reviews, as of any date.

    \b
    cpflow report progress --plan cpms-wg-2022-2025 --as-of 2023-12-31 --since 2023-06-30 -o progress.xlsx
    cpflow report compliance --as-of 2023-12-31 --format html -o compliance.html
    cpflow report iptt --plan cpms-wg-2022-2025 --as-of 2023-12-31 -o iptt.xlsx
    cpflow report pack --as-of 2023-12-31 --since 2023-06-30 -o review-2023-12

    The same data, date and options always give byte-identical files.
    """


@report.command()
@_shared(since=True, formats=True)
@pass_ctx
def progress(c: Context, plans, as_of, since, select, ignore, settings, fmt, output) -> None:
    """Progress: headline figures, breakdowns, overdue and stale lists, indicators, funding
    and, with --since, what changed since the previous review."""
    _single(c, "progress", _options(plans, as_of, since, select, ignore, settings), fmt, output)


@report.command()
@_shared(since=False, formats=True)
@pass_ctx
def compliance(c: Context, plans, as_of, select, ignore, settings, fmt, output) -> None:
    """Compliance: every finding of `cpflow check`, counts by severity and pack, and a
    rule × objective matrix."""
    _single(c, "compliance", _options(plans, as_of, None, select, ignore, settings), fmt, output)


@report.command()
@_shared(since=False, formats=True, rules=False)
@pass_ctx
def iptt(c: Context, plans, as_of, fmt, output) -> None:
    """The indicator performance tracking table: one row per indicator per reporting period
    (baseline, target, actual, % of target, cumulative to date, on/off track); blank is not
    reported. Each indicator's aggregation (sum, last, max, average) is declared in its plan."""
    _single(c, "iptt", _options(plans, as_of, None, (), (), ()), fmt, output)


@report.command()
@_shared(since=True, formats=False)
@pass_ctx
def pack(c: Context, plans, as_of, since, select, ignore, settings, output) -> None:
    """A folder for a governance review: progress.xlsx, compliance.xlsx, report.html,
    report.md, findings.json and manifest.json (dates, rules, version, SHA-256 of every
    file and of the event log it was built from)."""
    from cpflow.reports.pack import write_pack

    if output is not None and str(output) == "-":
        raise click.BadParameter("a pack is a folder of files; it cannot go to standard output", param_hint="-o")
    options = _options(plans, as_of, since, select, ignore, settings)
    folder = output or Path(f"pack-{options.as_of.isoformat()}")
    for path in write_pack(c.db, options, folder, c.plugins):
        click.echo(f"wrote {path}")


COMMANDS = (report,)
