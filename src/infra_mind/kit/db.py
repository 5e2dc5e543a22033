"""Database engine and sessions (async SQLAlchemy), SQLite or PostgreSQL by URL.

The request (or the job) owns the transaction: ``session_scope`` commits when the
block ends and rolls back on any error; services never commit.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import cache, partial
from pathlib import Path
from typing import Any

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
        engine = create_async_engine(url, async_creator=_sqlite_connector(url),
                                     hide_parameters=True)

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


def _sqlite_connector(url: str) -> Callable[[], Awaitable[Any]]:
    """How the engine opens a SQLite connection: as SQLAlchemy's aiosqlite dialect does
    (its connect arguments for ``url``, a 30-s busy timeout, a daemon thread), with a
    connection that stops its thread once (``_StopsOnce``)."""
    import sqlite3

    from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
    from sqlalchemy.engine import make_url

    args, params = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    params = {**params, "timeout": 30}

    async def connect() -> Any:
        connection = _stops_once()(partial(sqlite3.connect, *args, **params), 64)
        connection._thread.daemon = True  # as the dialect does: never holds the exit up
        return await connection

    return connect


@cache
def _stops_once() -> type:
    """aiosqlite's connection, stopped at most once.

    aiosqlite 0.22's ``stop`` queues a request its thread ends on; ``close`` calls
    ``stop`` again in its ``finally``. When SQLAlchemy force-closes a connection
    (``stop``) while a graceful close of it is under way, which it does when the task
    closing it is cancelled, the second request is queued behind the first, the thread
    ends on the first, and ``close`` waits for ever on the second: a test's event loop
    hung that way in CI, tearing down. A second ``stop`` here asks nothing more of a
    thread that is already ending."""
    import aiosqlite

    class StopsOnce(aiosqlite.Connection):
        def stop(self) -> Any:
            if not self._running:  # stopping already: the thread ends on that request
                return None
            return super().stop()

    return StopsOnce


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
