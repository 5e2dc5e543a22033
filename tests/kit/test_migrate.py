"""Migrations: the same revisions on SQLite and PostgreSQL, and no race between two
processes migrating one empty PostgreSQL database."""

import asyncio
import subprocess
import sys
import uuid

import asyncpg
import pytest

from infra_mind.kit.migrate import state, upgrade
from tests.platform_fixtures import PG_ADMIN, _unavailable


def test_sqlite_migrates_once(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/m.db"
    assert state(url).pending == [state(url).head]
    upgrade(url)
    upgrade(url)
    assert state(url).current == state(url).head and state(url).pending == []


@pytest.fixture()
def empty_pg():
    name = f"im_mig_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable("PostgreSQL", exc)
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_concurrent_migrations_do_not_race(empty_pg):
    # three `infra-mind serve` starting together on an empty database (processes:
    # alembic's context is per process)
    code = "import sys; from infra_mind.kit.migrate import upgrade; upgrade(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, empty_pg], stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
    assert state(empty_pg).pending == []
