"""Every hook a cpflow plugin can implement. Reading this file tells a plugin author
everything: when each hook is called, with what, and what it may return.

Implement hooks in a module with `from cpflow.plugins import hookimpl`, then publish it
through the `cpflow` entry-point group in your package's pyproject.toml:

    [project.entry-points.cpflow]
    health = "cpflow_health.plugin"
"""

import pluggy

hookspec = pluggy.HookspecMarker("cpflow")


@hookspec
def register_rules(register):
    """Call `register(rule)` for each `cpflow.rules.Rule` this plugin provides.

    Called once when the rule registry is built. Codes must be unique across all
    plugins; a duplicate is reported by `cpflow plugins` and the later rule is skipped.
    """


@hookspec
def register_commands(cli):
    """Add click commands to the `cpflow` command group `cli` (`cli.add_command(...)`).

    Called once when the CLI starts. A command name already taken is reported by
    `cpflow plugins` and skipped.
    """


@hookspec
def guard_transition(activity, trigger, source, dest, actor, at, reason, ref):
    """Veto a move before anything is written: return a reason (str) or a list of reasons
    to refuse it, or None to allow it.

    Called inside the move's transaction after the lifecycle allowed it. `activity` is a
    read-only mapping with at least `id` ("plan:code"), `plan`, `code`, `title`,
    `sectors`, `lead`, `unit`, `objective`, `state` and `version`. A vetoed move is
    refused with every reason given and nothing is written.
    """


@hookspec
def after_transition(activity, trigger, source, dest, actor, at, reason, ref, event_id):
    """React to a committed move (notify, log, sync). The return value is ignored.

    Called after the transaction committed, so the move stands whatever happens here;
    an exception raised here is reported as a warning, never undoes the move.
    """


@hookspec
def report_sections(report):
    """Return a list of extra sections for the progress report, or None.

    `report` is the built `cpflow.reports.progress.ProgressReport` (plans, as-of date,
    activity table as a pandas DataFrame). Each section is a
    `cpflow.reports.model.Section` (a title, a DataFrame and an optional chart); every
    output format renders it after the built-in views.
    """


@hookspec
def register_importers(register):
    """Call `register(suffix, reader)` for each spreadsheet format this plugin reads.

    `reader(path, sheet)` returns the table as a list of rows (lists of cell values);
    cpflow's importer then finds the header row, maps columns and validates as for its
    own formats.
    """


@hookspec
def register_exporters(register):
    """Call `register(name, exporter)` for each export format this plugin writes.

    `exporter(plan_table, path)` receives the plan's activities as a pandas DataFrame
    (the columns of `cpflow export`) and writes `path`. The format becomes available as
    `cpflow export PLAN --format NAME`.
    """
