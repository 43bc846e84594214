"""What the route modules share: parsing a date or an amount from a form or query, and
calling a service the way the CLI does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from cpflow.errors import BadInput


def date_param(name: str, value: str | None) -> dt.date | None:
    """An ISO date from a form or query field; empty is None; BadInput naming the field otherwise."""
    if value is None or not str(value).strip():
        return None
    from cpflow.dates import parse_date

    try:
        return parse_date(str(value))
    except ValueError as exc:
        raise BadInput(f"{name}: {exc}") from None


def amount_param(name: str, value: str | None) -> Decimal | None:
    if value is None or not str(value).strip():
        return None
    from cpflow.money import parse_amount

    try:
        return parse_amount(value)
    except ValueError as exc:
        raise BadInput(f"{name}: {exc}") from None


def text_param(value: str | None, limit: int = 2000) -> str | None:
    text = (value or "").strip()
    if len(text) > limit:
        raise BadInput(f"a text field is at most {limit} characters")
    return text or None


def int_param(name: str, value: str | None) -> int | None:
    if value is None or not str(value).strip():
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise BadInput(f"{name}: expected a whole number, got {value!r}") from None


def version_from(if_match: str | None, given: int | None) -> int | None:
    """The version the client read: `If-Match: "3"` (or 3), else `expected_version`."""
    if if_match:
        return int_param("If-Match", if_match.strip().removeprefix("W/").strip('"'))
    return given
