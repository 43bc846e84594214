"""What a rule sees: the as-of date, the plans' tables as DataFrames, and its settings."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from cpflow.lifecycle import Lifecycle
    from cpflow.read.frames import Frames


@dataclass
class Context:
    """The as-of date, the frames (see `cpflow.read.frames` for every column) and the rule's
    validated settings. Tables are shared between rules: never modify them in place."""

    as_of: dt.date
    frames: Frames
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def today(self) -> pd.Timestamp:
        """The as-of date as a pandas Timestamp, to compare with date columns."""
        import pandas as pd

        return pd.Timestamp(self.as_of)

    @functools.cached_property
    def lifecycles(self) -> dict[str, Lifecycle]:
        """Each plan's lifecycle by slug (the plan's own `lifecycle:` or cpflow's default)."""
        from cpflow.lifecycle import lifecycles_of

        return lifecycles_of(self.plans)

    def tagged(self, frame: pd.DataFrame, *tags: str, column: str = "state") -> pd.Series:
        """True for rows of `frame` (with a `plan` column) whose `column` state carries any of
        `tags` in its plan's lifecycle: `ctx.tagged(acts, "final")` instead of naming states."""
        from cpflow.lifecycle import state_tagged

        return state_tagged(frame["plan"], frame[column], self.lifecycles, *tags)

    @property
    def plans(self) -> pd.DataFrame:
        return self.frames.plans

    @property
    def periods(self) -> pd.DataFrame:
        return self.frames.periods

    @property
    def units(self) -> pd.DataFrame:
        return self.frames.units

    @property
    def outcomes(self) -> pd.DataFrame:
        return self.frames.outcomes

    @property
    def objectives(self) -> pd.DataFrame:
        return self.frames.objectives

    @property
    def activities(self) -> pd.DataFrame:
        return self.frames.activities

    @property
    def events(self) -> pd.DataFrame:
        return self.frames.events

    @property
    def indicators(self) -> pd.DataFrame:
        return self.frames.indicators

    @property
    def measurements(self) -> pd.DataFrame:
        return self.frames.measurements

    @property
    def budgets(self) -> pd.DataFrame:
        return self.frames.budgets

    @property
    def checklist(self) -> pd.DataFrame:
        return self.frames.checklist
