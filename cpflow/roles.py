"""The roles a person holds in a plan, defined once: who decides what the record says, who
submits updates for them to decide, who only reads."""

from __future__ import annotations

ROLES = ("lead", "co-lead", "member", "reviewer")
DECIDERS = frozenset({"lead", "co-lead"})  # record directly, approve and return submissions
SUBMITTERS = frozenset({"member", "lead", "co-lead"})  # may submit an update (a reviewer may not)
