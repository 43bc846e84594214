"""Properties of `cpflow import` over generated work plans (Hypothesis): sheets with mixed
schedules (`Q1-Q4 2025`, `Q2 2025`, `Q3`, `Oct-Nov 2025`, `April - June 2025`), years in
timeline cells, objective cells merged down (blank below their first row), statuses with
comments. Importing one twice changes nothing; exporting it and importing the export
changes nothing; every date the sheet states comes out unchanged."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from test_fuzz_harness import FUZZ, target  # noqa: F401 (target is a fixture)

PROPERTY = settings(FUZZ, max_examples=min(FUZZ.max_examples, 15))
slugs = (f"pr-{n}" for n in itertools.count())

# Timeline text -> the (start, due) it means in 2025 (the year the sheet states elsewhere).
TIMELINES = {
    "Q1-Q4 2025": ("2025-01-01", "2025-12-31"),
    "Q1 2025": ("2025-01-01", "2025-03-31"),
    "Q2 2025": ("2025-04-01", "2025-06-30"),
    "Q3": ("2025-07-01", "2025-09-30"),
    "Q2-Q3 2025": ("2025-04-01", "2025-09-30"),
    "Oct-Nov 2025": ("2025-10-01", "2025-11-30"),
    "April - June 2025": ("2025-04-01", "2025-06-30"),
    "Q1, Q3": ("2025-01-01", "2025-09-30"),
}
STATUSES = ["", "Not started", "Agreed", "Ongoing", "Done", "Cancelled"]
DAYS = st.dates(dt.date(2025, 1, 1), dt.date(2025, 12, 31))


@st.composite
def rows(draw):
    """(objective, title, timeline, start, due, status, comment) rows; titles unique."""
    n = draw(st.integers(1, 8))
    out = []
    for i in range(n):
        timeline = draw(st.sampled_from(sorted(TIMELINES)))
        dated = draw(st.booleans())
        start = due = None
        if dated:
            start, due = sorted((draw(DAYS), draw(DAYS)))
        status = draw(st.sampled_from(STATUSES))
        comment = "Funding was withdrawn" if status == "Cancelled" else draw(st.sampled_from(["", "See minutes"]))
        out.append((draw(st.integers(1, 3)), f"Activity {i + 1}: {draw(st.sampled_from(['map', 'train', 'review']))}",
                    timeline, start, due, status, comment))  # fmt: skip
    out.sort(key=lambda r: r[0])
    return out


def sheet_bytes(data: list[tuple]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Objective", "Activity", "Timeline", "Start", "Due", "Status", "Comments"])
    previous = None
    for objective, title, timeline, start, due, status, comment in data:
        shown = f"Objective {objective}: Theme {objective}" if objective != previous else ""  # merged down
        previous = objective
        writer.writerow([shown, title, timeline, start or "", due or "", status, comment])
    return out.getvalue().encode("utf-8")


def imported(target, path, slug, *extra):
    return target.run("import", str(path), "--plan", slug, "--by", "fuzzer", "--status-date", "2025-12-31", *extra, ok=(0,))


def test_importing_a_generated_sheet_twice_changes_nothing_and_keeps_every_stated_date(target):
    @PROPERTY
    @given(data=rows())
    def case(data):
        slug = next(slugs)
        path = target.file(f"{slug}.csv", sheet_bytes(data))
        imported(target, path, slug)
        listed = json.loads(target.run("activities", "--plan", slug, "--format", "json").stdout)
        assert len(listed) == len(data)
        for row, (_, title, timeline, start, due, _, _) in zip(listed, data):
            assert row["title"] == title.split(": ", 1)[-1] or row["title"] == title
            expected = (start.isoformat(), due.isoformat()) if start else TIMELINES[timeline]
            assert (row["start"], row["due"]) == expected, (row, timeline)
        before = target.snapshot()
        again = imported(target, path, slug)
        assert again.stdout.startswith(f"{slug}: unchanged"), again.output
        assert target.snapshot() == before

    case()


def test_exporting_then_importing_the_export_changes_nothing(target):
    @PROPERTY
    @given(data=rows(), fmt=st.sampled_from(["xlsx", "csv"]))
    def case(data, fmt):
        slug = next(slugs)
        imported(target, target.file(f"{slug}.csv", sheet_bytes(data)), slug)
        out = target.workdir / f"{slug}-export.{fmt}"
        target.run("export", slug, "--format", fmt, "-o", str(out), ok=(0,))
        before = target.snapshot()
        again = imported(target, out, slug)
        assert again.stdout.startswith(f"{slug}: unchanged"), again.output
        assert target.snapshot() == before

    case()
