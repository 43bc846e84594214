"""Fuzzed spreadsheets into `cpflow import`, and fuzzed options into `cpflow check`.

CSV in several encodings and xlsx workbooks with hostile cells (formula-looking text,
real formulas, huge cells, impossible dates, wrong types), random bytes, truncated and
corrupted zips. Every case ends in success or one clear error with exit 2 and no row
changed; a success is faithful: one activity per row, each title exactly its cell.
"""

from __future__ import annotations

import io
import itertools
import json
import random
import re
import zipfile
from collections import Counter

import openpyxl
import pytest
from conftest import proved
from hypothesis import assume, example, given
from hypothesis import strategies as st
from test_fuzz_harness import FUZZ, target  # noqa: F401 (target is a fixture)

pytestmark = pytest.mark.skipif(
    not __import__("importlib").util.find_spec("cpflow.importers.service"), reason="`cpflow import` is not built yet"
)

slugs = (f"fz-{n}" for n in itertools.count())
BULLETS = "·•▪◦●‣∙"

# Cell text a coordinator might type, and text an attacker might: the title oracle is the
# text itself, so it carries no surrounding spaces, bullets or a leading quote (the
# importer documents trimming those).
TITLE = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80),
    st.sampled_from(["=cmd|' /C calc'!A0", "=1+1", "+SUM(A1:A9)", "-2+3", "@import x", "=HYPERLINK(\"http://x\",\"y\")",
                     "<script>alert(1)</script>", "مراجعة خطة العمل", "\u202eevil", "x" * 20_000, "Ação — ✓", "1.1",
                     "2023-02-30", "TRUE", "(none)!", "Objective 2"]),
).map(str.strip).filter(lambda t: t and t[0] not in BULLETS + "'" and t.casefold() != "(none)")  # fmt: skip
OTHER = st.one_of(
    st.none(), st.integers(-5, 10**12), st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["2022-03-01", "2023-02-30", "31/12/2024", "Q3 2022", "done", "in progress", "cancelled", "?",
                     "=NOW()", "", " ", "(none)", "1e999", "-1"]),
)  # fmt: skip
HEADERS = ["Objective", "Start", "Due", "Status", "Lead", "Code", "Notes", "Sector"]


def report(capsys, target, kind: str, outcomes: Counter) -> None:
    backend = "postgresql" if target.url.startswith("postgresql") else "sqlite"
    detail = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
    proved(capsys, f"[fuzz/import/{backend}] {kind}: {sum(outcomes.values())} cases ({detail}); "
                   "no traceback, no hang, no row changed by a refusal")  # fmt: skip


def assert_faithful(target, slug: str, titles: list[str]) -> None:
    """One activity per row, in order, each title its cell; the one documented change is a
    leading number taken as the code ("2.1 Map …" is code 2.1, title "Map …")."""
    listed = target.run("activities", "--plan", slug, "--format", "json")
    stored = [(row["code"], row["title"]) for row in json.loads(listed.stdout)]
    assert len(stored) == len(titles), f"{len(titles)} rows became {len(stored)} activities"
    for (code, title), cell in zip(stored, titles):
        numbered = re.match(r"\d+(?:\.\d+)*", cell)
        assert title == cell or (numbered and cell.endswith(title) and numbered.group().startswith(code.rsplit(".", 1)[-1])), (
            f"cell {cell[:200]!r} was imported as code {code!r}, title {title[:200]!r}"
        )


def import_file(target, path, slug):
    return target.run("import", str(path), "--plan", slug, "--by", "fuzzer")


def outcome(result) -> str:
    return "imported faithfully" if result.exit_code == 0 else "refused with exit 2"


# --- CSV ----------------------------------------------------------------------------------------


def csv_bytes(header: list[str], rows: list[list], encoding: str) -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode(encoding)


@st.composite
def sheets(draw):
    extra = draw(st.lists(st.sampled_from(HEADERS), unique=True, max_size=4))
    header = draw(st.permutations(["Activity", *extra]))
    titles = draw(st.lists(TITLE, min_size=1, max_size=6))
    rows = [[t if h == "Activity" else draw(OTHER) for h in header] for t in titles]
    return header, rows, titles


