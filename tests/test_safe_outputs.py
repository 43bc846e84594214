"""Hostile text through every output: listings (table, JSON, CSV), `check`, `export`
(CSV, xlsx), reports (xlsx, HTML, Markdown, JSON, CSV) and the review pack.

The plan's titles, names, actors, reasons and references carry formula prefixes, HTML and
script, Markdown and template syntax, control characters, right-to-left overrides and very
long text. Every output is checked for two things: nothing is executable (no formula
cell, no cell a spreadsheet would evaluate, no markup or script made from user text, no
terminal escape), and nothing is lost (wherever a hostile text shows, it shows whole).
Each hostile text carries a tag (H01 …) so its occurrences can be found in any format.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
import yaml

from cpflow.safe_output import FORMULA_PREFIXES

HOSTILE = {
    "H01": '=HYPERLINK("http://evil.example/H01","click H01")',
    "H02": "+cmd|' /C calc'!A0 H02",
    "H03": "-2+3+cmd|' /C calc'!A0 H03",
    "H04": "@SUM(1+1)*cmd|' /C calc'!A0 H04",
    "H05": "\t=1+1 H05",
    "H06": "\r=1+1 H06",
    "H07": "<script>alert('H07')</script><img src=x onerror=alert(1)>",
    "H08": '</td></tr></table><h1>H08 injected</h1><a href="javascript:alert(1)">x</a>',
    "H09": "{{ 7*7 }} {% raw %} ${7*7} H09",
    "H10": "[H10 link](javascript:alert(1)) | pipe | *bold* `code` # heading",
    "H11": "bell\x07 escape\x1b[31m red\x1b[0m vt\x0b ff\x0c H11",
    "H12": "\u202eH12 exe.txt\u202c مرحبا بالعالم עברית",
    "H13": "H13 " + "Évaluation des besoins — " * 200,
    "H14": "'=1+1 H14",
}
SHORT = {tag: text for tag, text in HOSTILE.items() if len(text) < 200}


def plan_text(values: dict[str, str]) -> str:
    v = values
    document = {
        "plan": {"slug": "hostile", "title": v["H08"], "owner": v["H07"], "start": "2022-01-01", "end": "2025-12-31",
                 "sectors": [v["H12"]], "description": v["H09"]},
        "periods": [{"key": "y1", "name": v["H10"], "kind": "year", "start": "2022-01-01", "end": "2022-12-31"},
                    {"key": "y2", "name": "Year 2", "kind": "year", "start": "2023-01-01", "end": "2025-12-31"}],
        "units": [{"key": "wg", "name": v["H04"], "kind": "working_group", "leads": [v["H05"]]}],
        "outcomes": [{"key": "o1", "title": v["H06"]}],
        "objectives": [{"code": "1", "title": v["H01"], "outcome": "o1", "unit": "wg", "activities": [
            {"code": f"1.{i}", "title": v[tag], "phase": "y1", "lead": v["H03"], "sectors": [v["H12"]],
             "expected_result": v["H11"], "description": v[tag], "due": "2022-12-31"}
            for i, tag in enumerate(HOSTILE, start=1)
        ]}],
        "indicators": [{"code": "i1", "name": v["H07"], "of": "objective:1", "baseline": {"value": 0},
                        "targets": [{"period": "y1", "value": 10}]}],
        "budgets": [{"unit": "wg", "period": "y1", "budget": 1000, "received": 10}],
    }  # fmt: skip
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=10**9)


def benign(text: str, tag: str) -> str:
    """Text of the same kind without anything active: the structural baseline."""
    return f"plain text {tag}"


def build(cpflow, tmp_path: Path, values: dict[str, str]) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(plan_text(values), encoding="utf-8")
    assert cpflow("load", str(path), "--by", values["H02"][:150]).exit_code == 0
    for i, tag in enumerate(HOSTILE, start=1):
        ident = f"hostile:1.{i}"
        actor = values[tag] if len(values[tag]) <= 200 else f"actor of {tag[1:]}"  # actors are at most 200 characters
        assert cpflow("move", ident, "endorse", "--by", actor, "--at", "2022-02-01", "--ref", values[tag]).exit_code == 0
        if i % 2:
            result = cpflow("move", ident, "drop", "--by", actor, "--at", "2022-03-01", "--reason", values[tag])
            assert result.exit_code == 0, result.output


@pytest.fixture
def outputs(cpflow, tmp_path):
    """Every output of a plan full of hostile text: {name: (format, content or path)}."""
    build(cpflow, tmp_path, HOSTILE)
    out: dict[str, tuple[str, object]] = {}

    def run(name: str, fmt: str, *args: str) -> None:
        result = cpflow(*args)
        assert result.exit_code in (0, 1), (args, result.output[-2000:])
        out[name] = (fmt, result.stdout)

    for listing in (("activities", "--plan", "hostile"), ("history", "hostile:1.1"), ("history", "hostile:1.7"),
                    ("plans",), ("units", "--plan", "hostile"), ("indicators", "--plan", "hostile")):  # fmt: skip
        for fmt in ("table", "json", "csv"):
            run(f"{' '.join(listing)} --format {fmt}", fmt, *listing, "--format", fmt)
    run("show --format table", "table", "show", "hostile:1.8")
    run("show --format json", "json", "show", "hostile:1.8", "--format", "json")
    for fmt in ("table", "json", "csv"):
        run(f"check --format {fmt}", fmt, "check", "--plan", "hostile", "--as-of", "2024-06-30", "--format", fmt)
    if cpflow("export", "--help").exit_code == 0:
        run("export csv", "csv", "export", "hostile", "--format", "csv", "-o", "-")
        xlsx = tmp_path / "export.xlsx"
        assert cpflow("export", "hostile", "--format", "xlsx", "-o", str(xlsx)).exit_code == 0
        out["export xlsx"] = ("xlsx", xlsx)
    if cpflow("report", "--help").exit_code == 0:
        for kind in ("progress", "compliance"):
            common = ["report", kind, "--plan", "hostile", "--as-of", "2024-06-30"] + (
                ["--since", "2022-01-15"] if kind == "progress" else []
            )
            for fmt in ("html", "md", "json"):
                run(f"report {kind} {fmt}", fmt, *common, "--format", fmt)
            xlsx = tmp_path / f"{kind}.xlsx"
            assert cpflow(*common, "--format", "xlsx", "-o", str(xlsx)).exit_code in (0, 1)
            out[f"report {kind} xlsx"] = ("xlsx", xlsx)
            folder = tmp_path / f"{kind}-csv"
            assert cpflow(*common, "--format", "csv", "-o", str(folder)).exit_code in (0, 1)
            for path in sorted(folder.glob("*.csv")):
                out[f"report {kind} csv {path.name}"] = ("csv", path.read_bytes().decode("utf-8"))
        pack = tmp_path / "pack"
        assert cpflow(
            "report", "pack", "--plan", "hostile", "--as-of", "2024-06-30", "--since", "2022-01-15", "-o", str(pack)
        ).exit_code in (0, 1)
        for path in sorted(pack.rglob("*")):
            kind = {".xlsx": "xlsx", ".html": "html", ".md": "md", ".json": "json", ".csv": "csv"}.get(path.suffix)
            if kind:
                out[f"pack {path.name}"] = (kind, path if kind == "xlsx" else path.read_bytes().decode("utf-8"))
    return out


# --- per-format readers: the texts a user would see, and what could run ---------------------------


def csv_cells(content: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(content, newline="")) for cell in row]


def json_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in json_strings(k) + json_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in json_strings(v)]
    return []


class Markup(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((k, v or "") for k, v in attrs)

    def handle_data(self, data):
        self.text.append(data)


def visible(text: str) -> str:
    """The text a reader sees: control characters and terminal escape sequences dropped,
    runs of whitespace as one space. Dropping those is allowed; losing anything else is not."""
    text = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", text)
    return " ".join(re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", text).split())


def ooxml_text(value: str) -> str:
    """xlsx stores control characters as _xHHHH_; Excel shows the character."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def check_whole(texts: list[str], name: str, problems: list[str], normalise=visible) -> int:
    """Every text that carries a tag holds that tag's hostile text in full; returns how many."""
    found = 0
    for text in texts:
        for tag, hostile in HOSTILE.items():
            if tag in text:
                if normalise(hostile) not in normalise(text):
                    problems.append(f"{name}: {tag} is cut or changed: {text[:120]!r}")
                found += 1
    return found


