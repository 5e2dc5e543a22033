"""A SQLite backup holding rows PostgreSQL cannot take, restored into PostgreSQL.

Before the API refused them (issue #10, item 3), SQLite stored what a request sent:
``Infinity`` and ``NaN`` inside the requirements JSON, and text with NUL characters.
PostgreSQL refuses all three (jsonb has no NaN or infinity and no ``\\u0000``; text has no
NUL byte). Such a backup used to fail the whole restore ("no rows were changed"). Now
every other row is restored, each row left out is named (table, primary key, the
database's reason) with the rows that refer to it, the command exits 1 saying the restore
is incomplete, and the restored database is valid. The same backup restored into SQLite
is carried whole.

The bad rows are written straight to the SQLite database, as an earlier version's API
wrote them; everything else goes through the real ``infra-mind`` commands.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from infra_mind.cli.main import main
from infra_mind.engine.assess import assess
from infra_mind.engine.load import parse_requirements
from infra_mind.kit.db import make_engine
from infra_mind.kit.migrate import upgrade
from infra_mind.models import (
    Assessment,
    AssessmentResultRow,
    AuditEvent,
    ChatMessage,
    Conversation,
    IdempotencyKey,
    Membership,
    Organization,
    User,
)
from infra_mind.ops.tables import table_digests
from infra_mind.services.assessments import requirements_digest
from tests.integration.procs import WEB_SERVICE
from tests.platform_fixtures import fresh_pg_database

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _id() -> str:
    return str(uuid.uuid4())


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch):
    for name in ("ENCRYPTION_KEY", "BACKUP_DIR", "BACKUP_KEEP", "CONFIG_DIR", "ENVIRONMENT",
                 "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [h for h in root.handlers
                                           if type(h) is not logging.StreamHandler])


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _requirements(**web: Any) -> dict[str, Any]:
    data = {**WEB_SERVICE, "workloads": [dict(w) for w in WEB_SERVICE["workloads"]]}
    data["workloads"][0].update(web)
    return data


async def _fill(url: str) -> tuple[str, dict[tuple[str, str], str]]:
    """Good rows and bad ones: the assessment whose result cannot reach PostgreSQL, and
    (table, id) -> why, for each row that cannot (itself, or a row it refers to)."""
    org, ada, grace = _id(), _id(), _id()
    good, infinite, nan_result = _id(), _id(), _id()
    result_ok, result_inf, result_nan = _id(), _id(), _id()
    key_ok, key_inf, conversation, message, membership_grace = _id(), _id(), _id(), _id(), _id()
    audit_nul, audit_ok = _id(), _id()

    engine_result = assess(WEB_SERVICE).model_dump(mode="json")
    digest = requirements_digest(parse_requirements(WEB_SERVICE))

    def assessment(id_: str, requirements: dict[str, Any]) -> dict[str, Any]:
        return {"id": id_, "organization_id": org, "owner_id": ada, "title": "Shop",
                "requirements": requirements, "requirements_hash": digest,
                "status": "completed", "progress": 100, "attempts": 1,
                "created_at": NOW, "updated_at": NOW}

    def result(id_: str, assessment_id: str, monthly_usd: float | None = None
               ) -> dict[str, Any]:
        body = copy.deepcopy(engine_result)
        if monthly_usd is not None:
            body["recommended"]["monthly_cost_usd"] = monthly_usd
        return {"id": id_, "assessment_id": assessment_id, "version": 1,
                "catalog_as_of": date.fromisoformat(engine_result["catalog_as_of"]),
                "created_at": NOW, "result": body}

    rows: list[tuple[sa.Table, list[dict[str, Any]]]] = [
        (Organization.__table__, [{"id": org, "name": "Org", "created_at": NOW}]),
        (User.__table__, [
            {"id": ada, "email": "ada@example.com", "password_hash": "!", "is_active": True,
             "full_name": "Ada Lovelace", "is_platform_admin": False, "created_at": NOW},
            {"id": grace, "email": "grace@example.com", "password_hash": "!",
             "is_active": True, "full_name": "Grace\x00Hopper", "is_platform_admin": False,
             "created_at": NOW}]),
        (Membership.__table__, [
            {"id": _id(), "organization_id": org, "user_id": ada, "role": "owner",
             "created_at": NOW},
            {"id": membership_grace, "organization_id": org, "user_id": grace,
             "role": "member", "created_at": NOW}]),
        (Assessment.__table__, [
            assessment(good, _requirements()),
            assessment(infinite, _requirements(peak_rps=float("inf"))),
            assessment(nan_result, _requirements())]),
        (AssessmentResultRow.__table__, [
            result(result_ok, good), result(result_inf, infinite),
            result(result_nan, nan_result, float("nan"))]),
        (IdempotencyKey.__table__, [
            {"id": key_ok, "user_id": ada, "key": "run-1", "assessment_id": good,
             "created_at": NOW},
            {"id": key_inf, "user_id": ada, "key": "run-2", "assessment_id": infinite,
             "created_at": NOW}]),
        (Conversation.__table__, [
            {"id": conversation, "user_id": ada, "organization_id": org,
             "assessment_id": infinite, "title": "About Shop", "created_at": NOW,
             "updated_at": NOW}]),
        (ChatMessage.__table__, [
            {"id": message, "conversation_id": conversation, "role": "user",
             "content": "What would this cost?", "citations": [], "author": "user",
             "note": "", "created_at": NOW}]),
        (AuditEvent.__table__, [
            {"id": audit_nul, "action": "assessment.created", "created_at": NOW,
             "detail": {"title": "Shop\x00"}},
            {"id": audit_ok, "action": "assessment.created", "created_at": NOW,
             "detail": {"title": "Shop"}}]),
    ]
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for table, values in rows:
                await conn.execute(table.insert(), values)
    finally:
        await engine.dispose()
    return nan_result, {
        ("users", grace): "invalid byte sequence",
        ("memberships", membership_grace): f"refers to users id={grace}, which was not carried",
        ("assessments", infinite): 'Token "Infinity" is invalid',
        ("assessment_results", result_inf):
            f"refers to assessments id={infinite}, which was not carried",
        ("assessment_results", result_nan): 'Token "NaN" is invalid',
        ("idempotency_keys", key_inf):
            f"refers to assessments id={infinite}, which was not carried",
        ("conversations", conversation):
            f"refers to assessments id={infinite}, which was not carried",
        ("chat_messages", message):
            f"refers to conversations id={conversation}, which was not carried",
        ("audit_events", audit_nul): "\\u0000 cannot be converted to text",
    }


async def _ids(url: str) -> dict[str, set[str]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return {table.name: set((await conn.execute(sa.select(table.c.id))).scalars())
                    for table in (Organization.__table__, User.__table__,
                                  Membership.__table__, Assessment.__table__,
                                  AssessmentResultRow.__table__, IdempotencyKey.__table__,
                                  Conversation.__table__, ChatMessage.__table__,
                                  AuditEvent.__table__)}
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def sqlite_with_bad_rows(tmp_path_factory
                         ) -> tuple[str, str, dict[tuple[str, str], str]]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('bad-rows')}/source.db"
    upgrade(url)
    return url, *asyncio.run(_fill(url))


def _backup(capsys, monkeypatch, url: str, folder: Path) -> str:
    monkeypatch.setenv("DATABASE_URL", url)
    code, out, err = run(capsys, "backup", "--dir", str(folder))
    assert code == 0, out + err
    return out.split()[-1]


def test_restore_into_postgresql_leaves_out_and_names_the_rows_it_cannot_carry(
        sqlite_with_bad_rows, tmp_path, capsys, monkeypatch):
    source, resultless, expected = sqlite_with_bad_rows
    backups = tmp_path / "backups"
    backup_id = _backup(capsys, monkeypatch, source, backups)
    source_ids = asyncio.run(_ids(source))
    total = sum(len(ids) for ids in source_ids.values())

    with fresh_pg_database("im_restore_bad") as target:
        monkeypatch.setenv("DATABASE_URL", target)
        code, out, err = run(capsys, "restore", backup_id, "--dir", str(backups), "--yes")

        # exit 1 with one line saying what happened: incomplete, the rest is restored
        assert code == 1, out + err
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"error: restore incomplete: {len(expected)} of {total} rows "
                              f"of backup {backup_id} could not be carried into ")
        assert "the other rows are restored" in err
        assert f"restored {total - len(expected)} rows into " in out
        assert f"less the {len(expected)} rows not carried" in out

        # each row left out, once, with its table, primary key and reason
        reported = {}
        for line in out.splitlines():
            if line.startswith("not carried: "):
                table, key, reason = line.removeprefix("not carried: ").split(" ", 2)
                reported[(table, key.removeprefix("id=").rstrip(":"))] = reason
        assert set(reported) == set(expected), out
        for row, why in expected.items():
            assert why in reported[row], (row, reported[row])

        # every other row is there; the foreign keys hold (a row whose parent was left out
        # went too); validate-data names the one consequence: an assessment whose only
        # result could not be carried is completed without one
        restored = asyncio.run(_ids(target))
        for table, ids in source_ids.items():
            assert restored[table] == ids - {i for (t, i) in expected if t == table}, table
        code, out, _ = run(capsys, "validate-data")
        assert code == 1
        assert out.strip() == f"assessments {resultless}: completed without a result", out
        carried = {name: (d.rows, d.hexdigest())
                   for name, d in asyncio.run(table_digests(target)).items()}
    untouched = {name: (d.rows, d.hexdigest())
                 for name, d in asyncio.run(table_digests(source)).items()
                 if name not in {t for (t, _) in expected}}
    assert untouched and all(carried[name] == value for name, value in untouched.items())


def test_the_same_backup_restores_whole_into_sqlite(sqlite_with_bad_rows, tmp_path, capsys,
                                                    monkeypatch):
    source, _, expected = sqlite_with_bad_rows
    backups = tmp_path / "backups"
    backup_id = _backup(capsys, monkeypatch, source, backups)
    target = f"sqlite+aiosqlite:///{tmp_path}/target.db"
    monkeypatch.setenv("DATABASE_URL", target)
    code, out, err = run(capsys, "restore", backup_id, "--dir", str(backups), "--yes")
    assert code == 0, out + err
    assert "not carried" not in out + err
    assert {n: d.hexdigest() for n, d in asyncio.run(table_digests(target)).items()} == \
        {n: d.hexdigest() for n, d in asyncio.run(table_digests(source)).items()}
    # validate-data finds the requirements an earlier version let in
    (infinite,) = [key for (table, key) in expected if table == "assessments"]
    code, out, _ = run(capsys, "validate-data")
    assert code == 1
    assert f"assessments {infinite}: requirements do not validate: workloads[0].peak_rps: " \
           "Input should be a finite number" in out.splitlines(), out


def test_the_drill_on_postgresql_names_the_rows_and_fails(sqlite_with_bad_rows, tmp_path,
                                                          capsys, monkeypatch):
    """The drill restores the SQLite backup into a scratch PostgreSQL database: it names
    the rows left out and fails, the tables that lost rows marked DIFFERENT."""
    source, _, expected = sqlite_with_bad_rows
    backups = tmp_path / "backups"
    backup_id = _backup(capsys, monkeypatch, source, backups)
    with fresh_pg_database("im_restore_drill") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        code, out, err = run(capsys, "drill", "backup-restore", "--dir", str(backups),
                             "--backup", backup_id)
    assert code == 1, out + err
    assert f"less the {len(expected)} rows not carried" in out
    assert sum(1 for line in out.splitlines() if line.startswith("  not carried: ")) \
        == len(expected)
    lost = sorted({table for table, _ in expected})
    different = sorted(line.split()[0] for line in out.splitlines() if "DIFFERENT" in line)
    assert different == lost, out
    in_order = [t for t in _manifest_order(backups, backup_id) if t in lost]
    assert err.strip() == f"error: drill failed: tables differ from the source: " \
                          f"{', '.join(in_order)}"
    assert "scratch database removed" in out


def _manifest_order(backups: Path, backup_id: str) -> list[str]:
    manifest = json.loads((backups / backup_id / "manifest.json").read_text())
    return [table["name"] for table in manifest["tables"]]
