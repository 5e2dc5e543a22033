"""Two processes opening the agents' PostgreSQL checkpointer at once on a fresh database.

Every worker opens it as it starts (``worker.tasks.warm_up``; an API process running runs
itself, on its first run), through ``AgentRuntime.checkpointer`` -> ``open_checkpointer``,
which creates langgraph's tables under an advisory lock (``SETUP_LOCK``). The test holds
that lock while two processes start opening, and releases it once both are connected and
asking for it: whichever gets it runs langgraph's migrations, including ``CREATE INDEX
CONCURRENTLY``, which waits for every transaction with an older snapshot. A process blocked
in ``SELECT pg_advisory_lock(...)`` is such a transaction, and it waits for the lock held
by the first process's other pool connection: both hung for ever (PostgreSQL cannot see a
cycle that goes through the client). Both must open within ``OPEN_TIMEOUT_S``.

Skips when PostgreSQL ($INFRA_MIND_TEST_PG) is unreachable, unless
INFRA_MIND_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from infra_mind.agents.runtime import SETUP_LOCK
from tests.integration.procs import (
    Proc,
    create_pg_database,
    drop_pg_database,
    logs_on_failure,
    unavailable,
)

OPEN_TIMEOUT_S = 10.0
OPEN = """
import asyncio, contextlib, sys
from infra_mind.agents.runtime import open_checkpointer

async def main():
    async with contextlib.AsyncExitStack() as stack:
        await open_checkpointer(sys.argv[1], stack)
    print("opened", flush=True)

asyncio.run(main())
"""


@pytest.fixture()
def pg_url() -> Iterator[str]:
    try:
        name, url = create_pg_database("im_ckpt")
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
    try:
        yield url.replace("postgresql+asyncpg://", "postgresql://")
    finally:
        drop_pg_database(name)


def _opener(name: str, url: str, log_dir: Path) -> Proc:
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen([sys.executable, "-c", OPEN, url], stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Proc(name=name, popen=popen, log=log)


async def test_two_processes_open_the_checkpointer_at_once(pg_url: str, tmp_path: Path):
    holder = await asyncpg.connect(pg_url, timeout=5)
    openers: list[Proc] = []
    try:
        await holder.execute(f"SELECT pg_advisory_lock({SETUP_LOCK})")
        openers = [_opener(f"opener{i}", pg_url, tmp_path) for i in (1, 2)]
        with logs_on_failure(openers):
            await _wait_connected(holder, len(openers))
            await holder.execute(f"SELECT pg_advisory_unlock({SETUP_LOCK})")
            deadline = time.monotonic() + OPEN_TIMEOUT_S
            while any(p.popen.poll() is None for p in openers) and \
                    time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            stuck = await holder.fetch(
                "SELECT wait_event, left(query, 80) AS query FROM pg_stat_activity "
                "WHERE datname = current_database() AND state = 'active' "
                "AND pid <> pg_backend_pid()")
            codes = [p.popen.poll() for p in openers]
            assert codes == [0, 0], (f"exit codes {codes} after {OPEN_TIMEOUT_S} s; "
                                     f"waiting: {[dict(r) for r in stuck]}")
            assert await holder.fetchval("SELECT to_regclass('checkpoint_writes') IS NOT NULL")
    finally:
        for proc in openers:
            proc.kill()
        await holder.close()


async def _wait_connected(conn: asyncpg.Connection, n: int, timeout_s: float = 60.0) -> None:
    """Until ``n`` other clients are connected to the database, and a second more (they
    ask for the setup lock right after connecting)."""
    deadline = time.monotonic() + timeout_s
    while True:
        connected = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
        if connected >= n:
            await asyncio.sleep(1.0)
            return
        assert time.monotonic() < deadline, f"{connected} of {n} openers connected"
        await asyncio.sleep(0.1)