def test_csv_files(target, capsys):
    seen = Counter()

    @FUZZ
    @given(sheet=sheets(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    def case(sheet, encoding):
        header, rows, titles = sheet
        try:
            data = csv_bytes(header, rows, encoding)
        except UnicodeEncodeError:
            assume(False)
        slug = next(slugs)
        result = import_file(target, target.file(f"{slug}.csv", data), slug)
        if result.exit_code == 0:
            assert_faithful(target, slug, titles)
        seen[outcome(result)] += 1

    case()
    report(capsys, target, "CSV (UTF-8, UTF-8 with BOM, Windows-1252, UTF-16) with hostile cells", seen)


def test_random_bytes_as_csv_and_xlsx(target, capsys):
    seen = Counter()

    @FUZZ
    @given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".ods", ".tsv"]))
    def case(data, suffix):
        slug = next(slugs)
        result = import_file(target, target.file(f"{slug}{suffix}", data), slug)
        seen[outcome(result)] += 1

    case()
    report(capsys, target, "random bytes named .csv/.xlsx/.ods/.tsv", seen)


# --- xlsx ---------------------------------------------------------------------------------------


def xlsx_bytes(header: list[str], rows: list[list], formulas: bool) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([None if v == "" else v for v in row])
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, str) and cell.value.startswith("=") and not formulas:
                cell.data_type = "s"  # text that looks like a formula, as a user typed it
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX_TITLE = TITLE.filter(lambda t: len(t) <= 32_767 and not any(ord(c) < 32 for c in t))


@st.composite
def workbooks(draw):
    extra = draw(st.lists(st.sampled_from(HEADERS), unique=True, max_size=4))
    header = draw(st.permutations(["Activity", *extra]))
    titles = draw(st.lists(XLSX_TITLE, min_size=1, max_size=6))
    rows = [[t if h == "Activity" else draw(OTHER) for h in header] for t in titles]
    return header, rows, titles


def test_xlsx_workbooks(target, capsys):
    seen = Counter()

    @FUZZ
    @given(book=workbooks(), formulas=st.booleans())
    def case(book, formulas):
        header, rows, titles = book
        slug = next(slugs)
        result = import_file(target, target.file(f"{slug}.xlsx", xlsx_bytes(header, rows, formulas)), slug)
        if result.exit_code == 0:
            if formulas:
                # A formula has no saved value in a file openpyxl wrote; it may never be read as its text.
                assume(not any(t.startswith("=") for t in titles))
            assert_faithful(target, slug, titles)
        seen[outcome(result)] += 1

    case()
    report(capsys, target, "xlsx with hostile cells, formula-looking text and real formulas", seen)


