"""Funding rules (F): budget lines per unit and period, as of the check date (funding
events recorded with `cpflow fund` replayed over the plan file's figures).

Amounts are compared exactly in integer cents; the gap is derived (budget − received),
never stored, and only where both figures are known.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cpflow.plugins import hookimpl
from cpflow.rules.base import Option, RegisterRule, Rule, amount, findings, missing_rows, percent

if TYPE_CHECKING:
    import pandas as pd

    from cpflow.rules.context import Context


def _known(lines: pd.DataFrame) -> pd.DataFrame:
    """Lines with both budget and received known."""
    return lines[lines["budget_minor"].notna() & lines["received_minor"].notna()]


def _line_data(lines: pd.DataFrame, **extra: str | pd.Series) -> dict[str, str | pd.Series]:
    return {"period": "period", "currency": "currency", "budget": "budget", "received": "received", **extra}


class FundingGap(Rule):
    code = "F301"
    title = "Funding gap above the threshold"
    severity = "warning"
    pack = "funding"
    description = (
        "A unit's budget line whose gap (budget − received) is more than `threshold` of its "
        "budget, per unit and period. Lines without a received figure, with a zero budget, or "
        "whose period has not started on the check date are not judged."
    )
    options = {"threshold": Option(0.5, "largest acceptable gap as a share of the budget (0-1)", minimum=0.0, maximum=1.0)}

    def check(self, ctx: Context) -> pd.DataFrame:
        lines = _known(ctx.budgets)
        lines = lines[(lines["budget_minor"] > 0) & ~(lines["period_start"] > ctx.today)]
        gap = lines["budget_minor"] - lines["received_minor"]
        ratio = (gap / lines["budget_minor"]).astype(float)
        over = (ratio > ctx.config["threshold"]).fillna(False).astype(bool)
        rows, gap, ratio = lines[over], gap[over], ratio[over]
        message = (rows["id"] + " " + rows["period"] + ": gap of " + amount(gap) + " " + rows["currency"] + " is "
                   + percent(ratio) + " of its budget of " + amount(rows["budget_minor"]) + " (threshold "
                   + f"{ctx.config['threshold']:.0%})")  # fmt: skip
        return findings(rows, message, data=_line_data(rows, gap=rows["budget"] - rows["received"], ratio=ratio.round(4)))


class DeclaredGapMismatch(Rule):
    code = "F302"
    title = "Declared gap differs from budget − received"
    severity = "error"
    pack = "funding"
    description = (
        "A budget line whose declared funding gap (as the source states it) is not the budget "
        "minus the amount received: a transcription error or figures that changed."
    )

    def check(self, ctx: Context) -> pd.DataFrame:
        lines = _known(ctx.budgets)
        lines = lines[lines["declared_gap_minor"].notna()]
        derived = lines["budget_minor"] - lines["received_minor"]
        differs = (lines["declared_gap_minor"] != derived).fillna(False).astype(bool)
        rows, derived = lines[differs], derived[differs]
        message = (rows["id"] + " " + rows["period"] + ": declared gap " + amount(rows["declared_gap_minor"])
                   + " differs from budget − received = " + amount(rows["budget_minor"]) + " − "
                   + amount(rows["received_minor"]) + " = " + amount(derived))  # fmt: skip
        return findings(rows, message, data=_line_data(rows, declared_gap="declared_gap", gap=rows["budget"] - rows["received"]))


class OverFunded(Rule):
    code = "F303"
    title = "Received exceeds budget"
    severity = "warning"
    pack = "funding"
    description = "A budget line whose amount received is larger than its budget."

    def check(self, ctx: Context) -> pd.DataFrame:
        lines = _known(ctx.budgets)
        rows = lines[(lines["received_minor"] > lines["budget_minor"]).fillna(False).astype(bool)]
        message = (rows["id"] + " " + rows["period"] + ": received " + amount(rows["received_minor"]) + " "
                   + rows["currency"] + " exceeds its budget of " + amount(rows["budget_minor"]))  # fmt: skip
        return findings(rows, message, data=_line_data(rows))


class NoBudgetLine(Rule):
    code = "F304"
    title = "Unit with live activities and no budget line for the period"
    severity = "warning"
    pack = "funding"
    description = (
        "In a plan that records budgets, a unit with live (not completed, not dropped) "
        "activities and no budget line for a budget period that covers the check date. The "
        "budget periods are those the plan's budget lines use."
    )

    def check(self, ctx: Context) -> pd.DataFrame:
        lines = ctx.budgets
        used = lines[["plan", "period", "period_start", "period_end"]].drop_duplicates(["plan", "period"])
        current = used[(used["period_start"] <= ctx.today) & (used["period_end"] >= ctx.today)]
        acts = ctx.activities
        live = acts[~ctx.tagged(acts, "final") & acts["unit"].notna()]
        counts = live.groupby(["plan", "unit"], as_index=False).size().rename(columns={"size": "live"})
        wanted = counts.merge(current, on="plan")
        rows = missing_rows(wanted, lines, ["plan", "unit", "period"])
        rows = rows.assign(id=rows["plan"] + ":" + rows["unit"])
        message = (rows["id"] + " has " + rows["live"].astype(str) + " live activities and no budget line for "
                   + rows["period"])  # fmt: skip
        return findings(rows, message, data={"period": "period", "live_activities": "live"})


RULES = (FundingGap(), DeclaredGapMismatch(), OverFunded(), NoBudgetLine())


@hookimpl
def register_rules(register: RegisterRule) -> None:
    for rule in RULES:
        register(rule)
