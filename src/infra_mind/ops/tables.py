"""Our tables, read and written the same way on SQLite and PostgreSQL.

The tables are those of ``infra_mind.models`` present in the database (so a new
migration's tables need no change here), parents before children. Each column has a
kind (datetime, date, json, bool, int, float, decimal, uuid, text, bytes) from its SQL
type, and one JSON form per kind: datetimes ISO 8601 in UTC with microseconds, dates
ISO, decimals and UUIDs as strings, bytes as base64, NULL as ``null``. A row's
canonical JSON is what a backup stores and what a table's content digest sums, so a
table compares equal across the two databases.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra_mind.kit.db import make_engine
from infra_mind.kit.migrate import alembic_config
from infra_mind.models import Base

#: Column kinds, from the column's SQL type (first match wins: Float is a Numeric).
_KINDS: tuple[tuple[type[sa.types.TypeEngine[Any]], str], ...] = (
    (sa.JSON, "json"), (sa.DateTime, "datetime"), (sa.Date, "date"), (sa.Boolean, "bool"),
    (sa.Integer, "int"), (sa.Float, "float"), (sa.Numeric, "decimal"), (sa.Uuid, "uuid"),
    (sa.String, "text"), (sa.LargeBinary, "bytes"))
_DIGEST_MODULUS = 2**256


class UnsupportedColumn(Exception):
    """A column of a type this module cannot carry; the message names it."""


def redact(url: str) -> str:
    """The URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


def _utc(value: datetime) -> datetime:
    # SQLite keeps no offset: the application writes UTC there, so a naive value is UTC
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def encode(kind: str, value: Any) -> Any:
    """A column value as JSON: the form written to a backup and hashed for comparison."""
    if value is None:
        return None
    if kind == "datetime":
        return _utc(value).isoformat()
    if kind == "date":
        return value.isoformat()
    if kind in ("decimal", "uuid"):
        return str(value)
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    return value


def decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return _utc(datetime.fromisoformat(value))
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    if kind == "uuid":
        return uuid.UUID(value)
    if kind == "bytes":
        return base64.b64decode(value)
    return value


def row_line(values: Sequence[Any]) -> bytes:
    """One row as canonical JSON (object keys sorted, compact, UTF-8)."""
    return json.dumps(list(values), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


class ContentDigest:
    """A table's content, independent of row order: the SHA-256 of each row's canonical
    JSON, summed modulo 2**256, with the row count. Equal contents, equal digests."""

    def __init__(self) -> None:
        self.rows = 0
        self._sum = 0

    def add(self, line: bytes) -> None:
        self.rows += 1
        self._sum = (self._sum + int.from_bytes(hashlib.sha256(line).digest())) \
            % _DIGEST_MODULUS

    def hexdigest(self) -> str:
        return f"{self._sum:064x}"


@dataclass(frozen=True)
class TableSpec:
    """A table to dump or load: columns in a stable order, each with its kind; ``table`` is
    bound with types that read and write those kinds on this database."""

    name: str
    columns: list[str]
    kinds: list[str]
    primary_key: list[str]
    table: sa.Table


def _kind(type_: sa.types.TypeEngine[Any]) -> str | None:
    return next((kind for cls, kind in _KINDS if isinstance(type_, cls)), None)


def _io_type(kind: str, reflected: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    if kind == "json":  # None stays SQL NULL, not the JSON text 'null'
        return (postgresql.JSONB(none_as_null=True) if isinstance(reflected, postgresql.JSONB)
                else sa.JSON(none_as_null=True))
    return reflected


def table_specs(conn: Connection) -> list[TableSpec]:
    """Our tables present in the database, parents before children; columns in the
    models' order, then any the models lack (sorted); only columns the database has."""
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names())
    specs: list[TableSpec] = []
    for model in Base.metadata.sorted_tables:
        if model.name not in present:
            continue
        reflected = {c["name"]: c for c in inspector.get_columns(model.name)}
        names = [c.name for c in model.columns if c.name in reflected]
        names += sorted(set(reflected) - set(names))
        kinds, columns = [], []
        for name in names:
            type_ = reflected[name]["type"]
            if isinstance(type_, sa.types.NullType) and name in model.c:
                type_ = model.c[name].type
            kind = _kind(type_)
            if kind is None:
                raise UnsupportedColumn(f"{model.name}.{name}: column type {type_} is not "
                                        "supported by backups")
            kinds.append(kind)
            columns.append(sa.Column(name, _io_type(kind, type_)))
        primary_key = [c for c in inspector.get_pk_constraint(model.name)
                       ["constrained_columns"] if c in reflected] or names[:1]
        specs.append(TableSpec(model.name, names, kinds, primary_key,
                               sa.Table(model.name, sa.MetaData(), *columns)))
    return specs


async def read_rows(conn: AsyncConnection, spec: TableSpec) -> AsyncIterator[list[Any]]:
    """Every row of the table, encoded, in primary-key order."""
    query = sa.select(spec.table).order_by(*(spec.table.c[c] for c in spec.primary_key))
    result = await conn.stream(query)
    async for row in result:
        yield [encode(kind, value) for kind, value in zip(spec.kinds, row, strict=True)]


def sqlite_transactions(engine: AsyncEngine, begin: str) -> None:
    """Real transactions on SQLite: the driver's own begins only before writes, so a
    series of reads would see several states of the database."""

    @event.listens_for(engine.sync_engine, "connect")
    def _no_implicit_begin(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql(begin)


@asynccontextmanager
async def snapshot(url: str) -> AsyncIterator[AsyncConnection]:
    """A read-only connection seeing one consistent state of the database."""
    engine = make_engine(url, pool_size=1, max_overflow=0)
    if url.startswith("sqlite"):
        sqlite_transactions(engine, "BEGIN")
    try:
        async with engine.connect() as conn:
            if not url.startswith("sqlite"):
                conn = await conn.execution_options(isolation_level="REPEATABLE READ",
                                                    postgresql_readonly=True)
            transaction = await conn.begin()
            try:
                if url.startswith("sqlite"):
                    await conn.exec_driver_sql("PRAGMA query_only = ON")  # this connection only
                yield conn
            finally:
                await transaction.rollback()
    finally:
        await engine.dispose()


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def known_revisions(url: str) -> list[str]:
    """Every revision this version knows, oldest first (the history is linear)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


async def table_digests(url: str) -> dict[str, ContentDigest]:
    """Each of our tables' content digest, read in one snapshot."""
    digests: dict[str, ContentDigest] = {}
    async with snapshot(url) as conn:
        for spec in await conn.run_sync(table_specs):
            digest = digests[spec.name] = ContentDigest()
            async for values in read_rows(conn, spec):
                digest.add(row_line(values))
    return digests
