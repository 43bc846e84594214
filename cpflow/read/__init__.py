"""The read model: lookups, listings, frames and state replay.

Everything that reads a plan without changing it lives here; the write side
(`cpflow.services`) uses it, never the reverse. Nothing here imports the plan-file schema,
pydantic, YAML or the services.
"""
