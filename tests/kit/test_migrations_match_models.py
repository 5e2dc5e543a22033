"""The migrations build the schema the models describe, on SQLite and on PostgreSQL.

What ``alembic check`` does: migrate a fresh database to head, then let autogenerate
compare it with the models' metadata, with the options the migrations' environment uses
(``compare_type``). Any difference (a column, an index, a type, a nullable flag added to
a model without a migration, or the other way round) is a failed test naming it; the fix
is a new migration.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from infra_mind.kit.db import make_engine
from infra_mind.kit.migrate import upgrade
from infra_mind.models import Base
from tests.platform_fixtures import fresh_pg_database


def differences(url: str, metadata: sa.MetaData = Base.metadata) -> list[Any]:
    """What autogenerate would write for the database at ``url`` against ``metadata``."""
    async def compare() -> list[Any]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata))
        finally:
            await engine.dispose()

    return asyncio.run(compare())


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_url(request, tmp_path):
    """A fresh database of each kind, migrated to head (and dropped after, PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/schema.db"
        upgrade(url)
        yield url
        return
    with fresh_pg_database("im_schema") as url:
        upgrade(url)
        yield url


def test_the_migrated_schema_is_the_models_schema(migrated_url):
    assert differences(migrated_url) == []


def test_a_model_change_without_a_migration_is_found(migrated_url):
    """The comparison can fail: a column the models have and the migrations do not."""
    metadata = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["users"].append_column(sa.Column("nickname", sa.String(40)))
    found = differences(migrated_url, metadata)
    assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", "users", "nickname")]
