"""``infra-mind db-maintain``: the operations guide's monthly MongoDB ``compact`` and
``reIndex``, for our databases, without stopping the application.

PostgreSQL: ``VACUUM (ANALYZE)`` on every table of the schema (dead rows become reusable
space, the planner's statistics are fresh), then ``REINDEX INDEX CONCURRENTLY`` on each
valid B-tree index whose estimated bloat (``ops.db_status``, from those fresh statistics)
is at least the threshold and whose size is at least the minimum. Neither blocks reads or
writes: VACUUM takes a lock only other maintenance conflicts with, and a concurrent
reindex builds the new index beside the old one and swaps them. Each statement waits at
most ``lock_timeout_s`` for its locks. A concurrent reindex that fails leaves its new
index behind, invalid, as ``<index>_ccnew``: it is dropped at once (``DROP INDEX
CONCURRENTLY``) so it does not slow every write. Not done: ``VACUUM FULL`` (it returns a
table's spare pages to the disk, but locks the table out for the whole rewrite); the
status shows that spare space, which new rows reuse.

SQLite: ``ANALYZE`` and ``VACUUM`` (the file rewritten without its free pages, then a
``wal_checkpoint(TRUNCATE)`` so the space leaves the write-ahead log too), for the database
and the agents' checkpoint file beside it. VACUUM needs a moment with no other writer; it
waits up to 30 s, then says the database is busy.

``--dry-run`` says what would be run and changes nothing. On PostgreSQL its index list
comes from the statistics as they are; a real run analyzes first, so its list can differ.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from infra_mind.kit.db import make_engine
from infra_mind.ops.db_status import (
    DatabaseUnavailable,
    IndexState,
    column_stats,
    one_line,
    read_indexes,
    sqlite_path,
)
from infra_mind.ops.tables import redact

#: An index is rebuilt when its estimated bloat is at least this share of its size (half:
#: the index is twice what its entries need) ...
DEFAULT_BLOAT_THRESHOLD = 0.5
#: ... and it is at least this big (a small index costs little however loose it is).
DEFAULT_MIN_INDEX_BYTES = 1 << 20
DEFAULT_LOCK_TIMEOUT_S = 60.0


@dataclass
class Action:
    """One statement: run (``seconds`` set) or, in a dry run, planned."""

    statement: str
    why: str = ""
    seconds: float | None = None
    error: str | None = None
    #: for a reindex: the index's size before and after
    size_before: int | None = None
    size_after: int | None = None


@dataclass
class MaintainReport:
    database: str
    dry_run: bool
    actions: list[Action] = field(default_factory=list)
    #: why each of the other indexes was left alone, for invalid ones (one line each)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Action]:
        return [a for a in self.actions if a.error is not None]


Echo = Callable[[Action], None]


async def _run(conn: AsyncConnection, action: Action, report: MaintainReport,
               echo: Echo | None) -> bool:
    """Run one statement unless this is a dry run; record and echo the outcome."""
    report.actions.append(action)
    if not report.dry_run:
        started = time.perf_counter()
        try:
            await conn.exec_driver_sql(action.statement)
        except sa.exc.DBAPIError as exc:
            action.error = one_line(exc)
        action.seconds = time.perf_counter() - started
    if echo is not None:
        echo(action)
    return action.error is None


async def _indexes_to_rebuild(conn: AsyncConnection, threshold: float, min_bytes: int
                              ) -> tuple[list[IndexState], list[IndexState]]:
    block_size = int(await conn.scalar(sa.text("SELECT current_setting('block_size')")))
    indexes = await read_indexes(conn, block_size, await column_stats(conn))
    return ([i for i in indexes if i.over(threshold, min_bytes)],
            [i for i in indexes if not i.valid])


async def _pg_maintain(conn: AsyncConnection, report: MaintainReport, threshold: float,
                       min_bytes: int, lock_timeout_s: float, echo: Echo | None) -> None:
    quote = conn.dialect.identifier_preparer.quote
    schema = await conn.scalar(sa.text("SELECT current_schema()"))
    await conn.exec_driver_sql(f"SET lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
    tables = (await conn.execute(sa.text(
        "SELECT relname FROM pg_class WHERE relkind = 'r' "
        "AND relnamespace = current_schema()::regnamespace ORDER BY relname"))).scalars().all()
    for table in tables:
        await _run(conn, Action(f"VACUUM (ANALYZE) {quote(schema)}.{quote(table)}"),
                   report, echo)
    bloated, invalid = await _indexes_to_rebuild(conn, threshold, min_bytes)
    for index in invalid:
        report.notes.append(f"index {index.name} on {index.table} is invalid (a CREATE or "
                            "REINDEX CONCURRENTLY that failed): left alone; drop it with "
                            f"DROP INDEX CONCURRENTLY {quote(schema)}.{quote(index.name)} "
                            "or rebuild it with REINDEX")
    for index in bloated:
        name = f"{quote(schema)}.{quote(index.name)}"
        action = Action(f"REINDEX INDEX CONCURRENTLY {name}",
                        why=f"estimated bloat {index.bloat.ratio:.0%}",
                        size_before=index.bloat.size_bytes)
        ok = await _run(conn, action, report, None)
        if not report.dry_run:
            if ok:
                action.size_after = int(await conn.scalar(
                    sa.text("SELECT pg_relation_size(CAST(:i AS regclass))"), {"i": name}))
            else:
                await _drop_leftover(conn, schema, index.name, report)
        if echo is not None:
            echo(action)


async def _drop_leftover(conn: AsyncConnection, schema: str, index: str,
                         report: MaintainReport) -> None:
    """Drop the invalid ``<index>_ccnew*`` a failed concurrent reindex leaves behind."""
    quote = conn.dialect.identifier_preparer.quote
    leftovers = (await conn.execute(sa.text(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE NOT i.indisvalid AND c.relnamespace = current_schema()::regnamespace "
        "AND c.relname LIKE :pattern"), {"pattern": f"{index}\\_ccnew%"})).scalars().all()
    for leftover in leftovers:
        statement = f"DROP INDEX CONCURRENTLY IF EXISTS {quote(schema)}.{quote(leftover)}"
        try:
            await conn.exec_driver_sql(statement)
            report.notes.append(f"dropped {leftover}, the invalid index the failed reindex of "
                                f"{index} left behind")
        except sa.exc.DBAPIError as exc:
            report.notes.append(f"could not drop {leftover} (left by the failed reindex of "
                                f"{index}): {one_line(exc)}; run {statement}")


async def pg_maintain(url: str, *, dry_run: bool, threshold: float = DEFAULT_BLOAT_THRESHOLD,
                      min_bytes: int = DEFAULT_MIN_INDEX_BYTES,
                      lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
                      echo: Echo | None = None) -> MaintainReport:
    report = MaintainReport(redact(url), dry_run)
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            # VACUUM and REINDEX CONCURRENTLY cannot run inside a transaction block
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await _pg_maintain(conn, report, threshold, min_bytes, lock_timeout_s, echo)
    except (OSError, sa.exc.DBAPIError) as exc:
        raise DatabaseUnavailable(f"cannot maintain {redact(url)}: {one_line(exc)}") from None
    finally:
        await engine.dispose()
    return report


# -- SQLite -----------------------------------------------------------------------------------

def _sqlite_file(path: Path, label: str, report: MaintainReport, echo: Echo | None) -> None:
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(f"cannot open {path}: {exc}") from None
    try:
        free = conn.execute("PRAGMA freelist_count").fetchone()[0] \
            * conn.execute("PRAGMA page_size").fetchone()[0]
        for statement, why in (("ANALYZE", f"{path.name} ({label}): fresh statistics"),
                               ("VACUUM", f"{path.name} ({label}): rewritten without its "
                                          f"free pages ({free} bytes)")):
            action = Action(statement, why=why, size_before=path.stat().st_size)
            report.actions.append(action)
            if not report.dry_run:
                started = time.perf_counter()
                try:
                    conn.execute(statement)  # one statement, no parameters
                    if statement == "VACUUM":
                        # in WAL mode the rewritten pages are in the log: copy them into
                        # the file and truncate both, or the disk space stays taken
                        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error as exc:
                    action.error = f"{exc}" + (" (the application is writing: try again, "
                                               "or stop it first)" if "locked" in str(exc)
                                               else "")
                action.seconds = time.perf_counter() - started
                action.size_after = path.stat().st_size
            if echo is not None:
                echo(action)
    finally:
        conn.close()


def sqlite_maintain(url: str, *, dry_run: bool, echo: Echo | None = None) -> MaintainReport:
    path = sqlite_path(url)
    if path is None:
        raise DatabaseUnavailable("an in-memory SQLite database has nothing to maintain")
    if not path.is_file():
        raise DatabaseUnavailable(f"{redact(url)}: no such file {path}")
    report = MaintainReport(redact(url), dry_run)
    _sqlite_file(path, "database", report, echo)
    checkpoints = path.with_name(path.stem + ".checkpoints.db")
    if checkpoints.is_file():
        _sqlite_file(checkpoints, "agent checkpoints", report, echo)
    return report
