"""The frames rules and reports read: set-based, as of a date, on both backends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from cpflow.errors import NotFound
from cpflow.plugins.manager import build
from cpflow.read.frames import load_frames
from cpflow.services import fund, load_files, measure, move

PLAN = """\
plan:
  slug: fr
  title: Frames plan
  start: 2022-01-01
  end: 2025-12-31
  sectors: [health]
  cross_cutting: [Gender]
periods:
  - {key: years-1-2, name: "Years 1-2", kind: phase, start: 2022-01-01, end: 2023-12-31}
  - {key: "2022", name: "2022", kind: year, start: 2022-01-01, end: 2022-12-31}
units:
  - {key: wg, name: Working group, kind: working_group, leads: [Agency A, Agency B]}
  - {key: tf, name: Task force, kind: task_force}
objectives:
  - code: "1"
    title: First objective
    unit: wg
    expected_results: ["Strategy published"]
    activities:
      - {code: "1.1", title: Led action, phase: years-1-2, unit: wg, lead: Own lead, sectors: [health]}
      - {code: "1.2", title: Unit-led action, phase: years-1-2, unit: wg, checklist: [a-1]}
  - code: "2"
    title: Second objective
    activities:
      - {code: "2.1", title: Unled action, unit: tf, expected_result: "A result"}
      - {code: "2.2", title: Bare action}
indicators:
  - code: IND-1
    name: Sectors engaged
    of: "objective:1"
    baseline: {value: 0, date: 2022-01-01}
    targets: [{period: years-1-2, value: 4}]
budgets:
  - {unit: wg, period: "2022", budget: 1000, received: 100, declared_gap: 900}
checklists:
  - key: a
    title: Annex
    items:
      - {code: a-1, category: Response, text: "Do the thing"}
      - {code: a-2, text: "Do the other thing"}
"""

LATER = """\
plan:
  slug: later
  title: Starts later
  start: 2030-01-01
  end: 2030-12-31
activities:
  - {code: "1", title: Future action}
