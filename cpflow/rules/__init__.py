"""cpflow's rules layer: `Rule`, `Option`, `Finding`, `findings` (see `base`), the engine
(`engine.run_checks`) and the built-in packs (timeline, indicators, funding, governance,
coverage). Importing this package does not import pandas."""

from cpflow.rules.base import (
    IMPORT_TRIGGER,
    SEVERITIES,
    Finding,
    Option,
    Rule,
    amount,
    findings,
    iso,
    missing_rows,
    number,
    percent,
)

__all__ = [
    "IMPORT_TRIGGER",
    "SEVERITIES",
    "Finding",
    "Option",
    "Rule",
    "amount",
    "findings",
    "iso",
    "missing_rows",
    "number",
    "percent",
]
