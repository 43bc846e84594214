"""Value converters for plan files: each turns one YAML value into what storage holds, or
raises ValueError with a message a person can act on (validation adds file, line, path).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator

from cpflow.dates import parse_date
from cpflow.money import MAX_AMOUNT, MAX_MINOR, parse_amount  # noqa: F401 (MAX_MINOR re-exported)

MAX_CODE = 100  # codes and keys are VARCHAR(100)
MAX_STATE = 40  # lifecycle states and triggers are VARCHAR(40)
# Indicator values are floats: beyond 2**53 (about 9e15) a float no longer holds every
# whole number, so a count of people or sessions would silently change when stored.
MAX_NUMBER = 2**53
# PostgreSQL text cannot hold NUL; refusing it everywhere keeps SQLite plans portable.
NUL_IN_TEXT = "text contains a NUL character (\\0), which cannot be stored"


def code(value: Any) -> str:
    if type(value) is str and "\x00" not in value and 0 < len(stripped := value.strip()) <= MAX_CODE:
        return stripped  # a code as written: the checks below would all pass
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f'expected a code in quotes, got the number {value!r} (write "{value}": unquoted, 1.10 reads as 1.1)')
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str) and value.strip():
        text = storable(value.strip())
        if len(text) > MAX_CODE:
            raise ValueError(f"expected a code of at most {MAX_CODE} characters, got {len(text)}")
        return text
    raise ValueError(f"expected a non-empty code, got {short(value)}")


def text(value: Any) -> str:
    if type(value) is str and "\x00" not in value:
        return value
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected text, got {kind(value)}")


def storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_IN_TEXT)
    return value


def money(value: Any) -> Decimal:
    too_big = f"an amount is at most {MAX_AMOUNT:,} (cpflow's limit for an amount and a plan's total), got {short(value)}"
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_AMOUNT:
        raise ValueError(too_big)  # (compared as integers: math.isfinite() cannot take a 400-digit int)
    if isinstance(value, int) and not isinstance(value, bool) and value < -MAX_AMOUNT:
        raise ValueError(f"an amount cannot be negative, got {short(value)}")
    if isinstance(value, float) and math.isfinite(value) and value > MAX_AMOUNT:
        raise ValueError(too_big)
    if isinstance(value, str) and len(value) > 60:
        raise ValueError(f"expected an amount such as 1585000 or 1,585,000, got text of {len(value)} characters")
    with decimal.localcontext() as context:
        context.prec = 80  # so that an over-long amount is measured, not refused as malformed
        amount = parse_amount(value)
    if amount > MAX_AMOUNT:
        raise ValueError(too_big)
    return amount


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {short(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    if abs(value) > MAX_NUMBER:
        raise ValueError(f"expected a number of at most {MAX_NUMBER:,} in size, got {short(value)}")
    return float(value)


def short(value: Any, limit: int = 40) -> str:
    """repr(value), cut to `limit` characters (a 400-digit number is not worth echoing)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a number of {len(str(abs(value)))} digits"
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "nothing"}.get(type(value), short(value))


IsoDate = Annotated[dt.date, BeforeValidator(parse_date)]
Code = Annotated[str, BeforeValidator(code)]
Text = Annotated[str, BeforeValidator(text)]
Money = Annotated[Decimal, BeforeValidator(money)]
Number = Annotated[float, BeforeValidator(number)]
Texts = list[Text]
