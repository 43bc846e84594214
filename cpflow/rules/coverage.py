"""Coverage rules (C): every prioritised sector, cross-cutting theme, prioritised country
and checklist item of a plan is carried by at least one live activity (one whose state
its lifecycle does not tag `cancelled`). Names are compared without regard to case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cpflow.plugins import hookimpl
from cpflow.rules.base import RegisterRule, Rule, findings, missing_rows

if TYPE_CHECKING:
    import pandas as pd

    from cpflow.rules.context import Context


def _uncovered(ctx: Context, column: str) -> pd.DataFrame:
    """(plan, value) pairs the plan lists in `column` that no live activity carries."""
    wanted = ctx.plans[["slug", column]].rename(columns={"slug": "plan"}).explode(column).dropna(subset=[column])
    wanted = wanted.assign(folded=wanted[column].astype(str).str.strip().str.casefold())
    acts = ctx.activities
    carried = acts.loc[~ctx.tagged(acts, "cancelled"), ["plan", column]].explode(column).dropna(subset=[column])
    carried = carried.assign(folded=carried[column].astype(str).str.strip().str.casefold())
    return missing_rows(wanted, carried, ["plan", "folded"]).reset_index(drop=True)


class SectorNotCovered(Rule):
    code = "C501"
    title = "Prioritised sector with no live activity"
    severity = "warning"
    pack = "coverage"
    description = "A sector the plan prioritises (`plan.sectors`) that no activity, other than dropped ones, is tagged with."

    def check(self, ctx: Context) -> pd.DataFrame:
        rows = _uncovered(ctx, "sectors")
        message = rows["plan"] + ": prioritised sector '" + rows["sectors"] + "' has no live activity"
        return findings(rows, message, subject="plan", data={"sector": "sectors"})


class ThemeNotCarried(Rule):
    code = "C502"
    title = "Cross-cutting theme carried by no activity"
    severity = "info"
    pack = "coverage"
    description = (
        "A cross-cutting theme of the plan (`plan.cross_cutting`, e.g. Gender, AAP, PSEA, AGD) that no live activity carries."
    )

    def check(self, ctx: Context) -> pd.DataFrame:
        rows = _uncovered(ctx, "cross_cutting")
        message = rows["plan"] + ": cross-cutting theme '" + rows["cross_cutting"] + "' is carried by no activity"
        return findings(rows, message, subject="plan", data={"theme": "cross_cutting"})


class ChecklistItemUnlinked(Rule):
    code = "C503"
    title = "Checklist item linked to no activity"
    severity = "warning"
    pack = "coverage"
    description = (
        "An item of one of the plan's checklists (such as an Annex 1 common action) that no live "
        "activity lists in its `checklist`."
    )

    def check(self, ctx: Context) -> pd.DataFrame:
        acts = ctx.activities
        linked = acts.loc[~ctx.tagged(acts, "cancelled"), ["plan", "checklist"]].explode("checklist")
        linked = linked.dropna(subset=["checklist"])
        rows = missing_rows(ctx.checklist, linked, ["plan", "code"], ["plan", "checklist"])
        rows = rows.assign(id=rows["plan"] + ":" + rows["code"])
        message = (rows["id"] + " (" + rows["checklist_title"].str.slice(0, 50) + ": "
                   + rows["text"].str.slice(0, 80) + ") is linked to no activity")  # fmt: skip
        return findings(rows, message, data=["checklist", "category"])


class CountryNotCovered(Rule):
    code = "C504"
    title = "Prioritised country with no live activity"
    severity = "warning"
    pack = "coverage"
    description = "A country the plan prioritises (`plan.countries`) that no activity, other than dropped ones, is tagged with."

    def check(self, ctx: Context) -> pd.DataFrame:
        rows = _uncovered(ctx, "countries")
        message = rows["plan"] + ": prioritised country '" + rows["countries"] + "' has no live activity"
        return findings(rows, message, subject="plan", data={"country": "countries"})


RULES = (SectorNotCovered(), ThemeNotCarried(), ChecklistItemUnlinked(), CountryNotCovered())


@hookimpl
def register_rules(register: RegisterRule) -> None:
    for rule in RULES:
        register(rule)
