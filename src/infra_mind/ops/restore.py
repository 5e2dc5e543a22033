"""Restoring a backup (``infra-mind restore``) and the restore drill (``infra-mind drill
backup-restore``), on SQLite and PostgreSQL in either direction.

A restore changes nothing until the backup has verified. It then brings the database to
the backup's revision (an empty database is migrated to it; a newer one is migrated down,
as a rollback needs) and, in one transaction, removes every row of our tables (children
first) and loads the backup's rows (parents first). Identifiers are UUID strings, so there
are no sequences to move; should a table ever get one, it is set past the restored rows.

A row the target database refuses does not fail the whole restore: a SQLite backup can
hold what PostgreSQL cannot take (a NaN or an infinity inside JSON, a NUL character in
text). Rows go in by batches, each in a savepoint; a refused batch goes again row by row,
and each row still refused is left out and reported (table, primary key, the database's
reason), as is every row that refers to one left out (it would break a foreign key). Each
table's row count must equal the manifest's less the rows left out, or the transaction
rolls back. In a recovery, most of the data now beats none of it; the caller says loudly
that the restore is incomplete (``infra-mind restore`` exits 1 listing the rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from infra_mind.kit.db import make_engine
from infra_mind.kit.migrate import alembic_config, upgrade
from infra_mind.models import Base
from infra_mind.ops.backup import (
    NO_KEYS,
    Backup,
    BackupError,
    Keys,
    backup_fernet,
    create_backup,
    table_rows,
    verify_backup,
)
from infra_mind.ops.tables import (
    TableSpec,
    UnsupportedColumn,
    current_revision,
    known_revisions,
    redact,
    sqlite_transactions,
    table_digests,
    table_specs,
)
from infra_mind.ops.validate_data import DataReport, validate_data

_T = TypeVar("_T")
INSERT_BATCH_ROWS = 500
#: How long a restore waits for the application's locks on PostgreSQL before giving up.
RESTORE_LOCK_TIMEOUT = "15s"


@dataclass(frozen=True)
class Uncarried:
    """A row of the backup the database could not take."""

    table: str
    key: str  # the primary key, ``id=...``
    reason: str

    def __str__(self) -> str:
        return f"{self.table} {self.key}: {self.reason}"


@dataclass(frozen=True)
class RestoreReport:
    backup: Backup
    database: str
    before: str | None  # the database's revision before, None when it was empty
    revision: str
    head: str
    cleared_rows: int
    restored: dict[str, int]  # rows per table: the manifest's less those left out
    sequences: list[str]
    seconds: float
    #: Rows left out, in the backup's order: the database refused them or their parent.
    uncarried: tuple[Uncarried, ...] = ()

    @property
    def rows(self) -> int:
        return sum(self.restored.values())

    @property
    def complete(self) -> bool:
        return not self.uncarried


def _target_state(conn: Connection) -> tuple[str | None, list[str]]:
    present = set(sa.inspect(conn).get_table_names())
    return current_revision(conn), [t.name for t in Base.metadata.sorted_tables
                                    if t.name in present]


async def _inspect(url: str) -> tuple[str | None, list[str]]:
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_target_state)
    finally:
        await engine.dispose()


def _migrate_to(url: str, backup: Backup) -> tuple[str | None, int]:
    """Bring the database to the backup's revision; its revision before, and the rows
    removed on the way. A database newer than the backup loses its rows first (they are
    being replaced anyway): a migration down that rebuilds a SQLite table would fail on,
    or cascade to, the rows that refer to it."""
    revision = backup.manifest["alembic_revision"]
    known = known_revisions(url)
    if revision not in known:
        raise BackupError(f"backup {backup.id} is at revision {revision}, which this version "
                          f"of Infra Mind does not know (head {known[-1]}): restore it with "
                          "a version that does")
    before, ours = asyncio.run(_inspect(url))
    if before is None and ours:
        raise BackupError(f"{redact(url)} has Infra Mind tables but no migration record: "
                          "restore into an empty or a migrated database")
    if before is not None and before not in known:
        raise BackupError(f"{redact(url)} is at revision {before}, which this version of "
                          "Infra Mind does not know")
    cleared = 0
    if before is None or known.index(before) < known.index(revision):
        command.upgrade(alembic_config(url), revision)
    elif before != revision:
        cleared = asyncio.run(_in_transaction(url, _clear))
        command.downgrade(alembic_config(url), revision)
    return before, cleared


def _bind_row(spec: TableSpec, names: list[str], values: list[Any]) -> dict[str, Any]:
    row = dict(zip(names, values, strict=True))
    for name, kind in zip(spec.columns, spec.kinds, strict=True):
        value = row.get(name)
        if kind == "datetime" and value is not None \
                and not getattr(spec.table.c[name].type, "timezone", False):
            row[name] = value.replace(tzinfo=None)  # UTC, in a column that keeps no offset
    return row


def _check_fits(backup: Backup, specs: dict[str, TableSpec]) -> None:
    for table in backup.manifest["tables"]:
        spec = specs.get(table["name"])
        if spec is None:
            raise BackupError(f"the database has no table {table['name']} (backup "
                              f"{backup.id} at revision {backup.manifest['alembic_revision']})")
        kinds = dict(zip(spec.columns, spec.kinds, strict=True))
        for column in table["columns"]:
            if kinds.get(column["name"]) != column["kind"]:
                raise BackupError(f"{table['name']}.{column['name']}: the database's column "
                                  f"does not hold {column['kind']} values as the backup does")


async def _reset_sequences(conn: AsyncConnection, specs: list[TableSpec]) -> list[str]:
    moved = []
    for spec in specs:
        if len(spec.primary_key) != 1 or spec.kinds[spec.columns.index(spec.primary_key[0])] \
                != "int":
            continue
        column = spec.primary_key[0]
        sequence = await conn.scalar(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                     {"t": spec.name, "c": column})
        if sequence:
            await conn.execute(sa.text(
                f'SELECT setval(:s, COALESCE(MAX("{column}"), 1), MAX("{column}") IS NOT NULL) '
                f'FROM "{spec.name}"'), {"s": sequence})
            moved.append(sequence)
    return moved


async def _clear(conn: AsyncConnection, ordered: list[TableSpec]) -> int:
    """Remove every row of our tables (children first); how many there were."""
    cleared = 0
    for spec in ordered:
        cleared += await conn.scalar(sa.select(sa.func.count()).select_from(spec.table))
    if conn.dialect.name == "sqlite":
        for spec in reversed(ordered):
            await conn.execute(spec.table.delete())
    elif ordered:
        await conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{s.name}"' for s in ordered))
    return cleared


async def _in_transaction(url: str, work: Callable[[AsyncConnection, list[TableSpec]],
                                                   Awaitable[_T]]) -> _T:
    """``work(conn, our tables)`` in one transaction that holds the write lock from its
    start; a database error becomes one line (and the transaction rolls back)."""
    sqlite = url.startswith("sqlite")
    engine = make_engine(url, pool_size=1, max_overflow=0)
    if sqlite:
        sqlite_transactions(engine, "BEGIN IMMEDIATE")
    try:
        async with engine.begin() as conn:
            if not sqlite:
                await conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{RESTORE_LOCK_TIMEOUT}'")
            return await work(conn, await conn.run_sync(table_specs))
    except UnsupportedColumn as exc:
        raise BackupError(str(exc)) from None
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise BackupError(f"restore into {redact(url)} failed, no rows were changed: {reason}"
                          + (" (is the application still running? stop it first)"
                             if "lock" in reason.lower() else "")) from None
    finally:
        await engine.dispose()


def _row_refused(exc: sa.exc.DBAPIError) -> bool:
    """Whether the database refused the row's data (a data exception or a constraint:
    SQLSTATE classes 22 and 23), rather than failed (a lost connection, a lock): only a
    refused row is left out; anything else fails the whole restore, which rolls back."""
    if isinstance(exc, (sa.exc.DataError, sa.exc.IntegrityError)):
        return True
    # psycopg's error carries the SQLSTATE; asyncpg's, under SQLAlchemy's adapter, too
    sqlstate = getattr(exc.orig, "sqlstate", None) \
        or getattr(getattr(exc.orig, "__cause__", None), "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in ("22", "23")


def _db_reason(exc: sa.exc.DBAPIError) -> str:
    """The database's reason in one line, with its detail (PostgreSQL's DETAIL names the
    offending token or key, never a whole row)."""
    orig = exc.orig
    cause = getattr(orig, "__cause__", None) or orig  # asyncpg's error under the adapter
    message = getattr(cause, "message", None) or str(cause or type(exc).__name__)
    lines = str(message).strip().splitlines() or [type(exc).__name__]
    first = lines[0].split("'>: ", 1)[-1]  # the adapter prefixes "<class '...'>: "
    detail = getattr(cause, "detail", None)
    return f"{first} ({detail})" if detail else first


class _RowLoader:
    """Inserts rows in one transaction, leaving out (and recording) each row the database
    refuses and each row that refers to a row left out."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.uncarried: list[Uncarried] = []
        self._counts: dict[str, int] = {}
        #: (table, column) a foreign key refers to -> its values in the rows left out
        self._left_out: dict[tuple[str, str], set[Any]] = {
            (fk.column.table.name, fk.column.name): set()
            for model in Base.metadata.tables.values() for fk in model.foreign_keys}

    def left_out_of(self, table: str) -> int:
        return self._counts.get(table, 0)

    async def insert(self, spec: TableSpec, batch: list[dict[str, Any]]) -> None:
        rows = []
        for row in batch:
            reason = self._orphan_reason(spec, row)
            if reason is None:
                rows.append(row)
            else:
                self._leave_out(spec, row, reason)
        if rows:
            await self._insert(spec, rows)

    async def _insert(self, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(spec.table.insert(), rows)
        except sa.exc.DBAPIError as exc:
            if not _row_refused(exc):
                raise
            if len(rows) == 1:
                self._leave_out(spec, rows[0], _db_reason(exc))
                return
            for row in rows:  # which of them: one savepoint each
                await self._insert(spec, [row])

    def _orphan_reason(self, spec: TableSpec, row: dict[str, Any]) -> str | None:
        model = Base.metadata.tables.get(spec.name)
        for fk in model.foreign_keys if model is not None else ():
            parent, column, value = fk.column.table.name, fk.column.name, row.get(fk.parent.name)
            if value is not None and value in self._left_out[(parent, column)]:
                return f"refers to {parent} {column}={value}, which was not carried"
        return None

    def _leave_out(self, spec: TableSpec, row: dict[str, Any], reason: str) -> None:
        key = " ".join(f"{c}={row.get(c)}" for c in spec.primary_key)
        self.uncarried.append(Uncarried(spec.name, key, reason))
        self._counts[spec.name] = self._counts.get(spec.name, 0) + 1
        for (table, column), values in self._left_out.items():
            if table == spec.name and row.get(column) is not None:
                values.add(row[column])


def _loader(backup: Backup, fernet: Fernet | None):
    async def load(conn: AsyncConnection, ordered: list[TableSpec]
                   ) -> tuple[int, dict[str, int], list[str], list[Uncarried]]:
        specs = {spec.name: spec for spec in ordered}
        _check_fits(backup, specs)
        cleared = await _clear(conn, ordered)
        restored: dict[str, int] = {}
        loader = _RowLoader(conn)
        for table in backup.manifest["tables"]:
            spec = specs[table["name"]]
            names = [c["name"] for c in table["columns"]]
            batch: list[dict[str, Any]] = []
            for values in table_rows(backup, table, fernet):
                batch.append(_bind_row(spec, names, values))
                if len(batch) >= INSERT_BATCH_ROWS:
                    await loader.insert(spec, batch)
                    batch = []
            if batch:
                await loader.insert(spec, batch)
            left_out = loader.left_out_of(table["name"])
            count = await conn.scalar(sa.select(sa.func.count()).select_from(spec.table))
            if count != table["rows"] - left_out:
                raise BackupError(f"{table['name']}: {count} rows after the restore, the "
                                  f"manifest says {table['rows']}"
                                  + (f" less {left_out} not carried" if left_out else "")
                                  + "; nothing was changed")
            restored[table["name"]] = count
        sequences = [] if conn.dialect.name == "sqlite" else \
            await _reset_sequences(conn, ordered)
        return cleared, restored, sequences, loader.uncarried

    return load


def restore_backup(url: str, directory: Path, backup_id: str, keys: Keys = NO_KEYS
                   ) -> RestoreReport:
    """Replace the data of the database at ``url`` with the backup's (see the module)."""
    started = time.perf_counter()
    verification = verify_backup(directory, backup_id, keys)
    if not verification.ok:
        more = len(verification.problems) - 1
        raise BackupError(f"backup {backup_id} failed verification, nothing was changed: "
                          f"{verification.problems[0]}"
                          + (f" (and {more} more problem(s))" if more else ""))
    backup = verification.backup
    before, cleared_first = _migrate_to(url, backup)
    cleared, restored, sequences, uncarried = asyncio.run(
        _in_transaction(url, _loader(backup, backup_fernet(backup, keys))))
    return RestoreReport(backup=backup, database=redact(url), before=before,
                         revision=backup.manifest["alembic_revision"],
                         head=known_revisions(url)[-1], cleared_rows=cleared_first + cleared,
                         restored=restored, sequences=sequences,
                         seconds=time.perf_counter() - started, uncarried=tuple(uncarried))


# -- the drill ------------------------------------------------------------------------------

async def _admin(url: str, sql: str) -> None:
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(sql)
    finally:
        await engine.dispose()


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[tuple[str, str]]:
    """An empty database of the same kind as ``url``'s, removed afterwards: a temporary
    SQLite file, or a new database on the same PostgreSQL server. (url, description)."""
    if url.startswith("sqlite"):
        folder = tempfile.mkdtemp(prefix="infra-mind-drill-")
        try:
            yield f"sqlite+aiosqlite:///{folder}/scratch.db", f"temporary file {folder}/scratch.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"im_drill_{secrets.token_hex(5)}"
    try:
        asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    except sa.exc.DBAPIError as exc:
        raise BackupError(f"cannot create a scratch database on {redact(url)} (the drill needs "
                          f"CREATEDB): {str(exc.orig).strip().splitlines()[0]}") from None
    try:
        yield (make_url(url).set(database=name).render_as_string(hide_password=False),
               f"scratch database {name} on the same server")
    finally:
        asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass(frozen=True)
class TableComparison:
    name: str
    source_rows: int | None
    restored_rows: int | None
    source_digest: str | None
    restored_digest: str | None

    @property
    def identical(self) -> bool:
        return (self.source_rows, self.source_digest) == (self.restored_rows,
                                                          self.restored_digest)


@dataclass(frozen=True)
class DrillReport:
    source: str
    scratch: str
    made_backup: bool
    restore: RestoreReport
    tables: list[TableComparison]
    validation: DataReport
    seconds: float

    @property
    def passed(self) -> bool:
        return all(t.identical for t in self.tables) and self.validation.valid


def drill_backup_restore(url: str, directory: Path, keys: Keys = NO_KEYS, *,
                         backup_id: str | None = None) -> DrillReport:
    """Back up ``url`` (or take backup ``backup_id``), restore it into a scratch database,
    compare every table's content with the source's snapshot in the manifest, migrate the
    scratch database to head and validate its data. The scratch database is removed."""
    started = time.perf_counter()
    made = backup_id is None
    if backup_id is None:
        backup_id = create_backup(url, directory, keys).id
    with scratch_database(url) as (scratch, description):
        restore = restore_backup(scratch, directory, backup_id, keys)
        restored = asyncio.run(table_digests(scratch))
        if restore.revision != restore.head:
            upgrade(scratch)  # what `infra-mind serve` does next in a real recovery
        validation = validate_data(scratch)
    source = {t["name"]: t for t in restore.backup.manifest["tables"]}
    tables = [TableComparison(
        name, source[name]["rows"] if name in source else None,
        restored[name].rows if name in restored else None,
        source[name]["content_digest"] if name in source else None,
        restored[name].hexdigest() if name in restored else None)
        for name in [*source, *(n for n in restored if n not in source)]]
    return DrillReport(source=redact(url), scratch=description, made_backup=made,
                       restore=restore, tables=tables, validation=validation,
                       seconds=time.perf_counter() - started)
