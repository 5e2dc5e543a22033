"""Running the Alembic migrations programmatically (``infra-mind migrate``, ``serve``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from infra_mind.kit.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


@dataclass(frozen=True)
class MigrationState:
    current: str | None
    head: str
    pending: list[str]


async def _current(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


def state(url: str) -> MigrationState:
    """Where the database stands against the migrations shipped with this version."""
    script = ScriptDirectory.from_config(alembic_config(url))
    current = asyncio.run(_current(url))
    head = script.get_current_head()
    assert head is not None
    pending: list[str] = []
    for rev in script.walk_revisions("base", head):  # newest first
        if rev.revision == current:
            break
        pending.append(rev.revision)
    pending.reverse()
    return MigrationState(current, head, pending)


def upgrade(url: str) -> None:
    """Apply every pending migration (idempotent)."""
    command.upgrade(alembic_config(url), "head")
