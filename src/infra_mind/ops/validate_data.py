"""``infra-mind validate-data``: the referential and schema integrity of the stored data.

Everything is checked with queries in one snapshot, never trusting the database to have
enforced it (SQLite enforces foreign keys only on connections that ask for it, and never
for rows written before): the migration state is head and the tables and columns are the
models'; every foreign key resolves; enumerated columns hold known values; JSON columns
parse, stored requirements validate against the requirements schema and stored results
have the engine's required keys; no assessment runs without a worker, none is completed
without a result, and result versions run 1, 2, 3... per assessment.

The tables, columns and foreign keys come from ``infra_mind.models``, so a new
migration's tables are checked with no change here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from infra_mind.engine.load import RequirementsError, parse_requirements
from infra_mind.engine.result import AssessmentResult
from infra_mind.models import ROLES, STATUSES, Base
from infra_mind.ops.tables import current_revision, known_revisions, snapshot

#: Problems listed per check; more are counted on one line.
MAX_PER_CHECK = 50
#: A chat message's author role (``api.schemas.chat``).
CHAT_ROLES = ("user", "assistant")
#: (table, column): the values it may hold.
ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("assessments", "status"): STATUSES,
    ("memberships", "role"): ROLES,
    ("chat_messages", "role"): CHAT_ROLES,
}
#: What every stored result has (an advice adds ``narrative`` and ``llm_usage``).
RESULT_KEYS = tuple(name for name, info in AssessmentResult.model_fields.items()
                    if info.is_required())


@dataclass(frozen=True)
class Problem:
    table: str
    row_id: str | None
    what: str

    def __str__(self) -> str:
        return f"{self.table} {self.row_id}: {self.what}" if self.row_id else \
            f"{self.table}: {self.what}"


@dataclass
class DataReport:
    revision: str | None
    head: str
    rows: dict[str, int] = field(default_factory=dict)  # per table checked
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def summary(self) -> str:
        where = f"{self.total_rows} rows in {len(self.rows)} tables"
        if self.valid:
            return f"data valid: {where}"
        return f"data invalid: {len(self.problems)} problem(s) in {where}"

    def as_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "revision": self.revision, "head": self.head,
                "rows": self.total_rows, "tables": self.rows,
                "problems": [{"table": p.table, "id": p.row_id, "problem": p.what}
                             for p in self.problems]}


class _Collector:
    """The problems of one check: the first ``MAX_PER_CHECK`` listed, the rest counted."""

    def __init__(self, report: DataReport, table: str, what: str) -> None:
        self.report, self.table, self.what, self.count = report, table, what, 0

    def add(self, row_id: str | None, what: str) -> None:
        self.count += 1
        if self.count <= MAX_PER_CHECK:
            self.report.problems.append(Problem(self.table, row_id, what))

    def __enter__(self) -> _Collector:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.count > MAX_PER_CHECK:
            self.report.problems.append(Problem(
                self.table, None, f"{self.count - MAX_PER_CHECK} more rows with {self.what}"))


def _schema(conn: Connection) -> tuple[str | None, dict[str, set[str]]]:
    inspector = sa.inspect(conn)
    return current_revision(conn), {name: {c["name"] for c in inspector.get_columns(name)}
                                    for name in inspector.get_table_names()}


def _row_id(table: sa.Table, row: sa.Row[Any]) -> str:
    return "/".join(str(row._mapping[c.name]) for c in table.primary_key.columns)


def _check_requirements(value: Any) -> str | None:
    try:
        parse_requirements(value)
    except RequirementsError as exc:
        more = len(exc.problems) - 1
        return f"requirements do not validate: {exc.problems[0]}" + \
            (f" (and {more} more)" if more else "")
    return None


def _check_result(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "result is not a JSON object"
    missing = [key for key in RESULT_KEYS if key not in value]
    return f"result lacks the engine's keys: {', '.join(missing)}" if missing else None


def _check_citations(value: Any) -> str | None:
    return None if isinstance(value, list) else "citations is not a JSON list"


#: (table, column): what a parsed JSON value must be; a message when it is not.
JSON_SHAPES: dict[tuple[str, str], Callable[[Any], str | None]] = {
    ("assessments", "requirements"): _check_requirements,
    ("assessment_results", "result"): _check_result,
    ("chat_messages", "citations"): _check_citations,
}


class _Validation:
    def __init__(self, conn: AsyncConnection, report: DataReport,
                 columns: dict[str, set[str]]) -> None:
        self.conn, self.report = conn, report
        self.tables = [t for t in Base.metadata.sorted_tables if t.name in columns]
        self.columns = columns

    def has(self, table: str, *names: str) -> bool:
        return table in self.columns and all(n in self.columns[table] for n in names)

    def schema(self) -> None:
        for table in Base.metadata.sorted_tables:
            if table.name not in self.columns:
                self.report.problems.append(Problem(table.name, None, "table is missing"))
                continue
            for column in table.columns:
                if column.name not in self.columns[table.name]:
                    self.report.problems.append(
                        Problem(table.name, None, f"column {column.name} is missing"))

    async def counts(self) -> None:
        for table in self.tables:
            self.report.rows[table.name] = int(await self.conn.scalar(
                sa.select(sa.func.count()).select_from(table)))

    async def foreign_keys(self) -> None:
        for table in self.tables:
            for fk in sorted(table.foreign_key_constraints, key=lambda f: f.column_keys):
                parent = fk.referred_table
                pairs = [(e.parent.name, e.column.name) for e in fk.elements]
                if not (self.has(table.name, *(c for c, _ in pairs))
                        and self.has(parent.name, *(p for _, p in pairs))):
                    continue
                other = parent.alias("parent")
                query = (sa.select(*table.primary_key.columns,
                                   *(table.c[c] for c, _ in pairs))
                         .select_from(table.outerjoin(other, sa.and_(
                             *(other.c[p] == table.c[c] for c, p in pairs))))
                         .where(*(table.c[c].is_not(None) for c, _ in pairs),
                                other.c[pairs[0][1]].is_(None)))
                names = ", ".join(c for c, _ in pairs)
                target = f"{parent.name}.{', '.join(p for _, p in pairs)}"
                with _Collector(self.report, table.name, f"{names} not in {target}") as found:
                    for row in (await self.conn.execute(query)).all():
                        value = ", ".join(str(row._mapping[c]) for c, _ in pairs)
                        found.add(_row_id(table, row), f"{names} {value} not found in {target}")

    async def enums(self) -> None:
        for (name, column), allowed in ENUMS.items():
            if not self.has(name, column):
                continue
            table = Base.metadata.tables[name]
            col = table.c[column]
            query = sa.select(*table.primary_key.columns, col).where(
                sa.or_(col.is_(None), col.not_in(allowed)))
            with _Collector(self.report, name, f"an unknown {column}") as found:
                for row in (await self.conn.execute(query)).all():
                    found.add(_row_id(table, row), f"{column} {row._mapping[column]!r} is not "
                                                   f"one of {', '.join(allowed)}")

    async def json_columns(self) -> None:
        for table in self.tables:
            for col in table.columns:
                if not isinstance(col.type, sa.JSON) or not self.has(table.name, col.name):
                    continue
                shape = JSON_SHAPES.get((table.name, col.name))
                query = sa.select(*table.primary_key.columns,
                                  sa.cast(col, sa.Text).label("raw")).where(col.is_not(None))
                with _Collector(self.report, table.name, f"a bad {col.name}") as found:
                    async for row in await self.conn.stream(query):
                        try:
                            value = json.loads(row.raw)
                        except (TypeError, ValueError) as exc:
                            found.add(_row_id(table, row), f"{col.name} is not valid JSON "
                                                           f"({exc})")
                            continue
                        problem = shape(value) if shape else None
                        if problem:
                            found.add(_row_id(table, row), problem)

    async def runs(self) -> None:
        if not self.has("assessments", "id", "status", "worker_id"):
            return
        assessments = Base.metadata.tables["assessments"]
        query = sa.select(assessments.c.id).where(assessments.c.status == "running",
                                                  assessments.c.worker_id.is_(None))
        with _Collector(self.report, "assessments", "running without a worker_id") as found:
            for row in (await self.conn.execute(query)).all():
                found.add(row.id, "running without a worker_id")
        if not self.has("assessment_results", "assessment_id", "version"):
            return
        results = Base.metadata.tables["assessment_results"]
        query = sa.select(assessments.c.id).where(
            assessments.c.status == "completed",
            ~sa.exists().where(results.c.assessment_id == assessments.c.id))
        with _Collector(self.report, "assessments", "completed without a result") as found:
            for row in (await self.conn.execute(query)).all():
                found.add(row.id, "completed without a result")
        gaps = (sa.select(results.c.assessment_id).group_by(results.c.assessment_id)
                .having(sa.or_(sa.func.min(results.c.version) != 1,
                               sa.func.max(results.c.version) != sa.func.count())))
        with _Collector(self.report, "assessment_results", "result versions not contiguous "
                                                           "from 1") as found:
            for (assessment_id,) in (await self.conn.execute(gaps)).all():
                versions = (await self.conn.scalars(
                    sa.select(results.c.version).where(results.c.assessment_id == assessment_id)
                    .order_by(results.c.version))).all()
                found.add(None, f"assessment {assessment_id}: versions "
                                f"{', '.join(map(str, versions))} are not contiguous from 1")


async def _validate(url: str, head: str) -> DataReport:
    async with snapshot(url) as conn:
        revision, columns = await conn.run_sync(_schema)
        report = DataReport(revision=revision, head=head)
        if revision is None:
            report.problems.append(Problem("alembic_version", None, "the database is not "
                                           "migrated (run `infra-mind migrate`)"))
        elif revision != head:
            report.problems.append(Problem("alembic_version", None, f"at revision {revision}, "
                                           f"head is {head} (run `infra-mind migrate`)"))
        check = _Validation(conn, report, columns)
        if revision == head:
            check.schema()
        await check.counts()
        await check.foreign_keys()
        await check.enums()
        await check.json_columns()
        await check.runs()
    return report


def validate_data(url: str) -> DataReport:
    """Check the data of the database at ``url`` (see the module); read-only."""
    return asyncio.run(_validate(url, known_revisions(url)[-1]))
