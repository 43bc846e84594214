"""Alembic, driven from inside the package so an installed cpflow needs no checkout."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("cpflow") / "migrations"))
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Bring the schema on `connection` to `revision` (default: the newest)."""
    command.upgrade(alembic_config(connection), revision)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # only an install without cpflow/migrations/versions has no head
        raise RuntimeError("cpflow's migrations have no head revision")
    return head
