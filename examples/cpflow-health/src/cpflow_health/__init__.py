"""cpflow-health: a cpflow plugin for health-sector actions (rule H101, a completion guard)."""

__version__ = "0.1.0"
