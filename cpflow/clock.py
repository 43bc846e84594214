"""The one `today()`.

cpflow's dates are calendar dates as the people recording them see them: "today" is the
machine's local date (the `TZ` environment variable sets the zone). Move validation ("not in
the future") and the default as-of date of `check` and every report use this one function,
so they can never disagree.
"""

from __future__ import annotations

import datetime as dt


def today() -> dt.date:
    """Today's local calendar date."""
    return dt.date.today()
