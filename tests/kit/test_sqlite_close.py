"""A SQLite connection force-closed while a graceful close is under way still closes.

A fresh-clone CI run hung for good tearing down a test's event loop: the one task left
was SQLAlchemy's graceful close of an aiosqlite connection, waiting on a request the
connection's thread would never read. aiosqlite 0.22 queues a stop request on ``stop``
and again in ``close``'s ``finally``; when the first is queued before the second (a
force-close while the graceful close waits), the thread ends on the first.

Here the order is forced: the connection's thread is held inside a query (a Python
function SQLite calls), ``stop`` is called, then ``close``; then the thread is let go.
"""

from __future__ import annotations

import asyncio
import threading

import aiosqlite
import pytest

from infra_mind.kit.db import _sqlite_connector


async def _close_after_stop(connection, timeout_s: float = 5) -> None:
    held, release = threading.Event(), threading.Event()

    def hold() -> int:
        held.set()
        release.wait(10)
        return 1

    await connection.create_function("hold", 0, hold)
    query = asyncio.ensure_future(connection.execute("select hold()"))
    await asyncio.to_thread(held.wait, 10)
    connection.stop()  # a force-close: the thread will end on this request
    closing = asyncio.ensure_future(connection.close())  # the graceful close, meanwhile
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(query, return_exceptions=True)
    with pytest.raises(ValueError):  # aiosqlite says the connection was closed; no hang
        await asyncio.wait_for(closing, timeout=timeout_s)


async def test_the_engines_sqlite_connection_closes_after_a_force_close(tmp_path):
    connection = await _sqlite_connector(f"sqlite+aiosqlite:///{tmp_path}/t.db")()
    await _close_after_stop(connection)
    # the thread answers the close, then returns: it ends just after, not before
    await asyncio.to_thread(connection._thread.join, 5)
    assert not connection._thread.is_alive()


async def test_plain_aiosqlite_waits_for_ever_in_the_same_order(tmp_path):
    # the library as it is: why the engine does not use its connection as it is
    connection = aiosqlite.connect(tmp_path / "t.db")
    connection._thread.daemon = True  # as SQLAlchemy's dialect sets it
    await connection
    with pytest.raises(TimeoutError):
        await _close_after_stop(connection, timeout_s=1)
