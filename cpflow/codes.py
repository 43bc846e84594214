"""The shape of a rule code (`T101`, `G401`, `H101`), shared by the rules that own the codes
and the plan files that name them."""

from __future__ import annotations

import re

CODE_PATTERN = re.compile(r"[A-Z]{1,3}[0-9]{3}")
# A finding's severity, most severe first: the one list rules, reports and plan files use.
SEVERITIES = ("error", "warning", "info")
