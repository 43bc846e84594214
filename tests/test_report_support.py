"""Shared ground for the report tests: a small plan whose text tries every injection a
spreadsheet or a browser could fall for, a recorded history, and file helpers.

Imported by the other test_report* modules (no tests of its own)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cpflow.money import parse_amount
from cpflow.services import fund, load_files, measure, move

D = dt.date.fromisoformat
NOW = D("2026-01-15")
ACTOR = "Review WG"

HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "+cmd|' /C calc'!A0"
AT_SUM = "@SUM(1)"
TABBED = "\tTabbed title"
SCRIPT = "<script>alert('x')</script>"
IMG = '<img src="http://example.com/x.png">'
MALICIOUS = (HYPERLINK, DDE, AT_SUM, TABBED, "=1+2", "-2+3")

REVIEW_PLAN = r"""
plan:
  slug: review
  title: '=HYPERLINK("http://x","y")'
  owner: "<script>alert('x')</script>"
  start: 2022-01-01
  end: 2025-12-31
  currency: USD
  sectors: [health, education]
periods:
  - {key: years-1-2, name: "Years 1-2", kind: phase, start: 2022-01-01, end: 2023-12-31}
  - {key: years-3-4, name: "Years 3-4", kind: phase, start: 2024-01-01, end: 2025-12-31}
  - {key: "2022", name: "2022", kind: year, start: 2022-01-01, end: 2022-12-31}
units:
  - {key: wg, name: "+cmd|' /C calc'!A0", kind: working_group, leads: ["@SUM(1)"]}
  - {key: tf, name: Task force, kind: task_force, leads: [Agency B]}
objectives:
  - code: "1"
    title: "<script>alert('x')</script>"
    unit: wg
    activities:
      - {code: "1.1", title: "=1+2", phase: years-1-2, lead: "-2+3", sectors: [health]}
      - {code: "1.2", title: "\tTabbed title", phase: years-1-2}
      - {code: "1.3", title: '<img src="http://example.com/x.png">', phase: years-3-4}
  - code: "2"
    title: Second objective
    unit: tf
    activities:
      - {code: "2.1", title: Plain action, phase: years-1-2, due: 2022-06-30, sectors: [education]}
      - {code: "2.2", title: "@SUM(1)", phase: years-1-2, lead: Agency B}
      - {code: "2.3", title: Later action, phase: years-3-4, lead: Agency B}
indicators:
  - code: IND-1
    name: '=HYPERLINK("http://x","y")'
    direction: increase
    of: "objective:1"
    baseline: {value: 0, date: 2022-01-01}
    targets:
      - {period: years-1-2, value: 10}
budgets:
  - {unit: wg, period: "2022", budget: 1000, received: 400, declared_gap: 600}
  - {unit: tf, period: "2022", budget: 5000.50, received: 5000.50}
"""

# (activity, trigger, date, reason)
HISTORY = (
    ("review:1.1", "endorse", "2022-03-01", None),
    ("review:1.1", "start", "2022-04-01", None),
    ("review:1.1", "complete", "2023-03-31", None),
    ("review:1.2", "endorse", "2022-03-01", None),
    ("review:1.2", "start", "2022-05-01", None),
    ("review:2.1", "endorse", "2022-03-01", None),
    ("review:2.2", "drop", "2023-02-01", '=HYPERLINK("http://x","y") merged into 2.1'),
    ("review:2.3", "endorse", "2023-09-01", None),
)


def record_history(db) -> None:
    for ident, trigger, at, reason in HISTORY:
        move(db, ident, trigger, actor=ACTOR, at=D(at), reason=reason, ref="minutes", now=NOW)
    measure(db, "review:IND-1", "4", actor=ACTOR, at=D("2023-06-30"), source="survey", now=NOW)
    fund(db, "review:wg", period="2022", received=parse_amount("700"), actor=ACTOR, at=D("2022-09-30"), now=NOW)


@pytest.fixture
def review_db(db, tmp_path):
    """The review plan loaded with its history, on every backend."""
    path = tmp_path / "review.yaml"
    path.write_text(REVIEW_PLAN, encoding="utf-8")
    load_files(db, [path], actor=ACTOR, now=D("2022-01-10"))
    record_history(db)
    return db


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