"""

NOW = dt.date(2026, 1, 1)
NO_PLUGINS = build("none")


@pytest.fixture
def loaded(db, tmp_path):
    for name, text in (("fr.yaml", PLAN), ("later.yaml", LATER)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    load_files(db, [tmp_path / "fr.yaml", tmp_path / "later.yaml"], actor="test", now=NOW)
    return db


def frames(db, **kwargs):
    with db.read() as session:
        return load_frames(session, **kwargs)


def step(db, ident, trigger, at, **kwargs):
    move(db, ident, trigger, actor="lead", at=dt.date.fromisoformat(at), now=NOW, plugins=NO_PLUGINS, **kwargs)


def test_activities_carry_ids_leads_phase_end_and_expected_results(loaded):
    acts = frames(loaded, plans=("fr",), as_of=dt.date(2023, 1, 1)).activities.set_index("id")
    assert list(acts.index) == ["fr:1.1", "fr:1.2", "fr:2.1", "fr:2.2"]
    assert acts.loc["fr:1.1", "lead"] == "Own lead"
    assert acts.loc["fr:1.2", "lead"] == "Agency A, Agency B"  # the unit's leads are responsible
    assert pd.isna(acts.loc["fr:2.1", "lead"]) and pd.isna(acts.loc["fr:2.2", "lead"])
    assert acts.loc["fr:1.1", "phase_end"] == pd.Timestamp("2023-12-31")
    assert pd.isna(acts.loc["fr:2.1", "phase_end"])
    assert acts["has_expected_result"].to_dict() == {"fr:1.1": True, "fr:1.2": True, "fr:2.1": True, "fr:2.2": False}
    assert acts.loc["fr:1.1", "sectors"] == ["health"] and acts.loc["fr:2.2", "sectors"] == []
    assert acts.loc["fr:1.2", "checklist"] == ["a-1"]
    assert acts.loc["fr:1.1", "objective"] == "1" and acts.loc["fr:1.1", "objective_title"] == "First objective"


def test_state_and_last_event_are_replayed_as_of_the_date(loaded):
    step(loaded, "fr:1.1", "endorse", "2022-03-01")
    step(loaded, "fr:1.1", "start", "2022-06-01")
    step(loaded, "fr:1.1", "complete", "2023-06-01")

    def state_on(day):
        acts = frames(loaded, plans=("fr",), as_of=dt.date.fromisoformat(day)).activities.set_index("id")
        return acts.loc["fr:1.1", "state"], acts.loc["fr:1.1", "last_event_at"]

    assert state_on("2022-02-01")[0] == "proposed" and pd.isna(state_on("2022-02-01")[1])
    assert state_on("2022-03-01") == ("endorsed", pd.Timestamp("2022-03-01"))
    assert state_on("2023-01-01") == ("in_progress", pd.Timestamp("2022-06-01"))
    assert state_on("2024-01-01") == ("completed", pd.Timestamp("2023-06-01"))

    events = frames(loaded, plans=("fr",), as_of=dt.date(2022, 12, 31)).events
    assert list(events["trigger"]) == ["endorse", "start"]
    assert list(events["activity"]) == ["fr:1.1", "fr:1.1"]
    assert list(events.columns) == ["event", "plan", "activity", "trigger", "from", "to", "actor", "at",
                                    "recorded_at", "reason", "ref"]  # fmt: skip


def test_plans_that_have_not_started_are_left_out(loaded):
    got = frames(loaded, as_of=dt.date(2024, 1, 1))
    assert list(got.plans["slug"]) == ["fr"]
    assert set(got.activities["plan"]) == {"fr"}
    assert set(frames(loaded, as_of=dt.date(2030, 6, 1)).plans["slug"]) == {"fr", "later"}


def test_as_of_defaults_to_today(loaded):
    before = dt.date.today()
    got = frames(loaded).as_of
    assert before <= got <= dt.date.today()  # today read on both sides: a run across midnight stays green


def test_unknown_plan_is_refused_naming_the_known_ones(loaded):
    with pytest.raises(NotFound, match="unknown plan 'nope'; plans are fr, later"):
        frames(loaded, plans=("nope",))


def test_budgets_replay_funding_events_as_of_the_date(loaded):
    def line(day):
        budgets = frames(loaded, plans=("fr",), as_of=dt.date.fromisoformat(day)).budgets
        row = budgets[(budgets["unit"] == "wg") & (budgets["period"] == "2022")].iloc[0]
        return row["budget"], row["received"], row["received_minor"]

    assert line("2022-01-15") == (Decimal(1000), Decimal(100), 10000)
    fund(loaded, "fr:wg", period="2022", received=Decimal("400.50"), actor="fin", at=dt.date(2022, 3, 1), now=NOW)
    fund(loaded, "fr:wg", period="2022", budget=Decimal(1200), actor="fin", at=dt.date(2022, 6, 1), now=NOW)
    assert line("2022-02-01") == (Decimal(1000), Decimal(100), 10000)  # before both: the file's figures
    assert line("2022-03-01") == (Decimal(1000), Decimal("400.5"), 40050)
    assert line("2022-07-01") == (Decimal(1200), Decimal("400.5"), 40050)


def test_a_budget_line_created_by_a_later_funding_event_is_absent_before_it(loaded):
    fund(loaded, "fr:tf", period="2022", received=Decimal(50), actor="fin", at=dt.date(2022, 5, 1), now=NOW)
    before = frames(loaded, plans=("fr",), as_of=dt.date(2022, 4, 1)).budgets
    after = frames(loaded, plans=("fr",), as_of=dt.date(2022, 5, 1)).budgets
    assert list(before["id"]) == ["fr:wg"]
    assert list(after["id"]) == ["fr:wg", "fr:tf"]
    assert after.iloc[1]["received"] == Decimal(50) and after.iloc[1]["budget"] is None


def test_budget_columns_carry_period_dates_and_minor_units(loaded):
    budgets = frames(loaded, plans=("fr",), as_of=dt.date(2023, 1, 1)).budgets
    row = budgets.iloc[0]
    assert (row["period_start"], row["period_end"]) == (pd.Timestamp("2022-01-01"), pd.Timestamp("2022-12-31"))
    assert row["declared_gap"] == Decimal(900) and row["declared_gap_minor"] == 90000
    assert str(budgets["budget_minor"].dtype) == "Int64"


def test_indicators_measurements_and_checklist(loaded):
    measure(loaded, "fr:IND-1", "2", actor="im", at=dt.date(2022, 9, 1), period="2022", now=NOW)
    measure(loaded, "fr:IND-1", "3", actor="im", at=dt.date(2023, 3, 1), now=NOW)
    got = frames(loaded, plans=("fr",), as_of=dt.date(2022, 12, 31))
    indicator = got.indicators.iloc[0]
    assert indicator["id"] == "fr:IND-1" and indicator["of"] == "objective:1"
    assert indicator["baseline_value"] == 0.0 and indicator["targets"] == [{"period": "years-1-2", "value": 4.0}]
    assert list(got.measurements["value"]) == [2.0]  # the 2023 value is after the date
    assert list(got.checklist["code"]) == ["a-1", "a-2"]
    assert got.objectives.set_index("code").loc["1", "expected_results"] == ["Strategy published"]
    assert got.units.set_index("key").loc["tf", "leads"] == []
    assert got.plans.iloc[0]["sectors"] == ["health"] and got.plans.iloc[0]["cross_cutting"] == ["Gender"]


def test_every_frame_has_its_columns_even_when_empty(loaded):
    got = frames(loaded, plans=("fr",), as_of=dt.date(2021, 1, 1))  # before the plan starts
    assert got.activities.empty and got.plans.empty
    assert {"id", "state", "lead", "has_expected_result", "last_event_at"} <= set(got.activities.columns)
    assert {"budget", "received", "budget_minor", "period_end"} <= set(got.budgets.columns)
