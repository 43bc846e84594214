"""record integrity and plan shape

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Read and written by hand: what issue 11 (activities under several objectives) and issue 13
(a record that proves every table) need from the schema.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _activity_objectives_up()
    _chain_head_guard_up()  # last: a batch operation on SQLite recreates a table and loses its triggers


# The chain head only moves forward, to the last event, with that event's hash (issue 13
# section 5): `UPDATE chain_head SET seq = seq - 1` is refused on both backends. On PostgreSQL
# writers have no UPDATE on chain_head at all; append calls cpflow_advance_head, which runs
# with the owner's rights and is subject to the same guard.
_HEAD_OK = (
    "(NEW.seq = OLD.seq AND NEW.hash = OLD.hash) OR (NEW.id = OLD.id AND NEW.seq > OLD.seq"
    " AND EXISTS (SELECT 1 FROM transition_events e WHERE e.id = NEW.seq AND e.hash = NEW.hash)"
    " AND NOT EXISTS (SELECT 1 FROM transition_events e WHERE e.id > NEW.seq))"
)
_HEAD_REFUSED = "the chain head only moves forward to the last event; it cannot be set by hand"


def _chain_head_guard_up() -> None:
    from cpflow.db import lock_down_history

    if op.get_bind().dialect.name == "postgresql":
        schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar()
        op.execute(
            "CREATE OR REPLACE FUNCTION cpflow_head_guard() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN IF {_HEAD_OK} THEN RETURN NEW; END IF; "
            f"RAISE EXCEPTION '{_HEAD_REFUSED}' USING ERRCODE = 'check_violation'; END $$"
        )
        op.execute(
            "CREATE TRIGGER chain_head_guard BEFORE UPDATE ON chain_head FOR EACH ROW EXECUTE FUNCTION cpflow_head_guard()"
        )
        op.execute(
            "CREATE OR REPLACE FUNCTION cpflow_advance_head(new_seq bigint, new_hash text) RETURNS void "
            f'LANGUAGE sql SECURITY DEFINER SET search_path = "{schema}", pg_temp AS '
            "$$ UPDATE chain_head SET seq = new_seq, hash = new_hash WHERE id = 1 $$"
        )
        lock_down_history(op.get_bind())
    else:
        op.execute(
            f"CREATE TRIGGER chain_head_guard BEFORE UPDATE ON chain_head WHEN NOT ({_HEAD_OK}) "
            f"BEGIN SELECT RAISE(ABORT, '{_HEAD_REFUSED}'); END"
        )


def _activity_objectives_up() -> None:
    """activities.objectives: every objective code an activity contributes to (issue 11),
    the one it sits under (objective_id) first; filled from objective_id for old rows."""
    # plain ALTER TABLE ADD COLUMN on both backends (a batch operation would recreate the table on SQLite)
    op.add_column("activities", sa.Column("objectives", sa.JSON(), nullable=False, server_default="[]"))
    bind = op.get_bind()
    activities = sa.table("activities", sa.column("id"), sa.column("objective_id"), sa.column("objectives", sa.JSON()))
    objectives = sa.table("objectives", sa.column("id"), sa.column("code"))
    rows = bind.execute(
        sa.select(activities.c.id, objectives.c.code).join(objectives, objectives.c.id == activities.c.objective_id)
    ).all()
    if rows:
        bind.execute(
            activities.update().where(activities.c.id == sa.bindparam("b_id")).values(objectives=sa.bindparam("b_objectives")),
            [{"b_id": row.id, "b_objectives": [row.code]} for row in rows],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS cpflow_advance_head(bigint, text)")
        op.execute("DROP FUNCTION IF EXISTS cpflow_head_guard() CASCADE")
    else:
        op.execute("DROP TRIGGER IF EXISTS chain_head_guard")
    # ALTER TABLE DROP COLUMN (SQLite 3.35+): recreating the table would break the foreign keys to it
    op.execute("ALTER TABLE activities DROP COLUMN objectives")
