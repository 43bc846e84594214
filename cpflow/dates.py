"""Date parsing in one place: ISO dates only, with messages a person can act on."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: Any) -> dt.date:
    """A date from a `date` or `YYYY-MM-DD` text; ValueError with a clear message otherwise."""
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date (YYYY-MM-DD), got a date and time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value.strip()!r} is not a real date") from None
    raise ValueError(f"expected a date (YYYY-MM-DD), got {value!r}")
