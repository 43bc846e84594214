"""Markdown for pasting into minutes: the headline figures as a list and each view as a
table. Full listings (detail sections) are left to the xlsx and CSV files."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from cpflow.reports import cells
from cpflow.reports.model import Report, Section

# Characters with a meaning in GitHub-flavoured Markdown: emphasis, code, links, tables,
# headings, strikethrough and math.
_SPECIAL = re.compile(r"([\\`*_\[\]|#~$])")
# GitHub links bare URLs ("http://", "ftp://" …) unless the ':' is escaped, "www." unless its
# dot is, and an e-mail address (or an @mention, where the text is pasted into an issue)
# unless a character that cannot be in an address stands before the "@": a zero-width
# space, written as an entity so that the file shows it. ("mailto:" and "xmpp:" need an
# address, so they cannot link either.)
_SCHEME = re.compile(r":(?=//)")
_WWW = re.compile(r"(?i)(www)\.")
_AT = re.compile(r"@")


def escape(text: str) -> str:
    """User text that stays plain in every Markdown renderer, GitHub's included: one line,
    HTML and Markdown characters escaped, and no autolink (URL, www., e-mail, mention)."""
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    text = _SCHEME.sub(r"\\:", text)
    text = _WWW.sub(r"\1\\.", text)
    return _AT.sub("&#8203;@", text)


def _table(section: Section) -> Iterator[str]:
    columns = section.columns
    yield "| " + " | ".join(escape(c.label) for c in columns) + " |"
    yield "|" + "|".join("---:" if c.kind in ("int", "number", "pct", "money") else "---" for c in columns) + "|"
    for row in cells.rows(section):
        yield "| " + " | ".join(escape(cells.display(v, c.kind)) for v, c in zip(row, columns)) + " |"


def section_lines(section: Section, level: int = 3) -> Iterator[str]:
    yield from (f"{'#' * level} {escape(section.title)}", "")
    if section.note:
        yield from (f"_{escape(section.note)}_", "")
    if section.detail:
        yield from (f"{len(section.table)} rows: see the xlsx or CSV files for the full list.", "")
        return
    if section.table.empty:
        yield from ("None.", "")
        return
    if "currency" in section.table.columns and any(c.kind == "money" for c in section.columns):
        yield from ("Amounts in the currency shown on each row.", "")
    yield from _table(section)
    yield ""


def report_lines(report: Report, level: int = 2, built: str | None = None) -> Iterator[str]:
    """The report's lines; `built` (the build line of a one-report document) goes after the plans."""
    yield from (f"{'#' * level} {escape(report.title)}", "")
    yield from (f"Plans: {escape(', '.join(report.plans['slug']))}. State {escape(report.period_text)}.", "")
    if built is not None:
        yield from (built, "")
    for figure in report.figures:
        detail = f" ({escape(figure.detail)})" if figure.detail else ""
        yield f"- **{escape(figure.label)}**: {cells.figure_text(figure.value, figure.kind)}{detail}"
    yield ""
    for section in report.sections:
        yield from section_lines(section, level + 1)


def _lines(reports: Sequence[Report]) -> Iterator[str]:
    first = reports[0]
    built = f"Built by cpflow {escape(first.about.get('cpflow', ''))}, {escape(first.period_text)}."
    if len(reports) == 1:
        yield from report_lines(first, level=1, built=built)
        return
    yield from ("# Governance review", "", built, "")
    for report in reports:
        yield from report_lines(report)


def render(reports: Sequence[Report]) -> str:
    """One Markdown document for one or more reports (a pack holds progress and compliance)."""
    return "\n".join(_lines(reports)).rstrip("\n") + "\n"


def write(reports: Sequence[Report], path: Path) -> Path:
    """The same document as `render`, written line by line rather than held as one string."""
    with path.open("w", encoding="utf-8", newline="") as out:
        blanks, started = 0, False
        for line in _lines(reports):
            if not line:
                blanks += 1
                continue
            # Blank lines are written only when more text follows: the document ends in one newline.
            out.write("\n" * (blanks + started) + line)
            blanks, started = 0, True
        out.write("\n")
    return path
