"""Quarters and months as a sheet writes them: in a header (`Q3 2021`, `Sept.`, `2015-09`)
or in a timeline cell (`Q1-Q2`, `Oct-Nov 2025`, `April - June 2025`, `All quarters`).

The lowest stage of the import: plain text in, `When` tokens out; periods are made from
them when the plan is built.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace

BULLETS = "·•▪◦●‣∙"

MONTHS = {
    "jan": 1, "january": 1, "janv": 1, "janvier": 1, "enero": 1, "ene": 1,
    "feb": 2, "february": 2, "fev": 2, "fevr": 2, "fevrier": 2, "febrero": 2,
    "mar": 3, "march": 3, "mars": 3, "marzo": 3,
    "apr": 4, "april": 4, "avr": 4, "avril": 4, "abril": 4, "abr": 4,
    "may": 5, "mai": 5, "mayo": 5,
    "jun": 6, "june": 6, "juin": 6, "junio": 6,
    "jul": 7, "july": 7, "juil": 7, "juillet": 7, "julio": 7,
    "aug": 8, "august": 8, "aout": 8, "agosto": 8, "ago": 8,
    "sep": 9, "sept": 9, "september": 9, "septembre": 9, "septiembre": 9,
    "oct": 10, "october": 10, "octobre": 10, "octubre": 10,
    "nov": 11, "november": 11, "novembre": 11, "noviembre": 11,
    "dec": 12, "december": 12, "decembre": 12, "diciembre": 12, "dic": 12,
}  # fmt: skip

_QUARTER = re.compile(r"^(?:q|qtr|quarter)\s*([1-4])(?:\s*(\d{4}))?$|^(\d{4})\s*(?:q|qtr|quarter)\s*([1-4])$")
_MONTH = re.compile(r"^([a-z]+)(?:\s*(\d{4}|\d{2}))?$")
_YEAR_MONTH = re.compile(r"^(\d{4})\s*(\d{1,2})$")
_TRAILING_YEAR = re.compile(r"^(.*\S)\s+((?:19|20|21)\d\d)$")
_ALL_YEAR = ("all quarters", "all year", "throughout the year", "ongoing", "continuous", "year round")


@dataclass(frozen=True)
class When:
    """A schedule token: quarter n or month n (optionally of a year), or a period key or name."""

    kind: str  # "quarter" | "month" | "key"
    number: int = 0
    year: int | None = None
    text: str = ""

    def label(self) -> str:
        """How a person writes it: `Q2 2025`, `Oct`, `years-1-2`."""
        if self.kind == "key":
            return self.text
        name = f"Q{self.number}" if self.kind == "quarter" else calendar.month_abbr[self.number]
        return f"{name} {self.year}" if self.year else name


def when_of(text: str) -> When | None:
    """Quarter or month named by a header or a timeline token (`Q2`, `Sept.`, `2015-09`)."""
    norm = " ".join(re.sub(r"[._/-]+", " ", text.strip().lower()).split())
    match = _QUARTER.match(norm)
    if match:
        if match.group(1):
            return When("quarter", int(match.group(1)), int(match.group(2)) if match.group(2) else None)
        return When("quarter", int(match.group(4)), int(match.group(3)))
    match = _YEAR_MONTH.match(norm)
    if match and 1 <= int(match.group(2)) <= 12:
        return When("month", int(match.group(2)), int(match.group(1)))
    match = _MONTH.match(norm.replace("é", "e").replace("û", "u"))
    if match and match.group(1) in MONTHS:
        year = match.group(2)
        if year is not None and len(year) == 2:
            year = "20" + year
        return When("month", MONTHS[match.group(1)], int(year) if year else None)
    return None


def timeline(value: str) -> list[When]:
    """`Q1-Q2`, `Q2/ Q3`, `All quarters`, `Sept-Nov`, `2015-09; 2015-10`, `Q2-Q3 2025`,
    `April - June 2025`, or period keys. A year after a range is the year of the range
    (its first part wraps back a year when it comes later in the calendar: `Nov-Feb 2026`)."""
    out: list[When] = []
    for part in re.split(r"[;,\n&" + BULLETS + r"]|\band\b", value):
        part = part.strip()
        if not part:
            continue
        low = " ".join(part.casefold().split())
        year_match = _TRAILING_YEAR.match(low)
        if low in _ALL_YEAR or (year_match and year_match.group(1) in _ALL_YEAR):
            year = int(year_match.group(2)) if year_match and year_match.group(1) in _ALL_YEAR else None
            out.extend(When("quarter", n, year) for n in range(1, 5))
            continue
        whole = when_of(part)
        if whole is not None:
            out.append(whole)
            continue
        pieces = [p.strip() for p in re.split(r"\s*(?:/|–|-|\bto\b)\s*", part) if p.strip()]
        found = [when_of(p) for p in pieces]
        if len(pieces) > 1 and all(found):
            found = _year_to_all(found)
            if len(found) == 2 and "/" not in part and found[0].kind == found[1].kind:
                out.extend(span(found[0], found[1]))
            else:
                out.extend(found)
            continue
        out.append(When("key", text=part))
    return out


def _year_to_all(found: list[When]) -> list[When]:
    """`Q2-Q3 2025`: the year written once, after the last part, is every part's year."""
    last = found[-1]
    if last.year is None or any(w.year is not None for w in found[:-1]) or any(w.kind != last.kind for w in found):
        return found
    out, year = [last], last.year
    for w in reversed(found[:-1]):
        if w.number > out[0].number:  # Nov-Feb 2026: November is of 2025
            year -= 1
        out.insert(0, replace(w, year=year))
    return out


def span(first: When, last: When) -> list[When]:
    """Q1-Q3 -> Q1, Q2, Q3; Nov-Feb -> Nov, Dec, Jan, Feb (wrapping the year)."""
    size = 4 if first.kind == "quarter" else 12
    out, number, year = [], first.number, first.year
    for _ in range(size):
        out.append(When(first.kind, number, year))
        if number == last.number and (last.year is None or year is None or year == last.year):
            break
        number += 1
        if number > size:
            number = 1
            year = year + 1 if year is not None else None
    return out
