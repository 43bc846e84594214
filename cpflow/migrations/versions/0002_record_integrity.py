"""record integrity and plan shape

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Read and written by hand: what issue 11 (activities under several objectives) and issue 13
(a record that proves every table) need from the schema.
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
