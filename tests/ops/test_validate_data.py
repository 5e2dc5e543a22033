"""``infra-mind validate-data`` on SQLite and PostgreSQL: a database filled through the API
is valid; problems planted with raw SQL (past foreign keys, as old rows or a careless
script would) are each named on one line with their table and id."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from infra_mind.kit.migrate import alembic_config, state
from infra_mind.models import STATUSES
from tests.ops.test_backup import fill, run
from tests.platform_fixtures import fresh_pg_database


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch):
    for name in ("ENCRYPTION_KEY", "CONFIG_DIR", "ENVIRONMENT", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    # a command's stderr is its own: no handler an earlier test's app left on a closed stream
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [h for h in root.handlers
                                           if type(h) is not logging.StreamHandler])


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Iterator[str]:
    """An empty database of its own (problems are planted in it)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/data.db"
        return
    with fresh_pg_database("im_validate") as url:
        yield url


async def plant(url: str, *statements: str, **params: str) -> None:
    """Run raw SQL with foreign keys not enforced (SQLite's default; on PostgreSQL, as a
    replica applying changes does)."""
    from sqlalchemy import text

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for statement in statements:
                await conn.execute(text(statement), params)
    finally:
        await engine.dispose()


def copy_assessment(new_id: str, status: str, worker: str = "NULL") -> str:
    return ("INSERT INTO assessments (id, organization_id, owner_id, title, requirements, "
            "requirements_hash, status, progress, attempts, worker_id, created_at, updated_at) "
            f"SELECT '{new_id}', organization_id, owner_id, title, requirements, "
            f"requirements_hash, '{status}', 0, 1, {worker}, created_at, updated_at "
            "FROM assessments WHERE id = :aid")


def test_data_filled_through_the_api_is_valid(database, tmp_path, capsys, monkeypatch):
    fill(database, tmp_path)
    monkeypatch.setenv("DATABASE_URL", database)
    code, out, err = run(capsys, "validate-data")
    assert code == 0, out + err
    assert out.strip().startswith("data valid: ") and out.strip().endswith(" tables")
    code, out, _ = run(capsys, "validate-data", "--json")
    document = json.loads(out)
    assert code == 0 and document["valid"] is True and document["problems"] == []
    assert document["revision"] == document["head"] == state(database).head
    assert document["tables"]["users"] == 2 and document["tables"]["assessment_results"] == 1
    assert document["rows"] == sum(document["tables"].values())


def test_planted_problems_are_named(database, tmp_path, capsys, monkeypatch):
    facts = fill(database, tmp_path)
    aid, conversation = facts["assessment_id"], facts["conversation_id"]
    statements = [
        "INSERT INTO memberships (id, organization_id, user_id, role, created_at) VALUES "
        "('m-dangling', :org, 'no-such-user', 'member', CURRENT_TIMESTAMP)",
        copy_assessment("a-zombie", "zombie"),
        copy_assessment("a-orphan-run", "running"),
        copy_assessment("a-bad-req", "draft"),
        "UPDATE assessments SET requirements = '{\"workloads\": 5}' WHERE id = 'a-bad-req'",
        copy_assessment("a-no-result", "completed", "'w1'"),
        "INSERT INTO assessment_results (id, assessment_id, version, catalog_as_of, result, "
        "created_at) VALUES ('r-gap', :aid, 3, CURRENT_DATE, '{\"foo\": 1}', CURRENT_TIMESTAMP)",
        "UPDATE chat_messages SET role = 'robot' WHERE conversation_id = :conv "
        "AND role = 'user'",
    ]
    sqlite = database.startswith("sqlite")
    if sqlite:  # PostgreSQL's jsonb never holds text that does not parse
        statements += [copy_assessment("a-not-json", "draft"),
                       "UPDATE assessments SET requirements = 'not json' "
                       "WHERE id = 'a-not-json'"]
    asyncio.run(plant(database, *statements, org=facts["organization_id"], aid=aid,
                      conv=conversation))
    monkeypatch.setenv("DATABASE_URL", database)
    code, out, err = run(capsys, "validate-data")
    assert code == 1
    lines = out.splitlines()
    robot = next(line for line in lines if line.startswith("chat_messages "))
    expected = [
        "memberships m-dangling: user_id no-such-user not found in users.id",
        f"assessments a-zombie: status 'zombie' is not one of {', '.join(STATUSES)}",
        "assessments a-orphan-run: running without a worker_id",
        "assessments a-no-result: completed without a result",
        "assessment_results r-gap: result lacks the engine's keys: requirements, demand, "
        "options, recommended, projection, budget, compliance, review, catalog_as_of, "
        "warnings",
        f"assessment_results: assessment {aid}: versions 1, 3 are not contiguous from 1",
    ]
    for line in expected:
        assert line in lines, (line, out)
    assert robot.endswith(": role 'robot' is not one of user, assistant")
    assert any(line.startswith("assessments a-bad-req: requirements do not validate: ")
               for line in lines), out
    if sqlite:
        assert any(line.startswith("assessments a-not-json: requirements is not valid JSON")
                   for line in lines), out
    assert len(lines) == len(expected) + 2 + sqlite
    assert err.startswith(f"error: data invalid: {len(lines)} problem(s) in ")
    assert len(err.strip().splitlines()) == 1

    code, out, _ = run(capsys, "validate-data", "--json")
    document = json.loads(out)
    assert code == 1 and document["valid"] is False
    assert {"table": "memberships", "id": "m-dangling",
            "problem": "user_id no-such-user not found in users.id"} in document["problems"]


def test_migration_state_is_checked(tmp_path, capsys, monkeypatch):
    url = f"sqlite+aiosqlite:///{tmp_path}/m.db"
    monkeypatch.setenv("DATABASE_URL", url)
    code, out, _ = run(capsys, "validate-data")
    assert code == 1
    assert out.splitlines() == ["alembic_version: the database is not migrated (run "
                                "`infra-mind migrate`)"]
    command.upgrade(alembic_config(url), "0001")
    code, out, _ = run(capsys, "validate-data")
    assert code == 1
    assert out.splitlines() == [f"alembic_version: at revision 0001, head is "
                                f"{state(url).head} (run `infra-mind migrate`)"]


def test_an_unreachable_database_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:hunter2@127.0.0.1:1/none")
    code, _, err = run(capsys, "validate-data")
    assert code == 1 and err.startswith("error: cannot read postgresql+asyncpg://nobody:***@")
    assert "hunter2" not in err and len(err.strip().splitlines()) == 1
