"""activity digests: what reads compare the activities they fetch with

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Written by hand from cpflow.models (issue 13): one new table. The digests of a database
upgraded to it are recorded by `cpflow init` after the migration (cpflow.db._upgrade).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cache_digests",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("tbl", sa.String(length=40), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.PrimaryKeyConstraint("plan_id", "tbl"),
    )


def downgrade() -> None:
    op.drop_table("cache_digests")
