"""The cpflow plugin module (entry point `health` in the `cpflow` group).

- rule H101: a live health-sector action with no named lead and no health-cluster
  counterpart among its contributors;
- a transition guard: a health-sector action is completed only with a reference
  (`--ref`: the health-cluster meeting minutes or report that shows it done);
- a progress-report section, "Health sector": health-sector actions by state, with a
  bar chart, in every report format;
- a command, `cpflow health`, listing the health-sector actions with their state, lead
  and contributors as of a date.

Kept light at import (no pandas): cpflow loads plugins on every command.
"""

from __future__ import annotations

from cpflow.plugins import hookimpl
from cpflow.rules import Option, Rule, findings

HEALTH = "health"


class HealthCounterpart(Rule):
    code = "H101"
    title = "Live health-sector action with no named lead or health-cluster counterpart"
    severity = "warning"
    pack = "health"
    description = (
        "A health-sector action that is under way (by default endorsed or in progress) but "
        "names no lead of its own and no health-cluster counterpart among its contributors: "
        "nobody on the health side is accountable for it. A counterpart is a contributor whose "
        "name contains one of `counterparts` (case does not matter); a unit's leads do not count, "
        "the action needs a name of its own."
    )
    options = {
        "counterparts": Option(["health cluster", "WHO", "World Health Organization", "ministry of health"],
                               "names (or parts of names) that identify a health-cluster counterpart"),
        "states": Option(["endorsed", "in_progress"], "states in which an action is live"),
    }  # fmt: skip

    def check(self, ctx):
        import re

        acts = ctx.activities
        folded = acts["sectors"].explode().dropna().astype(str).str.strip().str.casefold()
        health_ids = set(acts.loc[folded[folded == HEALTH].index.unique(), "id"])
        live = acts[acts["id"].isin(health_ids) & acts["state"].isin(ctx.config["states"])]
        pattern = "|".join(re.escape(name.casefold()) for name in ctx.config["counterparts"]) or "(?!)"
        contributors = live["contributors"].explode().dropna().astype(str).str.casefold()
        # \b keeps "WHO" from matching inside "whole"; names are matched as words.
        with_counterpart = contributors[contributors.str.contains(rf"\b(?:{pattern})\b", regex=True)].index.unique()
        own_lead = live["own_lead"].fillna("").astype(str).str.strip() != ""
        rows = live[~own_lead & ~live.index.isin(with_counterpart)]
        message = rows["id"] + " is " + rows["state"] + " in the health sector with no named lead or health-cluster counterpart"
        return findings(rows, message, data=["state", "unit", "contributors"])


@hookimpl
def register_rules(register):
    register(HealthCounterpart())


@hookimpl
def guard_transition(activity, trigger, source, dest, actor, at, reason, ref):
    sectors = {str(s).strip().casefold() for s in activity.get("sectors") or []}
    if trigger == "complete" and HEALTH in sectors and not ref:
        return "a health-sector action is completed with a reference (--ref: the cluster minutes or report showing it done)"
    return None


@hookimpl
def report_sections(report):
    from cpflow.reports.model import Chart, Column, Section

    acts = report.activities  # one row per activity, with its state on the report date
    sectors = acts["sectors"].explode().dropna().astype(str).str.strip().str.casefold()
    health = acts.loc[sectors[sectors == HEALTH].index.unique()]
    table = health.groupby("state", sort=True).size().rename("activities").reset_index()
    return [
        Section(
            "Health sector",
            table,
            Chart("bar", "Health-sector actions by state", "state", ("activities",)),
            columns=(Column("state", "State"), Column("activities", "Activities", "int")),
        )
    ]


@hookimpl
def register_commands(cli):
    import click

    from cpflow.cli.common import DATE, emit, format_option, pass_ctx

    @cli.command("health")
    @click.option("--plan", "plans", multiple=True, metavar="SLUG", help="Only this plan (repeatable).")
    @click.option("--as-of", "as_of", type=DATE, help="State on this date. Default today.")
    @format_option()
    @pass_ctx
    def health(c, plans, as_of, fmt):
        """List health-sector actions with their state, lead and contributors (cpflow-health)."""
        from cpflow.read.frames import load_frames
        from cpflow.render import render

        with c.db.read() as session:
            acts = load_frames(session, plans=plans, as_of=as_of).activities
        folded = acts["sectors"].explode().dropna().astype(str).str.strip().str.casefold()
        rows = acts.loc[folded[folded == HEALTH].index.unique(), ["id", "state", "lead", "contributors", "title"]]
        emit(render(rows.astype(object).where(rows.notna(), None).to_dict("records"), fmt))
