"""cpflow's rules layer: `Rule`, `Option`, `Finding`, `findings` (see `base`), the engine
(`engine.run_checks`) and the built-in packs (timeline, indicators, funding, governance,
coverage). Importing this package does not import pandas."""

from cpflow.rules.base import FINAL_STATES, SEVERITIES, Finding, Option, Rule, amount, findings, iso, number, percent

__all__ = ["FINAL_STATES", "SEVERITIES", "Finding", "Option", "Rule", "amount", "findings", "iso", "number", "percent"]