def test_truncated_and_corrupted_workbooks(target, capsys):
    seen = Counter()
    good = xlsx_bytes(["Activity", "Objective"], [["First", "1"], ["Second", "1"]], False)

    @FUZZ
    @given(cut=st.integers(0, len(good)), flips=st.lists(st.tuples(st.integers(0, len(good) - 1), st.integers(0, 255)), max_size=8),
           member=st.sampled_from([None, "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "[Content_Types].xml"]))  # fmt: skip
    @example(cut=0, flips=[(2135, 0)], member=None)  # found in CI: a broken deflate stream raised zlib.error (exit 70)
    def case(cut, flips, member):
        data = bytearray(good)
        for at, byte in flips:
            data[at] = byte
        data = bytes(data[:cut]) if cut < len(good) and not flips else bytes(data)
        if member is not None:
            data = rewritten(good, member, random.Random(cut).randbytes(64))
        slug = next(slugs)
        result = import_file(target, target.file(f"{slug}.xlsx", data), slug)
        if result.exit_code == 0:
            assert_faithful(target, slug, ["First", "Second"])
        seen[outcome(result)] += 1

    case()
    report(capsys, target, "truncated, bit-flipped and garbage-member xlsx zips", seen)


def rewritten(book: bytes, member: str, garbage: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, garbage if item.filename == member else src.read(item))
    return out.getvalue()


def test_huge_cells_are_imported_whole_or_refused_clearly(target):
    title = ("Évaluation des besoins — " * 4_000).strip()  # 100,000 characters
    slug = next(slugs)
    result = import_file(target, target.file(f"{slug}.csv", csv_bytes(["Activity"], [[title]], "utf-8")), slug)
    assert result.exit_code == 0, result.output
    assert_faithful(target, slug, [title])
    slug = next(slugs)
    huge = ("Évaluation des besoins — " * 40_000).strip()  # 1,040,000 characters: past the CSV reader's field limit
    result = import_file(target, target.file(f"{slug}.csv", csv_bytes(["Activity"], [[huge]], "utf-8")), slug)
    if result.exit_code == 0:
        assert_faithful(target, slug, [huge])
    book = xlsx_bytes(["Activity"], [["x" * 32_767]], False)
    slug = next(slugs)
    assert import_file(target, target.file(f"{slug}.xlsx", book), slug).exit_code == 0
    assert_faithful(target, slug, ["x" * 32_767])


def test_a_title_that_is_only_a_number_is_kept_whole(target):
    slug = next(slugs)
    result = import_file(target, target.file(f"{slug}.csv", "Activity\n1.10\n0.0\n"), slug)
    assert result.exit_code == 0, result.output  # a valid sheet: only success is right
    assert [r["title"] for r in json.loads(target.run("activities", "--plan", slug, "--format", "json").stdout)] == [
        "1.10",
        "0.0",
    ]


def test_a_sheet_of_only_activity_text_always_imports(target, capsys):
    """Any non-empty text under `Activity` is a valid sheet: exit 2 would be a wrong refusal."""
    seen = Counter()

    @FUZZ
    @given(titles=st.lists(XLSX_TITLE.filter(lambda t: len(t) <= 1000), min_size=1, max_size=6), as_xlsx=st.booleans())
    def case(titles, as_xlsx):
        slug = next(slugs)
        rows = [[t] for t in titles]
        data = xlsx_bytes(["Activity"], rows, False) if as_xlsx else csv_bytes(["Activity"], rows, "utf-8")
        result = import_file(target, target.file(f"{slug}.{'xlsx' if as_xlsx else 'csv'}", data), slug)
        assert result.exit_code == 0, result.output
        assert_faithful(target, slug, titles)
        seen["imported faithfully"] += 1

    case()
    report(capsys, target, "sheets of activity text alone (success is the only right outcome)", seen)


# --- check ----------------------------------------------------------------------------------------

CODES = st.text(st.sampled_from("TIFGCZ0123456789,. *-"), max_size=12)


def test_check_options(target, capsys):
    seen = Counter()

    @FUZZ
    @given(select=st.one_of(st.none(), CODES), ignore=st.one_of(st.none(), CODES),
           setting=st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["T101.days=-1", "F301.threshold=abc",
                                                                              "G402.severity=fatal", "T101.severity=info"])),
           fail_on=st.sampled_from(["error", "warning", "info", "never", "boom"]),
           as_of=st.one_of(st.none(), st.sampled_from(["2023-02-30", "1900-01-01", "2999-12-31", "today", "2024-06-30"])),
           plan=st.sampled_from([None, "mini", "nosuch"]))  # fmt: skip
    def case(select, ignore, setting, fail_on, as_of, plan):
        args = ["check", "--fail-on", fail_on, "--format", "json"]
        for option, value in (
            ("--select", select),
            ("--ignore", ignore),
            ("--set", setting),
            ("--as-of", as_of),
            ("--plan", plan),
        ):
            if value is not None:
                args += [option, value]
        result = target.run(*args, ok=(0, 1, 2))
        seen[{0: "passed", 1: "findings", 2: "refused with exit 2"}[result.exit_code]] += 1

    case()
    report(capsys, target, "`cpflow check` with fuzzed --select/--ignore/--set/--fail-on/--as-of/--plan", seen)
