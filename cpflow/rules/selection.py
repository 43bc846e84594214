"""Which rules run, flake8/ruff style: codes or prefixes to select and to ignore.

`T` selects every timeline rule, `F3` every funding rule, `T103` one rule; `ALL` selects
everything. For each rule the most specific matching entry wins (`--select T --ignore
T103` runs T101, T102, T104); between equally specific entries the command line beats
the plan's `rules:` section, and ignore beats select. When the command line selects,
it replaces the plan's own `select`; the plan's `ignore` still applies unless the command
line names the rule at least as specifically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_ENTRY = re.compile(r"[A-Z]{1,3}[0-9]{0,3}|ALL")

# Priorities when two entries are equally specific: higher wins.
PLAN_SELECT, PLAN_IGNORE, CLI_SELECT, CLI_IGNORE = 0, 1, 2, 3


def split_codes(values: Iterable[str]) -> list[str]:
    """`("T,F3", "G401")` -> `["T", "F3", "G401"]`, upper-cased, blanks dropped."""
    return [part.strip().upper() for value in values for part in str(value).split(",") if part.strip()]


def valid_entry(entry: str) -> bool:
    """True for a well-formed code, prefix or `ALL` (whether or not a rule has it)."""
    return bool(_ENTRY.fullmatch(entry))


def unknown_entries(entries: Sequence[str], codes: Iterable[str]) -> list[str]:
    """Entries that are malformed or match no known code."""
    codes = list(codes)
    return [e for e in entries if not _ENTRY.fullmatch(e) or (e != "ALL" and not any(c.startswith(e) for c in codes))]


def _specificity(entry: str) -> int:
    return 0 if entry == "ALL" else len(entry)


def _matches(entry: str, code: str) -> bool:
    return entry == "ALL" or code.startswith(entry)


def resolve(
    codes: Iterable[str],
    *,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    plan_select: Sequence[str] = (),
    plan_ignore: Sequence[str] = (),
) -> list[str]:
    """The codes that run, in sorted order, given command-line and plan selections."""
    entries: list[tuple[str, int]] = []
    if select:
        entries += [(e, CLI_SELECT) for e in select]
    else:
        entries += [(e, PLAN_SELECT) for e in (plan_select or ["ALL"])]
    entries += [(e, PLAN_IGNORE) for e in plan_ignore]
    entries += [(e, CLI_IGNORE) for e in ignore]
    chosen = []
    for code in sorted(codes):
        matching = [(_specificity(e), priority) for e, priority in entries if _matches(e, code)]
        if matching and max(matching)[1] in (PLAN_SELECT, CLI_SELECT):
            chosen.append(code)
    return chosen
