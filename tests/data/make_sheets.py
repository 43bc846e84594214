"""Rebuild the sample spreadsheets in tests/data/sheets and tests/data/broken.

Run from the repository root: `.venv/bin/python tests/data/make_sheets.py`. The files
are committed; this script documents how they were made. The layouts follow the seed
plans (../shared/seeds): title rows above the header, merged group cells, `#` group
numbers, numbered activity text, quarter and month X-mark columns, a Status column.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.styles import Font

HERE = Path(__file__).resolve().parent
SHEETS = HERE / "sheets"
BROKEN = HERE / "broken"


def swg_2025() -> None:
    """Like seed 000: '#' numbers areas, merged area cells, activities numbered '1.', long headers."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Work plan"
    ws["A1"] = "CP SWG Work Plan-2025"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = "Sector Name: Child Protection Sub-Working Group"
    ws.append([])
    ws.append(
        [
            "#",
            "Sector Objective (Just add the number/s of the objective/s to which the activity contributes)",
            "Activity Type (drop down list)",
            "Activity (Activities here should not be individual activities submitted by organizations under the RRP.)",
            "Expected Result (What is the result that the sector wants to achieve with this activity?)",
        ]
    )
    rows = [
        (
            1,
            "Coordination & Inter Sectorial Coordination",
            "Coordination",
            "1. Update ToRs & work plan of CP SWG, as needed",
            "CP SWG ToRs created and work plan developed",
        ),
        (
            None,
            None,
            None,
            "2. Advocate for more active involvement of MLSP in coordination, and work toward an eventual transition to MLSP led WG.",
            "Currently co-chair responsibilities rotate between UNICEF & UNHCR",
        ),
        (None, None, None, '3. Explore the possiblity of "guest CSO co-chairs"', "As suggested by CP SWG members"),
        (
            2,
            "Assessment and Resource Mobilization",
            "Assessment",
            "1. Support with the 2025 SEIS and implementing recommendations from 2024 assessments.",
            "Address needs identified in previous assessments",
        ),
        (
            None,
            None,
            None,
            "2. Integrate child protection into planning exercises",
            "Evidence based programming on the basis of assessment findings",
        ),
        (
            3,
            "Planning and Strategy Development",
            "Technical Support",
            "6. Explore how to improve access to services for non-Ukrainian refugee children.",
            None,
        ),
        (
            None,
            None,
            None,
            "7. Expand and disseminate technical guidance on inclusion of child protection vulnerability criteria",
            "Technical guidance developed and shared",
        ),
    ]
    for row in rows:
        ws.append(list(row))
    ws.merge_cells("B5:B7")
    ws.merge_cells("C5:C7")
    wb.save(SHEETS / "swg-2025.xlsx")


def refugee_quarters() -> None:
    """Like seed 001: objective per block (merged), responsible actor, Timeline text, Status words."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "CPSWG 2021"
    ws["A1"] = (
        "Goal: Child Protection prevention and response services are effectively coordinated at national and settlement level"
    )
    ws.append(["Objective", "Activity", "Result", "Responsible actor", "Timeline", "Status"])
    rows = [
        (
            "Children access relevant and appropriate national child protection services",
            "· Organize an inception meeting with MGLSD as well as OPM on child protection coordination",
            None,
            "Co-chairs of UNHCR and UNICEF",
            "Q1-Q2",
            "Done",
        ),
        (None, "· Facilitate a workshop with relevant national stakeholders", None, None, "Q2/ Q3", "Ongoing"),
        (
            "Child protection prevention and response programs for refugee children are well coordinated",
            "· Update the 2021 CPSWG TORs and circulate to all members",
            "All members are guided on the sector aims",
            "Co-chairs and field-based CPSWGs",
            "Q1",
            "Agreed",
        ),
        (
            None,
            "· Develop an inter-agency CP sector strategy (2021-2023)",
            "Strategy is published",
            "UNHCR",
            "All quarters",
            "Not started",
        ),
        (
            None,
            "· Roll-out CP mainstreaming and safe programming trainings for all humanitarian sectors",
            None,
            "All sector members",
            "Q3",
            "Cancelled",
        ),
    ]
    for row in rows:
        ws.append(list(row))
    ws.merge_cells("A3:A4")
    ws.merge_cells("D3:D4")
    ws.merge_cells("A5:A7")
    wb.save(SHEETS / "refugee-2021.xlsx")


def iraq_months() -> None:
    """Like seed 002: key areas and expected outputs merged down, month columns with X marks."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Work-Plan"
    ws["A1"] = "Iraq Child Protection Sub-Cluster Work-Plan 2015"
    ws.append([])
    ws.append(["Key areas of work", "Expected Output", "Activities", "Sept.", "Oct.", "Nov.", "Dec.", "Jan", "Feb"])
    rows = [
        (
            "Coordination",
            "Nation-wide coordination structures established and functional",
            "Identify and establish CP Coordinators/focal points and groups in Kirkuk, Center Governorates, Ninewa, Diyala.",
            "X",
            None,
            None,
            None,
            None,
            None,
        ),
        (
            None,
            None,
            "Develop, finalise and endorse National and Governorate Level CPSC group ToRs.",
            None,
            None,
            "X",
            None,
            None,
            None,
        ),
        (None, None, "Mid-year review of nation-wide coordination structure", None, None, None, None, None, "X"),
        (
            "Planning and Strategy",
            "2016 Child Protection strategic plans developed",
            "Develop the 2016 CP strategy for Iraq",
            None,
            None,
            "X",
            "x",
            None,
            None,
        ),
    ]
    for row in rows:
        ws.append(list(row))
    ws.merge_cells("A4:A6")
    ws.merge_cells("B4:B6")
    wb.save(SHEETS / "iraq-months.xlsx")


