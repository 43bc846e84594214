"""Alembic environment: runs on the connection cpflow hands over (see cpflow.migrate)."""

from alembic import context

from cpflow.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("cpflow migrations run through `cpflow init`, which supplies the connection")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
