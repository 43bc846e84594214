"""cpflow-health's own tests, written with cpflow.testing."""

import pytest
from cpflow_health import plugin
from cpflow_health.plugin import HealthCounterpart

from cpflow.errors import GuardVeto
from cpflow.testing import Sandbox, check_rule

PLAN = """\
plan:
  slug: hp
  title: Health plan
  start: 2024-01-01
  end: 2025-12-31
  sectors: [Health]
units:
  - {key: wg, name: Working group, kind: working_group, leads: [Unit lead agency]}
activities:
  - {code: "1", title: Unled health action, unit: wg, sectors: [Health]}
  - {code: "2", title: Led health action, sectors: [health], lead: Dr Amina Yusuf}
  - {code: "3", title: Cluster-backed action, sectors: [health], contributors: [Health Cluster Somalia]}
  - {code: "4", title: Education action, sectors: [education]}
  - {code: "5", title: Not a counterpart, sectors: [health], contributors: [Whole of community]}
"""


def start_all(*codes):
    return [move for code in codes for move in ((f"hp:{code}", "endorse", "2024-02-01"), (f"hp:{code}", "start", "2024-03-01"))]


def test_h101_flags_live_health_actions_with_no_named_lead_or_counterpart():
    findings = check_rule(HealthCounterpart(), PLAN, as_of="2024-06-01", moves=start_all("1", "2", "3", "4", "5"))
    assert [f.subject for f in findings] == ["hp:1", "hp:5"]
    assert findings[0].code == "H101" and "no named lead" in findings[0].message


def test_h101_is_quiet_before_actions_are_live():
    assert check_rule(HealthCounterpart(), PLAN, as_of="2024-06-01") == []


def test_h101_counterparts_are_configurable():
    findings = check_rule(
        HealthCounterpart(), PLAN, as_of="2024-06-01", moves=start_all("5"), settings={"counterparts": "whole of community"}
    )
    assert findings == []


def test_completing_a_health_action_needs_a_reference():
    with Sandbox(PLAN, plugins=[plugin]) as sandbox:
        sandbox.move("hp:2", "endorse", "2024-02-01")
        sandbox.move("hp:2", "start", "2024-03-01")
        with pytest.raises(GuardVeto, match="completed with a reference"):
            sandbox.move("hp:2", "complete", "2024-05-01")
        assert sandbox.move("hp:2", "complete", "2024-05-01", ref="Health cluster minutes 2024-05").dest == "completed"


def test_other_sectors_complete_without_a_reference():
    with Sandbox(PLAN, plugins=[plugin]) as sandbox:
        for trigger, day in (("endorse", "2024-02-01"), ("start", "2024-03-01"), ("complete", "2024-05-01")):
            sandbox.move("hp:4", trigger, day)
