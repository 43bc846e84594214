"""Money in one place: parsing amounts, minor units, and the JSON form.

Amounts are Decimal in memory and integer minor units (cents) in the database; a float
never holds money.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

MINOR_PER_UNIT = 100
# The largest amount cpflow records, alone or as a plan's total: ten trillion. Far above any
# humanitarian budget, and low enough that every sum a report makes (all lines of all plans)
# stays inside the signed 64-bit integers that hold cents in the database and in pandas.
MAX_AMOUNT = Decimal(10**13)
MAX_MINOR = int(MAX_AMOUNT) * MINOR_PER_UNIT
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^\d+(\.\d+)?$")


def parse_amount(value: Any) -> Decimal:
    """A non-negative amount from a number or text such as `1585000`, `1,585,000.50` or
    `$ 315,000`. Ambiguous text (`1.585,000`, `110,00`) is refused, not guessed."""
    if isinstance(value, bool):
        raise ValueError(f"expected an amount, got {value!r}")
    if isinstance(value, (int, Decimal)):
        amount = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"expected an amount, got {value!r}")
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        cleaned = re.sub(r"^(?:[A-Z]{3}|\$|US\$|€|£)\s*|\s+", "", value.strip())
        negative = cleaned.startswith("-")
        digits = cleaned.lstrip("-")
        if _PLAIN.match(digits):
            amount = Decimal(digits)
        elif _GROUPED.match(digits):
            amount = Decimal(digits.replace(",", ""))
        else:
            raise ValueError(f"expected an amount such as 1585000 or 1,585,000, got {value!r}")
        amount = -amount if negative else amount
    else:
        raise ValueError(f"expected an amount, got {value!r}")
    try:
        if amount < 0:
            raise ValueError(f"an amount cannot be negative, got {value!r}")
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError(f"an amount has at most 2 decimals, got {value!r}")
    except InvalidOperation:
        raise ValueError(f"expected an amount, got {value!r}") from None
    return amount


def to_minor(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount * MINOR_PER_UNIT)


def from_minor(minor: int | None) -> Decimal | None:
    return None if minor is None else Decimal(minor) / MINOR_PER_UNIT


def json_amount(minor: int | None) -> int | float | None:
    """Minor units as a JSON number in currency units: 158500000 -> 1585000."""
    if minor is None:
        return None
    whole, cents = divmod(int(minor), MINOR_PER_UNIT)
    return whole if cents == 0 else float(Decimal(minor) / MINOR_PER_UNIT)


def format_amount(value: int | float | Decimal | None) -> str:
    """An amount for people: grouped thousands, `unknown` when the source gives none."""
    return "unknown" if value is None else f"{value:,}"
