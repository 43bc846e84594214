"""`cpflow report progress|compliance` in every format, through the CLI."""

from __future__ import annotations

import csv
import json

import pytest
from test_report_support import DDE, HYPERLINK, TABBED, review_db  # noqa: F401

ARGS = ("--as-of", "2023-12-31")


@pytest.fixture
def report_cli(review_db, cpflow):
    return cpflow


def test_json_has_the_documented_shape(report_cli):
    result = report_cli("report", "progress", *ARGS, "--since", "2023-01-01", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["report", "version", "title", "as_of", "since", "plans", "about", "figures", "sections"]
    assert (data["report"], data["version"], data["as_of"], data["since"]) == ("progress", 1, "2023-12-31", "2023-01-01")
    figures = {f["key"]: f["value"] for f in data["figures"]}
    assert figures["activities"] == 6 and figures["completed_pct_years-1-2"] == pytest.approx(0.3333)
    sections = {s["key"]: s for s in data["sections"]}
    for key in ("by-objective", "by-unit", "by-lead", "by-sector", "by-phase", "over-time", "overdue", "stale", "dropped",
                "indicators", "funding", "funding-totals", "changes-moves", "changes-edits", "changes-findings-new",
                "changes-findings-resolved", "activities"):  # fmt: skip
        assert key in sections, key
    overdue = sections["overdue"]["rows"]
    assert [(r["id"], r["days_late"], r["due"]) for r in overdue] == [("review:2.1", 549, "2022-06-30")]
    funding = {r["unit"]: r for r in sections["funding"]["rows"]}
    assert (funding["wg"]["budget"], funding["wg"]["received"], funding["wg"]["gap"]) == (1000, 700, 300)
    assert funding["tf"]["budget"] == 5000.5 and funding["tf"]["gap_pct"] == 0
    indicator = sections["indicators"]["rows"][0]
    assert (indicator["latest"], indicator["target"], indicator["pct_of_target"]) == (4, 10, 0.4)
    moves = sections["changes-moves"]["rows"]
    assert [(m["activity"], m["trigger"], m["actor"]) for m in moves] == [
        ("review:2.2", "drop", "Review WG"),
        ("review:1.1", "complete", "Review WG"),
        ("review:2.3", "endorse", "Review WG"),
    ]


def test_same_options_give_the_same_bytes(report_cli):
    outputs = {report_cli("report", "compliance", *ARGS, "--format", fmt).stdout for fmt in ("json",) for _ in range(2)}
    assert len(outputs) == 1


def test_markdown_for_minutes_escapes_tables(report_cli):
    result = report_cli("report", "progress", *ARGS, "--format", "md")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("# Progress report: ") and "\n## Overdue\n" in text
    assert "&lt;script&gt;" in text and "<script>" not in text
    assert "+cmd\\|' /C calc'!A0" in text  # the pipe cannot break the table


def test_csv_writes_one_file_per_table_and_no_formula(report_cli, tmp_path):
    result = report_cli("report", "progress", *ARGS, "--format", "csv", "-o", str(tmp_path / "csv"))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "csv").iterdir())
    assert "figures.csv" in names and "activities.csv" in names and "funding.csv" in names
    cells = [cell for name in names for row in csv.reader((tmp_path / "csv" / name).open(encoding="utf-8")) for cell in row]
    assert "'" + HYPERLINK in cells or any(c.startswith("'=HYPERLINK") for c in cells)
    assert "'" + DDE in cells and "'" + TABBED in cells and "'=1+2" in cells and "'-2+3" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not _number(c))]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_xlsx_and_html_go_to_files(report_cli, tmp_path):
    result = report_cli("report", "compliance", *ARGS, "-o", str(tmp_path / "c.xlsx"))
    assert result.exit_code == 0 and (tmp_path / "c.xlsx").stat().st_size > 0, result.output
    result = report_cli("report", "progress", *ARGS, "--format", "html", "-o", str(tmp_path / "p.html"))
    assert result.exit_code == 0 and "wrote" in result.stdout
    assert (tmp_path / "p.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_rule_selection_reaches_the_compliance_report(report_cli):
    data = json.loads(report_cli("report", "compliance", *ARGS, "--select", "T", "--ignore", "T103", "--format", "json").stdout)
    findings = next(s for s in data["sections"] if s["key"] == "findings")["rows"]
    assert findings and {f["code"][0] for f in findings} == {"T"} and "T103" not in {f["code"] for f in findings}
    assert data["about"]["select"] == ["T"] and "T103" not in data["about"]["rules"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("report", "progress", "--as-of", "2023-12-31", "--since", "2024-01-01"), "must be before"),
        (("report", "progress", "--plan", "nope", "--as-of", "2023-12-31"), "unknown plan"),
        (("report", "compliance", "--as-of", "2023-12-31", "--select", "Q9"), "unknown rule"),
        (("report", "progress", "--as-of", "2023-02-30"), "not a real date"),
        (("report", "pack", "--as-of", "2021-06-30"), "no plan has started by 2021-06-30"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(report_cli, args, message):
    result = report_cli(*args)
    assert result.exit_code == 2 and message in result.stderr, result.output
