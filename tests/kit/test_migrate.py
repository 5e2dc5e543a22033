"""Migrations: the same revisions on SQLite and PostgreSQL, and no race between two
processes migrating one empty PostgreSQL database."""

import subprocess
import sys

import pytest

from infra_mind.kit.migrate import state, upgrade
from tests.platform_fixtures import fresh_pg_database


def test_sqlite_migrates_once(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/m.db"
    assert state(url).pending[0] == "0001" and state(url).pending[-1] == state(url).head
    upgrade(url)
    upgrade(url)
    assert state(url).current == state(url).head and state(url).pending == []


@pytest.fixture()
def empty_pg():
    with fresh_pg_database("im_mig") as url:
        yield url


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


def test_pool_size_comes_from_settings(monkeypatch):
    from infra_mind.config import load_settings
    from infra_mind.kit.platform import Platform

    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "7")
    cfg = load_settings(environment="development",
                        database_url="postgresql+asyncpg://u@127.0.0.1:5432/x")
    platform = Platform.build(cfg)
    assert platform.engine.pool.size() == 3
    assert platform.engine.pool._max_overflow == 7


def test_sqlite_migration_keeps_rows_that_reference_a_rebuilt_table(tmp_path):
    """Batch migrations rebuild tables on SQLite (copy, drop, rename): with foreign keys
    on, the drop cascaded deletes into memberships and refresh tokens."""
    import sqlite3

    from alembic import command

    from infra_mind.kit.migrate import alembic_config

    path = tmp_path / "m.db"
    url = f"sqlite+aiosqlite:///{path}"
    command.upgrade(alembic_config(url), "0002")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO organizations (id, name, created_at) VALUES ('o', 'Org', "
                   "'2026-11-28 00:00:00')")
        db.execute("INSERT INTO users (id, email, password_hash, full_name, is_active, "
                   "created_at) VALUES ('u', 'a@example.com', 'x', 'A', 1, "
                   "'2026-11-28 00:00:00')")
        db.execute("INSERT INTO memberships (id, user_id, organization_id, role, created_at) "
                   "VALUES ('m', 'u', 'o', 'owner', '2026-11-28 00:00:00')")
    upgrade(url)
    assert state(url).pending == []
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM memberships").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM users").fetchone() == (1,)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
