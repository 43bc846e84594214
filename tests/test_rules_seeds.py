"""The issue's done-means, on the real seed plans, through the CLI, on both backends."""

from __future__ import annotations

import json

import yaml
from conftest import WORKFLOWS

CPMS = "cpms-wg-2022-2025"
ALLIANCE = "alliance-2018-2020"


def phase_codes(phase: str) -> list[str]:
    """Activity codes of a phase in the CPMS file, read straight from the file."""
    spec = yaml.safe_load((WORKFLOWS / f"{CPMS}.yaml").read_text(encoding="utf-8"))
    nested = [a for objective in spec.get("objectives", []) for a in objective.get("activities", [])]
    return [str(a["code"]) for a in nested + spec.get("activities", []) if a.get("phase") == phase]


def check(cpflow, *args):
    result = cpflow("check", *args, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["findings"]


def test_cpms_years_1_2_actions_unfinished_on_1_january_2024_are_each_flagged_once(seeded):
    found = check(seeded, "--plan", CPMS, "--as-of", "2024-01-01", "--select", "T101")
    subjects = [f["subject"] for f in found]
    years_1_2 = [f"{CPMS}:{code}" for code in phase_codes("years-1-2")]
    assert len(years_1_2) == 45
    assert sorted(subjects) == sorted(years_1_2)  # each once, and nothing for Years 3-4
    assert not [s for s in subjects if ":Y34-" in s]
    assert {f["code"] for f in found} == {"T101"} and {f["plan"] for f in found} == {CPMS}


def test_completing_an_action_removes_its_t101_finding(seeded):
    for trigger in ("endorse", "start", "complete"):
        moved = seeded("move", f"{CPMS}:2.11", trigger, "--by", "CPMS WG", "--at", "2023-11-30", "--ref", "minutes")
        assert moved.exit_code == 0, moved.output
    subjects = [f["subject"] for f in check(seeded, "--plan", CPMS, "--as-of", "2024-01-01", "--select", "T101")]
    assert f"{CPMS}:2.11" not in subjects and len(subjects) == 44
    # As of a day before the completion it was still open, but its phase had not ended yet.
    assert check(seeded, "--plan", CPMS, "--as-of", "2023-11-29", "--select", "T101") == []


def test_years_3_4_actions_are_not_flagged_before_their_phase_ends(seeded):
    assert check(seeded, "--plan", CPMS, "--as-of", "2025-12-31", "--select", "T101", "--fail-on", "never")
    found = check(seeded, "--plan", CPMS, "--as-of", "2025-12-31", "--select", "T101")
    assert not [f for f in found if ":Y34-" in f["subject"]]


def test_alliance_2018_gaps_above_half_the_budget(seeded):
    found = check(seeded, "--plan", ALLIANCE, "--select", "F301")
    units = sorted(f["subject"].split(":")[1] for f in found)
    assert units == ["secretariat", "tf1", "tf2", "tf5", "tf6", "wg2", "wg3"]
    assert {f["data"]["period"] for f in found} == {"2018"}


def test_a_higher_threshold_narrows_the_alliance_gaps(seeded):
    found = check(seeded, "--plan", ALLIANCE, "--select", "F301", "--set", "F301.threshold=0.9")
    assert sorted(f["subject"].split(":")[1] for f in found) == ["tf1", "tf5", "wg2"]


def test_declared_gaps_of_the_faithful_transcription_match(seeded):
    result = seeded("check", "--plan", ALLIANCE, "--select", "F302,F303", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["findings"] == []


def test_every_rule_runs_on_every_seed_plan_without_crashing(seeded):
    for as_of in ("2018-06-30", "2022-06-30", "2024-01-01", "2026-01-01"):
        result = seeded("check", "--as-of", as_of, "--format", "json", "--fail-on", "never")
        assert result.exit_code == 0, result.output
        assert not [f for f in json.loads(result.stdout)["findings"] if f["code"] == "E001"]
