"""report.md keeps user text plain in GitHub-flavoured Markdown: no bare URL, `www.`,
e-mail address or @mention becomes a link, and no Markdown control character acts.

GitHub's own renderer (cmarkgfm) is used when it is importable; the structural checks
run always."""

from __future__ import annotations

import re

import pytest
from test_report_support import ACTOR, D

from cpflow.reports import markdown
from cpflow.reports.build import ReportOptions, build_reports
from cpflow.services import load_files

HOSTILE = (
    "Read http://evil.example/a and HTTPS://EVIL.EXAMPLE/b",
    "Visit www.evil.example or (WWW.evil.example) or _www.evil.example_",
    "Write to someone@evil.example, mailto:x@evil.example, xmpp:y@evil.example",
    "ftp://evil.example/file and @octocat",
    "~~struck~~ *bold* `code` $x$ [link](http://evil.example) ![img](http://evil.example/i.png)",
)

PLAN = """\
plan: {slug: links, title: "Plan www.evil.example", start: 2022-01-01, end: 2023-12-31}
units:
  - {key: wg, name: "Unit http://evil.example", kind: working_group, leads: ["lead@evil.example"]}
objectives:
  - code: "1"
    title: "Objective www.evil.example"
    unit: wg
    activities:
%s
"""

# What GitHub's autolink extension would turn into a link, if left as it is.
AUTOLINK = re.compile(r"(?i)(?<!\\)\b(?:https?|ftp)://|(?<![\\\w])www\.|[\w.+-]@[\w-]+\.\w")


def plan_text() -> str:
    rows = "\n".join(f'      - {{code: "1.{i}", title: "{t}"}}' for i, t in enumerate(HOSTILE, start=1))
    return PLAN % rows


@pytest.fixture
def links_md(db, tmp_path) -> str:
    path = tmp_path / "links.yaml"
    path.write_text(plan_text(), encoding="utf-8")
    load_files(db, [path], actor=ACTOR, now=D("2022-01-10"))
    reports, _ = build_reports(db, ("progress", "compliance"), ReportOptions(as_of=D("2022-06-30")))
    return markdown.render(reports)


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_has_no_autolink_trigger(text):
    assert AUTOLINK.search(text) or "~~" in text
    escaped = markdown.escape(text)
    assert not AUTOLINK.search(escaped), escaped
    for mark in "*`~$[]":
        assert re.search(rf"(?<!\\){re.escape(mark)}", escaped) is None, (mark, escaped)


def test_report_md_from_hostile_titles_has_no_autolink(links_md):
    assert "evil" in links_md
    assert not AUTOLINK.search(links_md), AUTOLINK.search(links_md)


def test_githubs_renderer_makes_no_link_and_keeps_the_words(links_md):
    cmarkgfm = pytest.importorskip("cmarkgfm")
    page = cmarkgfm.github_flavored_markdown_to_html(links_md)
    assert "<a " not in page and "<del>" not in page and "<code>" not in page and "<img" not in page
    for text in HOSTILE:
        words = markdown.escape(text)
        rendered = cmarkgfm.github_flavored_markdown_to_html(words)
        plain = re.sub(r"<[^>]+>", "", rendered).replace("\u200b", "").strip()
        expected = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert plain == expected, (plain, expected)
