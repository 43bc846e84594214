"""HXL hashtag rows in an imported sheet (issue 16): a 3W table from HDX, or cpflow's own
`export --format hxl`, carries a row of hashtags (`#activity+name`, `#org+lead` …) under
its human headers. The tags say what each column is more surely than the header text, so
they map the columns (a mapping file still wins); the hashtag row is never an activity.

A tag matches a pattern when it has the pattern's hashtag and attributes; its other
attributes must be ones that do not change the meaning (`+name`, `+num`, `+v_…` value
vocabularies, `+i_…` languages). Each field takes the first column matching its patterns
in their order, so `#org+lead` beats `#org+impl` for the lead, and a second matching
column is left for the next field that wants it (`#org+impl` then means the contributors).
See https://hxlstandard.org/standard/dictionary/ for the tags.
"""

from __future__ import annotations

import re
from typing import Any

_TAG = re.compile(r"^#([a-z][a-z0-9_]*)((?:\s*\+\s*[a-z][a-z0-9_]*)*)$", re.IGNORECASE)
_HARMLESS = {"name", "num"}

# field -> patterns in priority order: (hashtag, required attributes).
TAG_FIELDS: tuple[tuple[str, tuple[tuple[str, frozenset[str]], ...]], ...] = tuple(
    (name, tuple((tag, frozenset(attrs.split())) for tag, attrs in patterns))
    for name, patterns in (
        ("code", (("activity", "code"), ("activity", "id"))),
        ("title", (("activity", ""),)),
        ("description", (("activity", "description"), ("description", ""))),
        ("type", (("activity", "type"), ("activity", "category"))),
        ("objective", (("activity", "objective"),)),
        ("lead", (("org", "lead"), ("org", ""), ("org", "prog"), ("org", "impl"))),
        ("contributors", (("org", "impl"), ("org", "partner"), ("org", "contributor"))),
        ("unit", (("org", "coordination"),)),
        ("sectors", (("subsector", ""), ("sector", ""), ("sector", "cluster"))),
        ("countries", (("country", ""), ("country", "code"))),
        ("location", (("adm1", ""), ("adm1", "code"), ("adm2", ""), ("adm2", "code"), ("loc", ""))),
        ("state", (("status", ""),)),
        ("start", (("date", "start"),)),
        ("due", (("date", "end"),)),
        ("status_date", (("date", "reported"), ("date", "updated"))),
        ("expected_result", (("output", ""),)),
        ("indicator", (("indicator", ""),)),
        ("baseline", (("indicator", "baseline"),)),
        ("target", (("targeted", ""), ("indicator", "target"))),
        ("notes", (("meta", "notes"), ("description", "notes"))),
    )
)  # fmt: skip


def parse(cell: Any) -> tuple[str, frozenset[str]] | None:
    """(hashtag, attributes) of a HXL tag cell such as `#org +lead`, or None."""
    if not isinstance(cell, str):
        return None
    match = _TAG.match(cell.strip())
    if not match:
        return None
    attrs = frozenset(a.strip().lower() for a in match.group(2).split("+") if a.strip())
    return match.group(1).lower(), attrs


def is_hashtag_row(row: list[Any]) -> bool:
    """Every filled cell of the row is a HXL tag (and one at least is)."""
    filled = [c for c in row if c is not None and str(c).strip()]
    return bool(filled) and all(parse(c) is not None for c in filled)


def find_hashtag_row(rows: list[list[Any]], scan: int) -> int | None:
    """The index of the first hashtag row among the first `scan` rows, or None."""
    return next((i for i, row in enumerate(rows[:scan]) if is_hashtag_row(row)), None)


def _matches(tag: tuple[str, frozenset[str]], pattern: tuple[str, frozenset[str]]) -> bool:
    hashtag, attrs = tag
    want, required = pattern
    if hashtag != want or not required <= attrs:
        return False
    return all(a in _HARMLESS or a.startswith(("v_", "i_")) for a in attrs - required)


def tag_fields(row: list[Any]) -> dict[int, str]:
    """Column index -> field for the tags of a hashtag row that cpflow knows."""
    tags = {i: parsed for i, cell in enumerate(row) if (parsed := parse(cell)) is not None}
    out: dict[int, str] = {}
    for name, patterns in TAG_FIELDS:
        for pattern in patterns:
            col = next((i for i, tag in tags.items() if i not in out and _matches(tag, pattern)), None)
            if col is not None:
                out[col] = name
                break
    return out
