"""Alembic environment: runs migrations on the async engine named in the config."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from infra_mind.kit.db import make_engine
from infra_mind.models import Base

config = context.config
target_metadata = Base.metadata


#: Any fixed number: every process migrating one PostgreSQL database takes this lock, so
#: two `infra-mind serve` starting together on an empty database do not race.
MIGRATION_LOCK_ID = 0x1F0A_3D11


class ForeignKeysBroken(RuntimeError):
    """A migration left rows whose foreign keys point nowhere (nothing was committed)."""


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration rebuilds a table: copy, drop the old one, rename. With foreign
        # keys on (every connection of ours turns them on), dropping the old table cascades
        # deletes into every table that references it. Off for the migration (a pragma is
        # ignored inside a transaction, so before it), then checked before the commit.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=sqlite, compare_type=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # held to the end of the transaction; the second process then finds the
            # migrations applied and has nothing to do
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise ForeignKeysBroken(
                    f"{len(broken)} row(s) with a dangling foreign key after migrating, "
                    f"e.g. table {broken[0][0]} row {broken[0][1]} -> {broken[0][2]}")
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


async def _online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_online())
