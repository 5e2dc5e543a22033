"""A real PostgreSQL failure for a test: a statement made to wait on a row lock, and its
backend terminated (``pg_terminate_backend``), as a failover or an operator would."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest


def pg_url_of(app) -> str:
    settings = app.state.platform.settings
    if settings.is_sqlite:
        pytest.skip("a PostgreSQL failure")
    return settings.database_url.replace("+asyncpg", "")


async def kill_backend_waiting_on_a_lock(pg: str, timeout_s: float = 10.0) -> int:
    """Terminate the backend of our database that waits on a row lock; its pid."""
    admin = await asyncpg.connect(pg, timeout=5)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            pid = await admin.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() LIMIT 1")
            if pid is not None:
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
                return pid
            assert time.monotonic() < deadline, "no statement came to wait on the lock"
            await asyncio.sleep(0.02)
    finally:
        await admin.close()


async def lock_row(pg: str, aid: str) -> asyncpg.Connection:
    locker = await asyncpg.connect(pg, timeout=5)
    await locker.execute("BEGIN")
    await locker.execute("SELECT 1 FROM assessments WHERE id = $1 FOR UPDATE", aid)
    return locker