def coordinator_own_headers() -> None:
    """A coordinator's own layout: headers no synonym knows, status words of their own."""
    wb = openpyxl.Workbook()
    summary = wb.active
    summary.title = "Read me"
    summary["A1"] = "Education cluster child protection actions — read me first"
    ws = wb.create_sheet("Actions 2024")
    ws["A1"] = "CP mainstreaming in education, 2024"
    ws["A2"] = "Prepared by the information-management officer"
    ws.append([])
    ws.append(["Ref", "Action point", "Pillar", "Focal agency", "Deadline", "Situation", "Comments"])
    rows = [
        (
            "E-1",
            "Train teachers on safe referral of children at risk",
            "Capacity",
            "Save the Children",
            dt.date(2024, 6, 30),
            "On track",
            "two sessions done",
        ),
        (
            "E-2",
            "Map child-friendly spaces near temporary learning spaces",
            "Coordination",
            "UNICEF",
            dt.date(2024, 3, 31),
            "Finished",
            None,
        ),
        (
            "E-3",
            "Agree a referral pathway with the education cluster",
            "Coordination",
            "UNICEF",
            dt.date(2024, 9, 30),
            "Waiting",
            '=HYPERLINK("http://example.org")',
        ),
    ]
    for row in rows:
        ws.append(list(row))
    ws["G7"].data_type = "s"  # keep the formula-looking comment as text in the file
    wb.save(SHEETS / "coordinator-own-headers.xlsx")
    (SHEETS / "coordinator-map.yaml").write_text(
        "# The coordinator's own headers and status words, for cpflow import --map\n"
        "columns:\n"
        '  "Action point": title\n'
        '  "Focal agency": lead\n'
        '  "Situation": state\n'
        "states:\n"
        '  "On track": in_progress\n'
        '  "Finished": completed\n'
        '  "Waiting": endorsed\n'
        "plan:\n"
        '  owner: "Education Cluster"\n'
        "  start: 2024-01-01\n"
        "  end: 2024-12-31\n",
        encoding="utf-8",
    )


def broken() -> None:
    good = SHEETS / "swg-2025.xlsx"
    data = good.read_bytes()
    (BROKEN / "truncated.xlsx").write_bytes(data[: len(data) // 2])
    (BROKEN / "not-a-spreadsheet.xlsx").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with zipfile.ZipFile(BROKEN / "zip-not-workbook.xlsx", "w") as z:
        z.writestr("hello.txt", "a zip file, but not a workbook")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan"
    ws.append(["Objective", "Responsible", "Timeline", "Status"])
    ws.append(["Coordination", "UNICEF", "Q1", "Ongoing"])
    wb.save(BROKEN / "missing-activity-column.xlsx")
    wb = openpyxl.Workbook()
    wb.active.title = "Empty"
    wb.save(BROKEN / "empty.xlsx")


if __name__ == "__main__":
    SHEETS.mkdir(exist_ok=True)
    BROKEN.mkdir(exist_ok=True)
    swg_2025()
    refugee_quarters()
    iraq_months()
    coordinator_own_headers()
    broken()
