"""Indicator rules (I): results without indicators, indicators without baseline, target
or recent measurement, and indicators off track."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cpflow.plugins import hookimpl
from cpflow.rules.base import Option, RegisterRule, Rule, findings, iso, missing_rows, number

if TYPE_CHECKING:
    import pandas as pd

    from cpflow.rules.context import Context


def _indicator_refs(ctx: Context) -> pd.DataFrame:
    """Indicators split into (plan, kind, ref): `objective:2` -> ("objective", "2")."""
    inds = ctx.indicators
    # str.extract keeps its columns on an empty frame (str.partition does not: I201 crashed
    # with KeyError 0 on every plan without indicators).
    parts = inds["of"].fillna("plan").astype(str).str.extract(r"^(?P<kind>[^:]*)(?::(?P<ref>.*))?$")
    return inds.assign(kind=parts["kind"], ref=parts["ref"].fillna(""))[["plan", "kind", "ref"]]


class NoIndicator(Rule):
    code = "I201"
    title = "Outcome or objective with no indicator"
    severity = "info"
    pack = "indicators"
    description = (
        "An outcome or objective that no indicator measures: neither directly, nor through one of "
        "its activities (for an objective) or one of its objectives (for an outcome)."
    )

    def check(self, ctx: Context) -> pd.DataFrame:
        import pandas as pd

        refs = _indicator_refs(ctx)
        acts = ctx.activities[["plan", "code", "objective"]]
        via_activity = refs[refs["kind"] == "activity"].merge(acts, left_on=["plan", "ref"], right_on=["plan", "code"])
        objectives_covered = pd.concat([
            refs.loc[refs["kind"] == "objective", ["plan", "ref"]].set_axis(["plan", "code"], axis=1),
            via_activity[["plan", "objective"]].set_axis(["plan", "code"], axis=1),
        ])  # fmt: skip
        objectives = ctx.objectives
        bare_objectives = missing_rows(objectives, objectives_covered, ["plan", "code"])
        covered_objectives = objectives[~objectives.index.isin(bare_objectives.index)]
        outcomes_covered = pd.concat([
            refs.loc[refs["kind"] == "outcome", ["plan", "ref"]].set_axis(["plan", "key"], axis=1),
            covered_objectives[["plan", "outcome"]].set_axis(["plan", "key"], axis=1),
        ])  # fmt: skip
        bare_outcomes = missing_rows(ctx.outcomes, outcomes_covered, ["plan", "key"])
        objective_of = "objective:" + bare_objectives["code"]
        outcome_of = "outcome:" + bare_outcomes["key"]
        return pd.concat([
            findings(bare_objectives, "objective " + bare_objectives["id"] + " ("
                     + bare_objectives["title"].str.slice(0, 60) + ") has no indicator",
                     subject="id", data={"of": objective_of}),
            findings(bare_outcomes, "outcome " + bare_outcomes["plan"] + ":" + bare_outcomes["key"] + " has no indicator",
                     subject=bare_outcomes["plan"] + ":" + outcome_of, data={"of": outcome_of}),
        ], ignore_index=True)  # fmt: skip


class NoBaselineOrTarget(Rule):
    code = "I202"
    title = "Indicator without baseline or target"
    severity = "warning"
    pack = "indicators"
    description = "An indicator with no baseline value, or with no target for any period: progress cannot be judged."

    def check(self, ctx: Context) -> pd.DataFrame:
        inds = ctx.indicators
        no_baseline = inds["baseline_value"].isna()
        no_target = inds["targets"].str.len().fillna(0).eq(0)
        rows = inds[no_baseline | no_target]
        what = (no_baseline & no_target)[rows.index].map({True: "no baseline and no target", False: ""})
        what = what.where(what != "", no_baseline[rows.index].map({True: "no baseline", False: "no target"}))
        return findings(rows, rows["id"] + " has " + what,
                        data={"baseline": no_baseline[rows.index].map({True: "missing", False: "given"}),
                              "targets": rows["targets"].str.len()})  # fmt: skip


class NoRecentMeasurement(Rule):
    code = "I203"
    title = "Indicator with no measurement in its latest reporting period"
    severity = "warning"
    pack = "indicators"
    description = (
        "An indicator with no measurement for the latest reporting period that has ended by the "
        "check date. Its reporting periods are the plan's periods of kind `kind` (default: year) "
        "and the periods of its targets. A measurement counts when it names the period or is "
        "dated within it."
    )
    options = {"kind": Option("year", "kind of plan period that indicators report on",
                              choices=("phase", "year", "quarter", "month", "other"))}  # fmt: skip

    def check(self, ctx: Context) -> pd.DataFrame:
        import pandas as pd

        inds = ctx.indicators[["plan", "code", "id", "targets"]]
        periods = ctx.periods[["plan", "key", "name", "kind", "start", "end"]]
        by_kind = inds.merge(periods[periods["kind"] == ctx.config["kind"]], on="plan")
        targets = inds.explode("targets").dropna(subset=["targets"])
        targets = targets.assign(key=targets["targets"].str.get("period")).merge(periods, on=["plan", "key"])
        candidates = pd.concat([by_kind, targets])[["plan", "code", "id", "key", "name", "start", "end"]]
        ended = candidates[candidates["end"] < ctx.today].sort_values(["plan", "code", "end", "start"])
        latest = ended.drop_duplicates(["plan", "code"], keep="last")
        measured = latest.merge(ctx.measurements, left_on=["plan", "code"], right_on=["plan", "indicator"])
        counts = (measured["period"] == measured["key"]) | measured["at"].between(measured["start"], measured["end"])
        rows = missing_rows(latest, measured[counts.fillna(False).astype(bool)], ["plan", "code"])
        message = rows["id"] + " has no measurement for " + rows["name"] + " (ended " + iso(rows["end"]) + ")"
        return findings(rows, message, data={"period": "key", "period_end": "end"})


class OffTrack(Rule):
    code = "I204"
    title = "Indicator off track"
    severity = "warning"
    pack = "indicators"
    description = (
        "An indicator whose latest value is behind the straight line from its baseline to its "
        "target by more than `tolerance` (a share of the whole baseline-to-target distance). The "
        "target used is the first one whose period has not ended on the check date, else the "
        "last one; once that target's period has ended without the target being met, the "
        "finding is an error."
    )
    options = {"tolerance": Option(0.15, "how far behind the straight line, as a share of baseline to target",
                                   minimum=0.0, maximum=1.0)}  # fmt: skip

    def check(self, ctx: Context) -> pd.DataFrame:
        import numpy as np

        inds = ctx.indicators
        inds = inds[inds["baseline_value"].notna()]
        plan_start = ctx.plans.set_index("slug")["start"]
        base_date = inds["baseline_date"].fillna(inds["plan"].map(plan_start))
        inds = inds.assign(base_date=base_date)
        targets = inds[["plan", "code", "targets"]].explode("targets").dropna(subset=["targets"])
        targets = targets.assign(key=targets["targets"].str.get("period"),
                                 target=targets["targets"].str.get("value").astype(float))  # fmt: skip
        targets = targets.dropna(subset=["target"]).merge(
            ctx.periods[["plan", "key", "name", "end"]].rename(columns={"name": "period_name"}), on=["plan", "key"]
        )
        # The first target whose period has not ended, else the last one.
        past = targets["end"] < ctx.today
        order = targets["end"].astype("int64").where(~past, -targets["end"].astype("int64"))
        chosen = (targets.assign(past=past, order=order).sort_values(["plan", "code", "past", "order"])
                  .drop_duplicates(["plan", "code"], keep="first"))  # fmt: skip
        latest = ctx.measurements.sort_values(["plan", "indicator", "at"]).drop_duplicates(["plan", "indicator"], keep="last")
        rows = inds.merge(chosen[["plan", "code", "key", "period_name", "target", "end"]], on=["plan", "code"])
        rows = rows.merge(latest[["plan", "indicator", "value", "at"]], left_on=["plan", "code"], right_on=["plan", "indicator"])
        span = (rows["end"] - rows["base_date"]).dt.days
        elapsed = (rows["at"] - rows["base_date"]).dt.days
        share = (elapsed / span.where(span > 0)).clip(0, 1).fillna(1.0)
        expected = rows["baseline_value"] + (rows["target"] - rows["baseline_value"]) * share
        sign = np.where(rows["direction"] == "decrease", -1.0, 1.0)
        distance = (rows["target"] - rows["baseline_value"]).abs()
        behind = (expected - rows["value"]) * sign / distance.where(distance > 0)
        passed = (rows["end"] < ctx.today) & ((rows["target"] - rows["value"]) * sign > 0)
        off = passed | (behind > ctx.config["tolerance"]).fillna(False)
        rows, expected, passed, behind = rows[off], expected[off], passed[off], behind[off]
        value = number(rows["value"])
        line = (rows["id"] + ": latest value " + value + " on " + iso(rows["at"]) + " is behind the line from baseline "
                + number(rows["baseline_value"]) + " to target " + number(rows["target"])
                + " by " + iso(rows["end"]) + " (expected about " + number(expected.round(1)) + ")")  # fmt: skip
        unmet = (rows["id"] + ": target " + number(rows["target"]) + " for " + rows["period_name"] + " (ended "
                 + iso(rows["end"]) + ") not met; latest value " + value + " on " + iso(rows["at"]))  # fmt: skip
        return findings(
            rows, unmet.where(passed, line), severity=passed.map({True: "error", False: None}),
            data={"value": "value", "at": "at", "target": "target", "target_period": "key", "expected": expected.round(4),
                  "behind": behind.round(4)},
        )  # fmt: skip


RULES = (NoIndicator(), NoBaselineOrTarget(), NoRecentMeasurement(), OffTrack())


@hookimpl
def register_rules(register: RegisterRule) -> None:
    for rule in RULES:
        register(rule)
