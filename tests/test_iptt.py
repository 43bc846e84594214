"""The indicator performance tracking table (issue 16), hand-computed: per indicator per
period, actual by the declared aggregation, % of target, cumulative; blank is not reported."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from conftest import debian_tool

from tests.conftest import session_for

IPTT_PLAN = """\
plan: {slug: m, title: M&E plan, start: 2024-01-01, end: 2024-12-31}
periods:
  - {key: q1, kind: quarter, start: 2024-01-01, end: 2024-03-31}
  - {key: q2, kind: quarter, start: 2024-04-01, end: 2024-06-30}
  - {key: q3, kind: quarter, start: 2024-07-01, end: 2024-09-30}
activities:
  - {code: a1, title: Train caseworkers}
indicators:
  - {code: trained, name: Caseworkers trained, of: "activity:a1", aggregation: sum,
     targets: [{period: q1, value: 20}, {period: q2, value: 20}, {period: q3, value: 20}]}
  - code: pct
    name: Cases with a plan
    measure: "%"
    baseline: {value: 30}
    targets: [{period: q1, value: 50}, {period: q2, value: 60}, {period: q3, value: 70}]
  - {code: peak, name: Peak caseload, aggregation: max, direction: decrease, targets: [{period: q1, value: 100}]}
"""
MEASURES = (
    ("trained", "8", "2024-01-15", None),
    ("trained", "10", "2024-03-20", None),
    ("trained", "12", "2024-05-02", "q2"),
    ("pct", "40", "2024-02-01", None),
    ("pct", "45", "2024-03-30", None),
    ("pct", "62", "2024-06-30", None),
    ("peak", "90", "2024-01-10", None),
    ("peak", "120", "2024-02-10", None),
)


@pytest.fixture
def iptt(cpflow, db_url, tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(IPTT_PLAN, encoding="utf-8")
    assert cpflow("load", str(path), "--by", "t").exit_code == 0
    for code, value, at, period in MEASURES:
        extra = ("--period", period) if period else ()
        result = cpflow("measure", f"m:{code}", value, "--at", at, "--by", "t", *extra)
        assert result.exit_code == 0, result.output
    from cpflow.read.frames import load_frames
    from cpflow.reports.iptt import iptt_rows

    with session_for(db_url) as session:
        frames = load_frames(session, plans=("m",), as_of=dt.date(2024, 8, 15))
    return {(r["code"], r["period"]): r for r in iptt_rows(frames, dt.date(2024, 8, 15))}


def test_a_count_sums_its_period_and_accumulates(iptt):
    q1, q2 = iptt["trained", "q1"], iptt["trained", "q2"]
    assert (q1["actual"], q1["pct_of_target"], q1["cumulative"], q1["status"]) == (18.0, 0.9, 18.0, "on track")
    assert (q2["actual"], q2["pct_of_target"], q2["cumulative"], q2["status"]) == (12.0, 0.6, 30.0, "off track")
    assert q1["level"] == "activity" and q1["aggregation"] == "sum"


def test_not_reported_is_blank_never_zero(iptt):
    q3 = iptt["trained", "q3"]
    assert q3["actual"] is None and q3["pct_of_target"] is None and q3["cumulative"] is None and q3["status"] == "no data"


def test_a_percentage_takes_the_last_value_by_default(iptt):
    q1, q2 = iptt["pct", "q1"], iptt["pct", "q2"]
    assert (q1["actual"], q1["pct_of_target"], q1["status"]) == (45.0, 0.9, "on track")  # 45/50; 45 >= 50*0.85
    assert (q2["actual"], q2["cumulative"], q2["status"]) == (62.0, 62.0, "on track")
    assert q1["baseline"] == 30.0 and q1["aggregation"] == "last" and q1["level"] == "plan"


def test_max_of_a_decreasing_indicator_is_judged_against_the_ceiling(iptt):
    q1 = iptt["peak", "q1"]
    assert (q1["actual"], q1["pct_of_target"], q1["status"]) == (120.0, 1.2, "off track")  # above 100 * 1.15


def test_the_progress_report_carries_the_iptt_sheet(iptt, cpflow, tmp_path):
    out = tmp_path / "progress.xlsx"
    result = cpflow("report", "progress", "--plan", "m", "--as-of", "2024-08-15", "--format", "xlsx", "-o", str(out))
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    book = load_workbook(out)
    sheet = next(name for name in book.sheetnames if "tracking" in name.lower())
    assert sheet
    soffice = debian_tool("soffice", "libreoffice-calc-nogui")
    if soffice:
        profile = (tmp_path / "lo-profile").as_uri()  # its own profile: parallel runs do not share one
        converted = subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                                    "--outdir", str(tmp_path), str(out)], capture_output=True, timeout=180)  # fmt: skip
        assert converted.returncode == 0 and (tmp_path / "progress.pdf").exists()
