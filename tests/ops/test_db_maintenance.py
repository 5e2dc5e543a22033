"""``infra-mind db-status`` and ``infra-mind db-maintain`` on a real PostgreSQL (a database
created per test) and on SQLite.

The PostgreSQL database is migrated and given real bloat: 100,000 audit events inserted
(newest first, as a busy week writes them in reverse of their index order) and 90% of them
deleted, with autovacuum off on that table so that nothing tidies it behind the test's
back. db-status must see the dead rows and the loose indexes, a query running past the
threshold (with its literals hidden), and no replication; db-maintain --dry-run must
change nothing, and db-maintain must vacuum and rebuild exactly the loose indexes, which
then take a fraction of the space. A reindex that cannot finish (an old snapshot holds it
past the lock timeout) fails in one line and leaves no invalid index behind.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator

import asyncpg
import psycopg
import pytest

from infra_mind.cli.main import main
from infra_mind.kit.migrate import upgrade
from tests.integration.procs import create_pg_database, drop_pg_database, unavailable

AUDIT_INDEXES = {"audit_events_pkey", "ix_audit_action_created", "ix_audit_org_created",
                 "ix_audit_created"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    for name in ("CONFIG_DIR", "ENVIRONMENT", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def bloated(monkeypatch) -> Iterator[str]:
    """A migrated PostgreSQL database whose audit_events table and indexes are 90% loose;
    DATABASE_URL points at it. Yields the plain (libpq) URL."""
    try:
        name, url = create_pg_database("im_dbmaint")
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
    try:
        upgrade(url)
        plain = url.replace("+asyncpg", "")
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("ALTER TABLE audit_events SET (autovacuum_enabled = false)")
            conn.execute("INSERT INTO audit_events (id, action, detail, created_at) "
                         "SELECT gen_random_uuid()::text, 'user.login', '{\"k\": 1}'::json, "
                         "now() - make_interval(secs => g) FROM generate_series(1, 100000) g")
            conn.execute("DELETE FROM audit_events WHERE random() < 0.9")
            conn.execute("ANALYZE audit_events")
        monkeypatch.setenv("DATABASE_URL", url)
        yield plain
    finally:
        drop_pg_database(name)


def sizes(plain: str) -> dict[str, int]:
    with psycopg.connect(plain) as conn:
        rows = conn.execute("SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c "
                            "WHERE c.relname = ANY(%s)", (sorted(AUDIT_INDEXES),)).fetchall()
    return dict(rows)


def dead_rows(plain: str) -> int:
    with psycopg.connect(plain) as conn:
        return conn.execute("SELECT n_dead_tup FROM pg_stat_user_tables "
                            "WHERE relname = 'audit_events'").fetchone()[0]


def index_lines(out: str) -> set[str]:
    return set(re.findall(r"^  (\S+) on audit_events: ", out, re.MULTILINE))


# -- db-status ------------------------------------------------------------------------------

@pytest.fixture()
def long_query(bloated) -> Iterator[int]:
    """A query with a secret-looking literal, running in another session until cancelled,
    seen by the database as running for over half a second: its pid."""
    conn = psycopg.connect(bloated, autocommit=True, application_name="long-query-test")
    pid = conn.info.backend_pid
    worker = threading.Thread(target=lambda: _sleep(conn), daemon=True)
    worker.start()
    with psycopg.connect(bloated, autocommit=True) as watcher:
        for _ in range(600):  # the database's own clock decides, not the test's
            found = watcher.execute(
                "SELECT now() - query_start > interval '0.5 s' FROM pg_stat_activity "
                "WHERE pid = %s AND state = 'active' AND query LIKE '%%pg_sleep%%'",
                (pid,)).fetchone()
            if found and found[0]:
                break
            watcher.execute("SELECT pg_sleep(0.05)")
        else:
            pytest.fail("the long query never showed up in pg_stat_activity")
        try:
            yield pid
        finally:
            watcher.execute("SELECT pg_cancel_backend(%s)", (pid,))
            worker.join(timeout=10)
            conn.close()


def _sleep(conn: psycopg.Connection) -> None:
    with contextlib.suppress(psycopg.errors.QueryCanceled):  # the fixture cancels it
        conn.execute("SELECT pg_sleep(60), 'password=hunter2-secret' AS note")


def test_db_status_sees_connections_long_queries_bloat_and_no_replication(
        bloated, long_query, capsys):
    code, out, err = run(capsys, "db-status", "--long-query-s", "0.5")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("database postgresql+asyncpg://postgres@")
    assert "PostgreSQL 15" in lines[0] or "PostgreSQL 1" in lines[0]
    assert re.match(r"connections: \d+ on the server \(max_connections \d+\); this "
                    r"database: .*active \d", lines[1]), lines[1]
    assert lines[2] == "queries and transactions running over 0.5 s: 1"
    [query] = [line for line in lines if line.startswith(f"  pid {long_query} ")]
    assert "app long-query-test" in query and "pg_sleep(60), '…' AS note" in query
    assert "hunter2" not in out

    [audit] = [line for line in lines if line.startswith("  audit_events ")]
    rows, dead = (int(n) for n in audit.split()[1:3])
    assert 5_000 < rows < 15_000 and dead > 80_000  # about 10,000 and 90,000
    assert re.search(r" (8\d|9\d)% ", audit), audit  # most of the table is spare
    assert index_lines(out) == AUDIT_INDEXES
    assert "invalid indexes: none" in lines
    assert ("replication: none (no replica streams from this server, and it is not a "
            "replica)") in lines

    code, out, _ = run(capsys, "db-status", "--json", "--long-query-s", "0.5")
    assert code == 0
    document = json.loads(out)
    assert [q["pid"] for q in document["long_queries"]] == [long_query]
    loose = {i["name"] for i in document["indexes"] if (i["bloat"]["ratio"] or 0) >= 0.5}
    assert loose == AUDIT_INDEXES


def test_an_inactive_replication_slot_is_named(bloated, capsys):
    slot = f"im_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(bloated, autocommit=True) as conn:
        conn.execute("SELECT pg_create_physical_replication_slot(%s, true)", (slot,))
        try:
            code, out, _ = run(capsys, "db-status")
        finally:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
    assert code == 0
    [line] = [line for line in out.splitlines() if slot in line]
    assert re.fullmatch(rf"  {slot} \(physical, INACTIVE\): holds \d+(\.\d)? \w+ of WAL "
                        r"\(an inactive slot keeps WAL for ever: drop it if its consumer is "
                        r"gone\)", line), line


# -- db-maintain ------------------------------------------------------------------------------

def test_dry_run_changes_nothing_and_maintain_rebuilds_the_loose_indexes(bloated, capsys):
    before, dead = sizes(bloated), dead_rows(bloated)
    assert dead > 80_000
    code, out, err = run(capsys, "db-maintain", "--dry-run")
    assert code == 0, err
    planned = set(re.findall(r"^would run: REINDEX INDEX CONCURRENTLY public\.(\S+)  ",
                             out, re.MULTILINE))
    assert planned == AUDIT_INDEXES
    assert "would run: VACUUM (ANALYZE) public.audit_events" in out
    assert out.splitlines()[-1].endswith("nothing was changed")
    assert sizes(bloated) == before and dead_rows(bloated) == dead

    code, out, err = run(capsys, "db-maintain")
    assert code == 0, err
    assert re.search(r"^  ok  VACUUM \(ANALYZE\) public\.audit_events  \d", out, re.MULTILINE)
    rebuilt = set(re.findall(r"^  ok  REINDEX INDEX CONCURRENTLY public\.(\S+)  ", out,
                             re.MULTILINE))
    assert rebuilt == AUDIT_INDEXES
    after = sizes(bloated)
    for name in AUDIT_INDEXES:
        assert after[name] < before[name] / 4, (name, before[name], after[name])
    assert dead_rows(bloated) == 0
    assert re.fullmatch(r"db-maintain on \S+: \d+ statement\(s\) in \d+\.\d s; 4 index\(es\) "
                        r"rebuilt, \S+ \w+ -> \S+ \w+", out.splitlines()[-1])

    code, out, _ = run(capsys, "db-status")
    assert code == 0 and index_lines(out) == set()
    assert re.search(r"^indexes at 50% estimated bloat or more and 1\.0 MiB or more: none of "
                     r"\d+$", out, re.MULTILINE)
    code, out, _ = run(capsys, "db-maintain", "--dry-run")
    assert "REINDEX" not in out  # nothing left to rebuild


def test_a_reindex_held_past_the_lock_timeout_fails_and_leaves_no_invalid_index(
        bloated, capsys):
    # an open REPEATABLE READ transaction: a concurrent reindex waits for its snapshot
    with psycopg.connect(bloated) as blocker:
        blocker.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        blocker.execute("SELECT count(*) FROM users").fetchone()
        code, out, err = run(capsys, "db-maintain", "--lock-timeout-s", "1")
        blocker.rollback()
    assert code == 1
    [line] = err.splitlines()
    assert re.fullmatch(r"error: 4 of \d+ statement\(s\) failed, first: REINDEX INDEX "
                        r"CONCURRENTLY public\.\S+: LockNotAvailableError: canceling statement "
                        r"due to lock timeout", line), line
    dropped = set(re.findall(r"^dropped (\S+)_ccnew, the invalid index", out, re.MULTILINE))
    assert dropped == AUDIT_INDEXES
    with psycopg.connect(bloated) as conn:
        invalid = conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid"
                               ).fetchone()[0]
    assert invalid == 0
    code, out, _ = run(capsys, "db-status")
    assert "invalid indexes: none" in out.splitlines()


def test_an_unreachable_database_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    for command in ("db-status", "db-maintain"):
        code, out, err = run(capsys, command)
        assert code == 1 and out == ""
        [line] = err.splitlines()
        assert line.startswith(f"error: cannot {'read' if command == 'db-status' else 'maintain'}"
                               " postgresql+asyncpg://postgres@127.0.0.1:1/none: ")


# -- SQLite ---------------------------------------------------------------------------------

def test_sqlite_status_and_maintenance(tmp_path, capsys, monkeypatch, migrated_sqlite):
    database = tmp_path / "shop.db"
    url = migrated_sqlite(database)
    with sqlite3.connect(database) as conn:
        conn.executemany("INSERT INTO audit_events (id, action, detail, created_at) "
                         "VALUES (?, 'user.login', '{}', '2026-01-01 00:00:00')",
                         [(str(uuid.uuid4()),) for _ in range(20_000)])
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM audit_events")
    checkpoints = tmp_path / "shop.checkpoints.db"
    with sqlite3.connect(checkpoints) as conn:
        conn.execute("CREATE TABLE checkpoints (thread_id TEXT)")
    monkeypatch.setenv("DATABASE_URL", url)
    with sqlite3.connect(database) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]

    code, out, err = run(capsys, "db-status")
    assert code == 0, err
    free = int(re.search(r"^free pages: (\d+) ", out, re.MULTILINE).group(1))
    assert free > 100
    assert f"agent checkpoints: {checkpoints}" in out
    assert "not on SQLite: connections, long queries" in out
    size = database.stat().st_size

    code, out, err = run(capsys, "db-maintain", "--dry-run")
    assert code == 0, err
    assert out.splitlines()[:4] == [
        "would run: ANALYZE  (shop.db (database): fresh statistics)",
        f"would run: VACUUM  (shop.db (database): rewritten without its free pages "
        f"({free * page_size} bytes))",
        "would run: ANALYZE  (shop.checkpoints.db (agent checkpoints): fresh statistics)",
        "would run: VACUUM  (shop.checkpoints.db (agent checkpoints): rewritten without its "
        "free pages (0 bytes))"]
    assert database.stat().st_size == size

    code, out, err = run(capsys, "db-maintain")
    assert code == 0, err
    assert re.search(r"^  ok  VACUUM  \S+ \w+ -> \S+ \w+  ", out, re.MULTILINE)
    assert database.stat().st_size < size / 2
    code, out, _ = run(capsys, "db-status")
    assert re.search(r"^free pages: 0 ", out, re.MULTILINE)
