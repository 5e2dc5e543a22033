"""Running the Alembic migrations programmatically (``infra-mind migrate``, ``serve``).

Alembic (with Mako and Pygments: some 10 MiB) is imported by the functions that use it,
not with this module, and ``serve`` migrates in a child process (``upgrade_in_child``):
an API process, which imports this module for the head revision its admin status shows,
never keeps it resident.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from infra_mind.kit.db import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
#: The child's environment variable holding the database URL (never its command line,
#: which any local user can read).
_URL_ENV = "INFRA_MIND_MIGRATE_URL"


class MigrationError(RuntimeError):
    """``upgrade_in_child`` failed; the message is the child's one-line reason."""


def alembic_config(url: str) -> Config:
    from alembic.config import Config

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
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


def head_revision(url: str) -> str:
    """The newest migration shipped with this version."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


def state(url: str) -> MigrationState:
    """Where the database stands against the migrations shipped with this version."""
    from alembic.script import ScriptDirectory

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
    from alembic import command

    command.upgrade(alembic_config(url), "head")


def upgrade_in_child(url: str) -> None:
    """``upgrade`` in a child process, so that the caller (``serve``, which goes on to
    run the API in the same process) does not keep Alembic's modules. Raises
    ``MigrationError`` with the child's one-line reason."""
    env = {**os.environ, _URL_ENV: url}
    done = subprocess.run([sys.executable, "-m", "infra_mind.kit.migrate"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        try:
            reason = json.loads(last)
        except ValueError:  # not our line: the child died before it could say why
            reason = None
        if not isinstance(reason, str):
            reason = f"the migration process exited {done.returncode}" + \
                (f": {last}" if last else "")
        raise MigrationError(reason)


def _child() -> int:
    """The child of ``upgrade_in_child``: the reason of a failure is its last line (a JSON
    string, so a message spanning lines comes back whole)."""
    try:
        upgrade(os.environ[_URL_ENV])
    except Exception as exc:
        print(json.dumps(f"{type(exc).__name__}: {exc}"), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_child())
