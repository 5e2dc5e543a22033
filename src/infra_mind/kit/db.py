"""Database engine and sessions (async SQLAlchemy), SQLite or PostgreSQL by URL.

The request (or the job) owns the transaction: ``session_scope`` commits when the
block ends and rolls back on any error; services never commit.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str, pool_size: int = 10, max_overflow: int = 20) -> AsyncEngine:
    """An engine for ``url``. Its errors name the SQL but never its parameters
    (``hide_parameters``): they carry request data (emails, requirements, tokens) and
    would otherwise reach logs in every traceback of a failed statement."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                               pool_pre_ping=True, hide_parameters=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits at the end of the block, or rolls back."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


#: asyncpg's word for a connection the server closed before it was used.
ASYNCPG_CLOSED = "connection is closed"


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc``, or an error that caused it, is a lost database connection (server
    restart, failover, pg_terminate_backend) rather than a failure of the statement: a
    run hands itself back, a request answers 503."""
    # a driver's error can be raised only once the driver is imported: not imported here
    psycopg = sys.modules.get("psycopg")  # the agents' checkpointer
    asyncpg_errors = sys.modules.get("asyncpg.exceptions")
    error: BaseException | None = exc
    for _ in range(10):  # the chain of causes, bounded
        if error is None:
            return False
        if ((isinstance(error, DBAPIError) and error.connection_invalidated)
                or isinstance(error, ConnectionError)
                or (psycopg is not None and isinstance(error, psycopg.OperationalError))
                # terminated while the pool was still setting a new connection up (its
                # JSON codec): nothing marks that one invalidated, it was never handed out
                or (asyncpg_errors is not None
                    and isinstance(error, asyncpg_errors.InterfaceError)
                    and str(error) == ASYNCPG_CLOSED)):
            return True
        error = error.__cause__ or error.__context__
    return False
