"""Findings a plan waives are counted and listed apart in the compliance report ("Waived",
with the plan's reason) in every format and in findings.json, never silently dropped."""

from __future__ import annotations

import json

from test_report_support import ACTOR, D

from cpflow.reports import html, markdown
from cpflow.reports.build import ReportOptions, build_reports
from cpflow.reports.pack import write_pack
from cpflow.services import load_files

REASON = "The framework leaves leads to the annual work plan (footnote 9)"
PLAN = f"""\
plan: {{slug: waivers, title: Waivers plan, start: 2022-01-01, end: 2023-12-31}}
rules:
  G401: {{reason: "{REASON}"}}
units:
  - {{key: wg, name: Working group, kind: working_group}}
objectives:
  - code: "1"
    title: First objective
    unit: wg
    activities:
      - {{code: "1.1", title: First action}}
      - {{code: "1.2", title: Second action}}
"""


def test_waived_findings_are_counted_and_listed_apart_with_the_reason(db, tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text(PLAN, encoding="utf-8")
    load_files(db, [path], actor=ACTOR, now=D("2022-01-10"))
    (compliance,), _ = build_reports(db, ("compliance",), ReportOptions(as_of=D("2022-06-30")))
    figures = {f.key: f.value for f in compliance.figures}
    waived = compliance.section("waived").table
    assert figures["waived"] == len(waived) >= 2
    assert set(waived["code"]) == {"G401"} and set(waived["waived"]) == {REASON}
    assert {"waivers:1.1", "waivers:1.2"} <= set(waived["subject"])
    assert "G401" not in set(compliance.findings["code"])  # counted once, apart
    assert figures["findings"] == len(compliance.findings)
    assert "Waived" in html.render([compliance]) and REASON in html.render([compliance])
    text = markdown.render([compliance])
    assert "# Waived\n" in text and "footnote 9" in text
    write_pack(db, ReportOptions(as_of=D("2022-06-30")), tmp_path / "pack")
    document = json.loads((tmp_path / "pack" / "findings.json").read_text(encoding="utf-8"))
    assert [w["waived"] for w in document["waived"]] == [REASON] * figures["waived"]
    assert {w["subject"] for w in document["waived"]} == set(waived["subject"])
    assert not any(f["code"] == "G401" for f in document["findings"])