def inspect(name: str, fmt: str, content, problems: list[str]) -> int:
    """Check one output; append what is wrong to `problems`; return the hostile texts seen."""
    if fmt == "csv":
        cells = csv_cells(content)
        for cell in cells:
            if cell.startswith(FORMULA_PREFIXES) and not re.fullmatch(r"-?[\d.]+(e-?\d+)?%?", cell):
                problems.append(f"{name}: a cell a spreadsheet would run: {cell[:80]!r}")
        return check_whole(cells, name, problems)  # a quote put before a formula prefix is allowed
    if fmt == "json":
        return check_whole(json_strings(json.loads(content)), name, problems)
    if fmt == "table":
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", content):
            problems.append(f"{name}: a control character (terminal escape) reaches the terminal")
        return sum(1 for tag in HOSTILE if tag in content)  # tables shorten long cells to fit, by design
    if fmt == "xlsx":
        texts = []
        for sheet in openpyxl.load_workbook(content).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if not isinstance(cell.value, str):
                        continue
                    if cell.data_type == "f":
                        problems.append(f"{name}: a formula in {sheet.title}!{cell.coordinate}: {cell.value[:80]!r}")
                    if cell.hyperlink is not None and any(t in cell.value for t in HOSTILE):
                        problems.append(f"{name}: a link made from user text in {sheet.title}!{cell.coordinate}")
                    texts.append(ooxml_text(cell.value))
        return check_whole(texts, name, problems)
    if fmt == "html":
        markup = Markup()
        markup.feed(content)
        active = {"script", "iframe", "object", "embed"} & set(markup.tags)
        if active:
            problems.append(f"{name}: active elements {sorted(active)}")
        for attr, value in markup.attrs:
            if attr.startswith("on") or value.strip().lower().startswith("javascript:") or "H07" in value or "H08" in value:
                problems.append(f"{name}: user text made an attribute: {attr}={value[:60]!r}")
        return check_whole(["".join(markup.text)], name, problems)
    if fmt == "md":
        if re.search(r"<[a-zA-Z/!]", content):
            problems.append(f"{name}: raw HTML in Markdown")
        if re.search(r"(?<!\\)\]\(javascript:", content):
            problems.append(f"{name}: a live javascript: link")
        return sum(1 for tag in HOSTILE if tag in content)
    raise AssertionError(fmt)


