"""Markdown for pasting into minutes: the headline figures as a list and each view as a
table. Full listings (detail sections) are left to the xlsx and CSV files."""

from __future__ import annotations

import re
from collections.abc import Sequence

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


def _table(section: Section) -> list[str]:
    columns = section.columns
    head = "| " + " | ".join(escape(c.label) for c in columns) + " |"
    align = "|" + "|".join("---:" if c.kind in ("int", "number", "pct", "money") else "---" for c in columns) + "|"
    lines = [head, align]
    for row in cells.rows(section):
        lines.append("| " + " | ".join(escape(cells.display(v, c.kind)) for v, c in zip(row, columns)) + " |")
    return lines


def section_lines(section: Section, level: int = 3) -> list[str]:
    lines = [f"{'#' * level} {escape(section.title)}", ""]
    if section.note:
        lines += [f"_{escape(section.note)}_", ""]
    if section.detail:
        lines += [f"{len(section.table)} rows: see the xlsx or CSV files for the full list.", ""]
        return lines
    if section.table.empty:
        return [*lines, "None.", ""]
    if "currency" in section.table.columns and any(c.kind == "money" for c in section.columns):
        lines += ["Amounts in the currency shown on each row.", ""]
    return [*lines, *_table(section), ""]


def report_lines(report: Report, level: int = 2) -> list[str]:
    lines = [f"{'#' * level} {escape(report.title)}", "", f"Plans: {escape(', '.join(report.plans['slug']))}. "
             f"State {escape(report.period_text)}.", ""]  # fmt: skip
    for figure in report.figures:
        detail = f" ({escape(figure.detail)})" if figure.detail else ""
        lines.append(f"- **{escape(figure.label)}**: {cells.figure_text(figure.value, figure.kind)}{detail}")
    lines.append("")
    for section in report.sections:
        lines += section_lines(section, level + 1)
    return lines


def render(reports: Sequence[Report]) -> str:
    """One Markdown document for one or more reports (a pack holds progress and compliance)."""
    first = reports[0]
    built = f"Built by cpflow {escape(first.about.get('cpflow', ''))}, {escape(first.period_text)}."
    if len(reports) == 1:
        lines = report_lines(first, level=1)
        lines[4:4] = [built, ""]
    else:
        lines = ["# Governance review", "", built, ""]
        for report in reports:
            lines += report_lines(report)
    return "\n".join(lines).rstrip("\n") + "\n"
