"""``infra-mind db-status``: what the operations guide's MongoDB diagnostics (``currentOp``,
``rs.status()``, the connection log, ``df``) tell an operator, for our databases.

PostgreSQL: connections by state, queries and transactions running longer than a
threshold, each table's live and dead rows and each table's and index's estimated bloat,
indexes left invalid, replication (the replicas streaming from this server, or this
server's lag behind its primary) and replication slots holding WAL back. SQLite: the file,
its pages and free pages, the journal mode, and the agents' checkpoint file beside it.

Bloat is estimated from the planner's statistics (``pg_class.reltuples``/``relpages``,
``pg_stats.avg_width`` and ``null_frac``), not measured: the pages the live rows would fill
when packed to the relation's fill factor, against the pages it has. That reads no table
(no ``pgstattuple`` extension, no full scan), so it is safe to run on a busy primary; it
is as fresh as the last ANALYZE (``db-maintain`` runs one), and it covers the main heap
and B-tree indexes (other index types are listed without an estimate; values moved to
TOAST count as their pointers). The arithmetic is in ``estimate_*`` below.

Nothing printed holds a secret: the URL is shown without its password, and the text of a
long query is cut to one line with its string literals replaced by ``'…'``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from infra_mind.kit.db import make_engine
from infra_mind.ops.tables import redact

#: PostgreSQL's fixed sizes (bytes), as in its source's page and tuple headers.
PAGE_HEADER = 24
BTREE_SPECIAL = 16  # BTPageOpaqueData at the end of every B-tree page
HEAP_TUPLE_HEADER = 23  # HeapTupleHeaderData before alignment
INDEX_TUPLE_HEADER = 8  # IndexTupleData
INDEX_NULL_BITMAP = 4  # IndexAttributeBitMapData, after the header when a key is null
LINE_POINTER = 4  # ItemIdData, one per tuple on the page
MAXALIGN = 8
DEFAULT_HEAP_FILLFACTOR = 100
DEFAULT_BTREE_FILLFACTOR = 90
#: The length of query text shown, after literals are hidden.
QUERY_CHARS = 160
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_SPACE = re.compile(r"\s+")


class DatabaseUnavailable(Exception):
    """The database cannot be reached or read; the message is one line."""


def maxalign(n: float) -> int:
    return int(math.ceil(n / MAXALIGN) * MAXALIGN)


def hide_literals(query: str) -> str:
    """One line of ``query`` with every string literal shown as ``'…'`` (a query's text may
    hold a password or personal data), cut to ``QUERY_CHARS``."""
    text = _SPACE.sub(" ", _LITERAL.sub("'…'", query)).strip()
    return text if len(text) <= QUERY_CHARS else text[:QUERY_CHARS - 1] + "…"


@dataclass(frozen=True)
class ColumnStats:
    avg_width: int
    null_frac: float


def _data_width(columns: list[ColumnStats | None]) -> tuple[float, bool] | None:
    """(average bytes of the columns' values per row, whether any is ever null); None
    when a column has no statistics (never analyzed)."""
    if any(c is None for c in columns):
        return None
    width = sum(c.avg_width * (1 - c.null_frac) for c in columns)  # type: ignore[union-attr]
    return width, any(c.null_frac > 0 for c in columns)  # type: ignore[union-attr]


def estimate_heap_pages(rows: float, columns: list[ColumnStats | None], block_size: int,
                        fillfactor: int = DEFAULT_HEAP_FILLFACTOR) -> int | None:
    """Pages ``rows`` live rows fill, packed to ``fillfactor``: each row is its header
    (with a null bitmap when a column has nulls), its values, and a line pointer."""
    if rows <= 0:
        return 1
    found = _data_width(columns)
    if found is None:
        return None
    width, nullable = found
    header = maxalign(HEAP_TUPLE_HEADER + (math.ceil(len(columns) / 8) if nullable else 0))
    per_row = header + maxalign(width) + LINE_POINTER
    usable = (block_size - PAGE_HEADER) * fillfactor / 100
    return max(1, math.ceil(rows * per_row / usable))


def estimate_btree_pages(rows: float, keys: list[ColumnStats | None], block_size: int,
                         fillfactor: int = DEFAULT_BTREE_FILLFACTOR) -> int | None:
    """Leaf pages ``rows`` entries fill at ``fillfactor``, plus the metapage and one inner
    page per hundred leaves. Deduplicated keys (PostgreSQL 13+) take less, so a bloat
    estimate from this errs low, never high."""
    if rows <= 0:
        return 2  # the metapage and an empty root leaf
    found = _data_width(keys)
    if found is None:
        return None
    width, nullable = found
    # an entry with a null key carries a null bitmap (IndexAttributeBitMapData, 4 bytes)
    header = maxalign(INDEX_TUPLE_HEADER + (INDEX_NULL_BITMAP if nullable else 0))
    per_entry = maxalign(header + width) + LINE_POINTER
    usable = (block_size - PAGE_HEADER - BTREE_SPECIAL) * fillfactor / 100
    leaves = max(1, math.ceil(rows * per_entry / usable))
    return 1 + leaves + math.ceil(leaves / 100)


# -- what db-status reports ---------------------------------------------------------------

@dataclass
class Bloat:
    """Estimated bytes beyond what the live rows need (None: no statistics)."""

    size_bytes: int
    bloat_bytes: int | None

    @property
    def ratio(self) -> float | None:
        if self.bloat_bytes is None or self.size_bytes == 0:
            return None
        return self.bloat_bytes / self.size_bytes


@dataclass
class TableState:
    name: str
    #: the planner's estimate (``reltuples``, as of the last VACUUM or ANALYZE); None: never
    rows: int | None
    dead_rows: int
    bloat: Bloat
    last_vacuum: datetime | None
    last_analyze: datetime | None


@dataclass
class IndexState:
    name: str
    table: str
    method: str
    valid: bool
    bloat: Bloat

    def over(self, threshold: float, min_bytes: int) -> bool:
        """Whether the estimate says a rebuild is worth it."""
        ratio = self.bloat.ratio
        return self.valid and self.method == "btree" and ratio is not None \
            and ratio >= threshold and self.bloat.size_bytes >= min_bytes


@dataclass
class LongQuery:
    pid: int
    user: str | None
    application: str | None
    state: str | None
    seconds: float
    waiting_on: str | None
    query: str


@dataclass
class Replica:
    name: str
    address: str | None
    state: str | None
    sync_state: str | None
    lag_bytes: int | None
    replay_lag_s: float | None


@dataclass
class Slot:
    name: str
    kind: str
    active: bool
    retained_bytes: int | None


@dataclass
class PgStatus:
    database: str
    version: str
    size_bytes: int
    connections_server: int
    max_connections: int
    connections_by_state: dict[str, int]
    long_query_s: float
    long_queries: list[LongQuery]
    tables: list[TableState]
    indexes: list[IndexState]
    is_replica: bool
    replicas: list[Replica] = field(default_factory=list)
    #: on a replica: seconds since the last replayed transaction, bytes received not replayed
    replica_lag_s: float | None = None
    replica_lag_bytes: int | None = None
    slots: list[Slot] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        found = asdict(self)
        for kind, rows in (("tables", self.tables), ("indexes", self.indexes)):
            for out, row in zip(found[kind], rows, strict=True):
                out["bloat"]["ratio"] = row.bloat.ratio
        return found


# -- reading PostgreSQL -------------------------------------------------------------------

async def _rows(conn: AsyncConnection, sql: str, **params: Any) -> list[dict[str, Any]]:
    result = await conn.execute(sa.text(sql), params)
    return [dict(row) for row in result.mappings()]


def _fillfactor(options: list[str] | None, default: int) -> int:
    for option in options or ():
        name, _, value = option.partition("=")
        if name == "fillfactor" and value.isdigit():
            return int(value)
    return default


async def column_stats(conn: AsyncConnection) -> dict[tuple[str, str], ColumnStats]:
    rows = await _rows(conn, "SELECT tablename, attname, avg_width, null_frac FROM pg_stats "
                             "WHERE schemaname = current_schema()")
    return {(r["tablename"], r["attname"]): ColumnStats(int(r["avg_width"] or 0),
                                                        float(r["null_frac"] or 0))
            for r in rows}


async def read_tables(conn: AsyncConnection, block_size: int,
                      stats: dict[tuple[str, str], ColumnStats]) -> list[TableState]:
    rows = await _rows(conn, """
        SELECT c.relname AS name, c.relpages, c.reltuples, c.reloptions,
               pg_relation_size(c.oid) AS size_bytes,
               s.n_dead_tup,
               greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum,
               greatest(s.last_analyze, s.last_autoanalyze) AS last_analyze,
               array(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid
                     AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns
        FROM pg_class c
        JOIN pg_stat_user_tables s ON s.relid = c.oid
        WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
        ORDER BY pg_relation_size(c.oid) DESC, c.relname""")
    tables = []
    for r in rows:
        size = int(r["size_bytes"])
        bloat = _bloat(size, r["reltuples"], block_size, lambda rows, r=r: estimate_heap_pages(
            rows, [stats.get((r["name"], c)) for c in r["columns"]], block_size,
            _fillfactor(r["reloptions"], DEFAULT_HEAP_FILLFACTOR)))
        rows_now = None if r["reltuples"] is None or r["reltuples"] < 0 \
            else int(r["reltuples"])
        tables.append(TableState(r["name"], rows_now, int(r["n_dead_tup"] or 0),
                                 Bloat(size, bloat),
                                 r["last_vacuum"], r["last_analyze"]))
    return tables


def _bloat(size: int, reltuples: float | None, block_size: int,
           estimate: Callable[[float], int | None]) -> int | None:
    """Bytes beyond the estimate of the pages ``reltuples`` rows need; None when the
    relation was never analyzed (``reltuples`` -1) or its columns have no statistics."""
    if size == 0:
        return 0
    if reltuples is None or reltuples < 0:
        return None
    pages = estimate(float(reltuples))
    return None if pages is None else max(0, size - pages * block_size)


async def read_indexes(conn: AsyncConnection, block_size: int,
                       stats: dict[tuple[str, str], ColumnStats]) -> list[IndexState]:
    rows = await _rows(conn, """
        SELECT ic.relname AS name, c.relname AS table_name, am.amname AS method,
               i.indisvalid AS valid, ic.reltuples, ic.reloptions,
               pg_relation_size(ic.oid) AS size_bytes,
               array(SELECT coalesce(a.attname, '') FROM unnest(i.indkey[0:i.indnkeyatts - 1])
                     WITH ORDINALITY AS k(attnum, n)
                     LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                     ORDER BY k.n) AS keys
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_am am ON am.oid = ic.relam
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
        ORDER BY pg_relation_size(ic.oid) DESC, ic.relname""")
    indexes = []
    for r in rows:
        size = int(r["size_bytes"])
        bloat = None
        if r["method"] == "btree":
            keys = [stats.get((r["table_name"], k)) if k else None for k in r["keys"]]
            bloat = _bloat(size, r["reltuples"], block_size, lambda rows, k=keys, r=r:
                           estimate_btree_pages(rows, k, block_size, _fillfactor(
                               r["reloptions"], DEFAULT_BTREE_FILLFACTOR)))
        indexes.append(IndexState(r["name"], r["table_name"], r["method"], bool(r["valid"]),
                                  Bloat(size, bloat)))
    return indexes


async def _pg_status(conn: AsyncConnection, url: str, long_query_s: float) -> PgStatus:
    block_size = int(await conn.scalar(sa.text("SELECT current_setting('block_size')")))
    head = (await _rows(conn, """
        SELECT current_setting('server_version') AS version,
               current_setting('max_connections')::int AS max_connections,
               pg_database_size(current_database()) AS size_bytes,
               (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
                   AS connections,
               pg_is_in_recovery() AS is_replica"""))[0]
    states = await _rows(conn, """
        SELECT coalesce(state, 'unknown') AS state, count(*) AS n FROM pg_stat_activity
        WHERE datname = current_database() AND backend_type = 'client backend'
        GROUP BY 1 ORDER BY 2 DESC, 1""")
    long_rows = await _rows(conn, """
        SELECT pid, usename, application_name, state, query,
               extract(epoch FROM now() - coalesce(
                   CASE WHEN state = 'active' THEN query_start END, xact_start)) AS seconds,
               CASE WHEN wait_event IS NOT NULL THEN wait_event_type || ': ' || wait_event
               END AS waiting_on
        FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND backend_type = 'client backend'
          AND (state = 'active' OR state LIKE 'idle in transaction%')
          AND now() - coalesce(CASE WHEN state = 'active' THEN query_start END, xact_start)
              > make_interval(secs => :threshold)
        ORDER BY seconds DESC""", threshold=long_query_s)
    stats = await column_stats(conn)
    status = PgStatus(
        database=redact(url), version=head["version"], size_bytes=int(head["size_bytes"]),
        connections_server=int(head["connections"]),
        max_connections=int(head["max_connections"]),
        connections_by_state={r["state"]: int(r["n"]) for r in states},
        long_query_s=long_query_s,
        long_queries=[LongQuery(int(r["pid"]), r["usename"], r["application_name"] or None,
                                r["state"], float(r["seconds"] or 0), r["waiting_on"],
                                hide_literals(r["query"] or "")) for r in long_rows],
        tables=await read_tables(conn, block_size, stats),
        indexes=await read_indexes(conn, block_size, stats),
        is_replica=bool(head["is_replica"]))
    if status.is_replica:
        lag = (await _rows(conn, """
            SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp()) AS seconds,
                   pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
                       AS bytes"""))[0]
        status.replica_lag_s = None if lag["seconds"] is None else float(lag["seconds"])
        status.replica_lag_bytes = None if lag["bytes"] is None else int(lag["bytes"])
    else:
        status.replicas = [Replica(
            r["application_name"] or "(unnamed)", r["client_addr"], r["state"],
            r["sync_state"], None if r["lag_bytes"] is None else int(r["lag_bytes"]),
            None if r["replay_lag_s"] is None else float(r["replay_lag_s"]))
            for r in await _rows(conn, """
            SELECT application_name, host(client_addr) AS client_addr, state, sync_state,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS lag_bytes,
                   extract(epoch FROM replay_lag) AS replay_lag_s
            FROM pg_stat_replication ORDER BY application_name""")]
    status.slots = [Slot(r["slot_name"], r["slot_type"], bool(r["active"]),
                         None if r["retained"] is None else int(r["retained"]))
                    for r in await _rows(conn, f"""
        SELECT slot_name, slot_type, active,
               pg_wal_lsn_diff({'pg_last_wal_receive_lsn()' if status.is_replica
                                else 'pg_current_wal_lsn()'}, restart_lsn) AS retained
        FROM pg_replication_slots ORDER BY slot_name""")]
    return status


async def pg_status(url: str, long_query_s: float) -> PgStatus:
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await _pg_status(conn, url, long_query_s)
    except (OSError, sa.exc.DBAPIError) as exc:
        raise DatabaseUnavailable(f"cannot read {redact(url)}: {one_line(exc)}") from None
    finally:
        await engine.dispose()


def one_line(exc: BaseException) -> str:
    """The database driver's error in one line: its class (asyncpg's, under SQLAlchemy's
    adapter, names the SQLSTATE: ``LockNotAvailableError``) and first line."""
    orig = getattr(exc, "orig", None) or exc
    cause = getattr(orig, "__cause__", None) or orig
    text = str(cause).strip().splitlines()
    first = text[0].split("'>: ", 1)[-1] if text else ""
    return f"{type(cause).__name__}: {first}" if first else type(cause).__name__


# -- SQLite -----------------------------------------------------------------------------------

@dataclass
class SqliteStatus:
    database: str
    path: str
    size_bytes: int
    page_size: int
    pages: int
    free_pages: int
    journal_mode: str
    wal_bytes: int | None
    checkpoints_path: str | None
    checkpoints_bytes: int | None

    @property
    def free_bytes(self) -> int:
        return self.free_pages * self.page_size

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "free_bytes": self.free_bytes}


def sqlite_path(url: str) -> Path | None:
    place = url.split(":///", 1)[1] if ":///" in url else ""
    place = place.split("?", 1)[0]
    return None if not place or place.startswith(":memory:") else Path(place)


def sqlite_status(url: str) -> SqliteStatus:
    """The SQLite file's pages, read with the standard library (read-only)."""
    import sqlite3

    path = sqlite_path(url)
    if path is None:
        raise DatabaseUnavailable("an in-memory SQLite database has nothing to report")
    if not path.is_file():
        raise DatabaseUnavailable(f"{redact(url)}: no such file {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            page_size, pages, free_pages, journal = (
                conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("page_size", "page_count", "freelist_count", "journal_mode"))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(f"cannot read {path}: {exc}") from None
    wal = path.with_name(path.name + "-wal")
    checkpoints = path.with_name(path.stem + ".checkpoints.db")
    return SqliteStatus(redact(url), str(path), path.stat().st_size, int(page_size),
                        int(pages), int(free_pages), str(journal),
                        wal.stat().st_size if wal.is_file() else None,
                        str(checkpoints) if checkpoints.is_file() else None,
                        checkpoints.stat().st_size if checkpoints.is_file() else None)