# --- the test -----------------------------------------------------------------------------------


# Problems found in code this test does not own, reported to its owners. While one is
# present the test is marked xfail naming it; anything else fails the test outright.
KNOWN: dict[str, str] = {}


def test_hostile_text_is_inert_and_whole_in_every_output(outputs, capsys):
    problems: list[str] = []
    seen = sum(inspect(name, fmt, content, problems) for name, (fmt, content) in outputs.items())
    known = {why for pattern, why in KNOWN.items() for p in problems if re.search(pattern, p)}
    unknown = sorted({p for p in problems if not any(re.search(pattern, p) for pattern in KNOWN)})
    assert not unknown, f"{len(unknown)} problems:\n" + "\n".join(unknown)
    assert seen > 0
    formats = sorted({fmt for fmt, _ in outputs.values()})
    with capsys.disabled():
        print(
            f"\n[safe-outputs] {len(outputs)} outputs ({', '.join(formats)}): {seen} occurrences of "
            f"{len(HOSTILE)} hostile texts, each whole; no formula, markup or script"
            + (f"; {len(known)} known problems left" if known else "; no live cell, no terminal escape")
        )
    if known:
        pytest.xfail("known problems in outputs this test does not own: " + " | ".join(sorted(known)))


def test_markup_of_a_hostile_report_matches_a_plain_one(cpflow, tmp_path):
    """User text never adds an element: the HTML of the hostile plan has the same tags, in the
    same order, as the HTML of the same plan with plain text."""
    if cpflow("report", "--help").exit_code != 0:
        pytest.skip("reports are not built yet")
    build(cpflow, tmp_path, HOSTILE)
    hostile = cpflow(
        "report", "progress", "--plan", "hostile", "--as-of", "2024-06-30", "--since", "2022-01-15", "--format", "html"
    )
    plain_db = tmp_path / "plain"
    plain_db.mkdir()
    from conftest import run_cli

    url = f"sqlite:///{plain_db / 'plain.db'}"

    def plain_cli(*args):
        return run_cli(*args, db_url=url)

    build(plain_cli, plain_db, {tag: benign(text, tag) for tag, text in HOSTILE.items()})
    plain = plain_cli(
        "report", "progress", "--plan", "hostile", "--as-of", "2024-06-30", "--since", "2022-01-15", "--format", "html"
    )
    tags = []
    for result in (hostile, plain):
        markup = Markup()
        markup.feed(result.stdout)
        tags.append(
            [
                t
                for t in markup.tags
                if t not in ("svg", "g", "rect", "text", "line", "path", "title", "tspan", "circle", "polyline")
            ]
        )
    assert tags[0] == tags[1]
