"""Backups on SQLite and PostgreSQL, through the command line.

A database is filled through the real API (accounts, organizations, an assessment run by
the worker with its result, chat), then: backup -> list -> verify -> restore into an
empty database of the other dialect -> validate-data -> the same content, table by table.
Damage of any kind is named by ``backup verify``; an encrypted backup needs its key; a
restore needs ``--yes``; the drill passes on both dialects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from cryptography.fernet import Fernet

from infra_mind.api.app import create_app
from infra_mind.cli.main import main
from infra_mind.config import load_settings
from infra_mind.kit.db import make_engine, session_scope
from infra_mind.kit.migrate import alembic_config, state, upgrade
from infra_mind.models import AuditEvent, Base
from infra_mind.ops.backup import BACKUP_ID, manifest_digest
from infra_mind.ops.tables import decode, encode, row_line, snapshot, table_digests
from tests.api.helpers import REQUIREMENTS, Member, wait_for_status
from tests.platform_fixtures import CHEAP_HASHING, PG_ADMIN, fresh_pg_database

PASSWORD = "correct horse battery staple"
ASSESSMENTS = "/api/v1/assessments"
CHAT = "/api/v1/chat/conversations"
#: A moment with microseconds, and JSON with what a careless dump would change.
MOMENT = datetime(2025, 12, 31, 23, 59, 59, 123456, tzinfo=UTC)
DETAIL = {"name": "Zürich ☁ «quoted» \"and\" \\ slashed", "ratio": 0.1 + 0.2, "count": 2**53 + 1,
          "flag": False, "nothing": None, "nested": {"b": [1, 2.5, "x"], "a": {}}}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``infra-mind ARGV``: (exit code, stdout, stderr) of that command alone."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch):
    for name in ("ENCRYPTION_KEY", "BACKUP_DIR", "BACKUP_KEEP", "CONFIG_DIR", "ENVIRONMENT",
                 "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    # a command's stderr is its own: no handler an earlier test's app left on a closed stream
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [h for h in root.handlers
                                           if type(h) is not logging.StreamHandler])


# -- a database filled through the API --------------------------------------------------------

def _settings(url: str):
    return load_settings(environment="test", database_url=url, redis_url=None,
                         jwt_secret_key="t" * 48, **CHEAP_HASHING)


@contextlib.asynccontextmanager
async def api(url: str):
    app = create_app(_settings(url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


async def login(client: httpx.AsyncClient, email: str) -> Member:
    response = await client.post("/api/v1/auth/login", json={"email": email,
                                                             "password": PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    me = (await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
                           )).json()
    return Member(me["id"], me["organizations"][0]["id"], "owner", token)


async def register(client: httpx.AsyncClient, email: str, full_name: str) -> Member:
    response = await client.post("/api/v1/auth/register", json={
        "email": email, "password": PASSWORD, "full_name": full_name})
    assert response.status_code == 202, response.text
    return await login(client, email)


async def _fill(url: str) -> dict[str, Any]:
    async with api(url) as (app, client):
        ada = await register(client, "ada@example.com", "Ada Lovelace")
        grace = await register(client, "grace@example.com", "Grace Hopper – Zürich ☁")
        created = await client.post(ASSESSMENTS, headers=ada.headers, json={
            "title": "Shop ☁ «EU»", "requirements": REQUIREMENTS})
        assessment_id = created.json()["id"]
        ran = await client.post(f"{ASSESSMENTS}/{assessment_id}/run",
                                headers={**ada.headers, "Idempotency-Key": "nightly-1"})
        assert ran.status_code == 202, ran.text
        await wait_for_status(client, ada, assessment_id, timeout_s=60)
        draft = await client.post(ASSESSMENTS, headers=grace.headers, json={
            "title": "Draft", "requirements": REQUIREMENTS})
        conversation = (await client.post(CHAT, headers=ada.headers, json={
            "assessment_id": assessment_id})).json()
        asked = await client.post(f"{CHAT}/{conversation['id']}/messages", headers=ada.headers,
                                  json={"content": "What would this cost on AWS?"})
        assert asked.status_code == 201, asked.text
        await client.post(CHAT, headers=grace.headers, json={"title": "General"})
        result = (await client.get(f"{ASSESSMENTS}/{assessment_id}/result",
                                   headers=ada.headers)).json()
        async with session_scope(app.state.platform.sessions) as session:
            session.add_all([AuditEvent(action="test.kinds", detail=DETAIL, created_at=MOMENT),
                             AuditEvent(action="test.null", detail=sa.null())])
    return {"assessment_id": assessment_id, "draft_id": draft.json()["id"],
            "conversation_id": conversation["id"], "user_id": ada.user_id,
            "organization_id": ada.organization_id, "result": result}


def fill(url: str, folder: Path) -> dict[str, Any]:
    """Migrate the database at ``url`` and fill it through the API (run in ``folder``)."""
    upgrade(url)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(folder)  # the app's ./data files (checkpoints, dev key) land there
            return asyncio.run(_fill(url))
    finally:  # the app sent logs to this test's stderr: later tests have their own
        root.handlers[:] = handlers
        root.setLevel(level)


async def _result_via_api(url: str, assessment_id: str) -> dict[str, Any]:
    async with api(url) as (_, client):
        ada = await login(client, "ada@example.com")  # the password hash came through too
        response = await client.get(f"{ASSESSMENTS}/{assessment_id}/result",
                                    headers=ada.headers)
        assert response.status_code == 200, response.text
        return response.json()


def digests(url: str) -> dict[str, tuple[int, str]]:
    return {name: (d.rows, d.hexdigest())
            for name, d in asyncio.run(table_digests(url)).items()}


@dataclass(frozen=True)
class Source:
    dialect: str
    url: str
    facts: dict[str, Any]


@pytest.fixture(scope="module")
def sqlite_source(tmp_path_factory) -> Source:
    folder = tmp_path_factory.mktemp("sqlite-source")
    url = f"sqlite+aiosqlite:///{folder}/source.db"
    return Source("sqlite", url, fill(url, folder))


@pytest.fixture(scope="module")
def pg_source(tmp_path_factory) -> Iterator[Source]:
    with fresh_pg_database("im_backup_src") as url:
        yield Source("postgresql", url, fill(url, tmp_path_factory.mktemp("pg-source")))


@pytest.fixture(params=["sqlite", "postgresql"])
def source(request) -> Source:
    return request.getfixturevalue("sqlite_source" if request.param == "sqlite" else "pg_source")


@contextlib.contextmanager
def empty_database(dialect: str, folder: Path) -> Iterator[str]:
    if dialect == "sqlite":
        yield f"sqlite+aiosqlite:///{folder}/target.db"
        return
    with fresh_pg_database("im_backup_dst") as url:
        yield url


@pytest.fixture(scope="module")
def sqlite_backup(sqlite_source, tmp_path_factory) -> tuple[Path, str]:
    """One backup of the SQLite source (copy it before damaging it)."""
    folder = tmp_path_factory.mktemp("backups")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", sqlite_source.url)
        assert main(["backup", "--dir", str(folder)]) == 0
    (found,) = [p.name for p in folder.iterdir()]
    return folder, found


def _tables(url: str) -> list[str]:
    async def names() -> list[str]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        finally:
            await engine.dispose()

    return asyncio.run(names())


# -- the round trip -------------------------------------------------------------------------

def test_backup_restore_into_the_other_dialect_keeps_every_row(source, tmp_path, capsys,
                                                                monkeypatch):
    backups = tmp_path / "backups"
    monkeypatch.setenv("DATABASE_URL", source.url)
    code, out, _ = run(capsys, "backup", "--dir", str(backups))
    assert code == 0, out
    backup_id = out.split()[-1]
    assert BACKUP_ID.fullmatch(backup_id) and (backups / backup_id / "manifest.json").is_file()
    manifest = json.loads((backups / backup_id / "manifest.json").read_text())
    assert manifest["source"]["dialect"] == source.dialect
    assert manifest["alembic_revision"] == state(source.url).head
    assert manifest["encryption"] is None
    rows = {t["name"]: t["rows"] for t in manifest["tables"]}
    assert rows["users"] == 2 and rows["assessment_results"] == 1 and rows["chat_messages"] == 2
    assert set(rows) == {t.name for t in Base.metadata.sorted_tables}  # 0003's too

    code, out, _ = run(capsys, "backup", "list", "--dir", str(backups))
    assert code == 0
    assert backup_id in out and source.dialect in out and manifest["alembic_revision"] in out

    code, out, _ = run(capsys, "backup", "verify", backup_id, "--dir", str(backups))
    assert code == 0 and f"backup {backup_id} ok" in out
    code, out, _ = run(capsys, "backup", "--dir", str(backups), "verify")  # the newest
    assert code == 0 and f"backup {backup_id} ok" in out

    other = "postgresql" if source.dialect == "sqlite" else "sqlite"
    with empty_database(other, tmp_path) as target:
        monkeypatch.setenv("DATABASE_URL", target)
        code, _, err = run(capsys, "restore", backup_id, "--dir", str(backups))
        assert code == 2 and "add --yes" in err and len(err.strip().splitlines()) == 1
        assert not [t for t in _tables(target) if t != "alembic_version"]  # nothing changed

        code, out, err = run(capsys, "restore", backup_id, "--dir", str(backups), "--yes")
        assert code == 0, err
        assert f"from empty to {manifest['alembic_revision']}" in out
        assert f"restored {manifest['rows']} rows into {len(rows)} tables" in out

        code, out, _ = run(capsys, "validate-data")
        assert code == 0 and out.strip() == f"data valid: {manifest['rows']} rows in " \
                                            f"{len(rows)} tables"
        assert digests(target) == digests(source.url)
        restored = asyncio.run(_result_via_api(target, source.facts["assessment_id"]))
        assert restored == source.facts["result"]
        assert asyncio.run(_audit_rows(target)) == {"test.kinds": (MOMENT, DETAIL),
                                                    "test.null": (None, None)}


async def _audit_rows(url: str) -> dict[str, tuple[datetime | None, Any]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(
                AuditEvent.action, AuditEvent.created_at, AuditEvent.detail,
                AuditEvent.detail.is_(sa.null()).label("sql_null"))
                .where(AuditEvent.action.like("test.%")))).all()
    finally:
        await engine.dispose()
    found = {}
    for action, created_at, detail, sql_null in rows:
        if action == "test.null":
            assert sql_null, "a SQL NULL came back as JSON null"
            found[action] = (None, detail)
        else:
            moment = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
            found[action] = (moment, detail)
    return found


def test_restore_replaces_the_rows_of_an_existing_database(source, tmp_path, capsys,
                                                           monkeypatch):
    backups = tmp_path / "backups"
    monkeypatch.setenv("DATABASE_URL", source.url)
    code, out, _ = run(capsys, "backup", "--dir", str(backups))
    backup_id = out.split()[-1]
    with empty_database(source.dialect, tmp_path) as target:
        other = fill(target, tmp_path)  # a different world: its own users and assessments
        monkeypatch.setenv("DATABASE_URL", target)
        code, out, err = run(capsys, "restore", backup_id, "--dir", str(backups), "--yes")
        assert code == 0, err
        assert "removed" in out and "migrated" not in out
        assert digests(target) == digests(source.url)
        assert other["assessment_id"] != source.facts["assessment_id"]


def test_restore_moves_the_database_to_the_backups_revision(tmp_path, capsys, monkeypatch):
    old = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    command.upgrade(alembic_config(old), "0001")
    asyncio.run(_execute(old, "INSERT INTO organizations (id, name, created_at) VALUES "
                              "('org-1', 'Old Org', '2025-01-02 03:04:05.000006')"))
    backups = tmp_path / "backups"
    monkeypatch.setenv("DATABASE_URL", old)
    code, out, _ = run(capsys, "backup", "--dir", str(backups))
    backup_id = out.split()[-1]
    assert "at revision 0001" in out

    target = f"sqlite+aiosqlite:///{tmp_path}/new.db"
    fill(target, tmp_path)
    monkeypatch.setenv("DATABASE_URL", target)
    code, out, err = run(capsys, "restore", backup_id, "--dir", str(backups), "--yes")
    assert code == 0, err
    head = state(target).head
    assert f"from {head} to 0001" in out and "run `infra-mind migrate`" in out
    assert state(target).current == "0001"
    upgrade(target)  # what `infra-mind serve` does next
    code, out, _ = run(capsys, "validate-data")
    assert code == 0 and out.startswith("data valid: 1 rows")


async def _execute(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.exec_driver_sql(statement)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_backup_reads_one_snapshot(dialect, tmp_path):
    insert = "INSERT INTO organizations (id, name, created_at) VALUES ('{}', 'Org', " \
             "CURRENT_TIMESTAMP)"

    async def read_while_another_writes(url: str) -> None:
        await _execute(url, insert.format("org-1"))
        async with snapshot(url) as conn:
            first = await conn.scalar(sa.text("SELECT count(*) FROM organizations"))
            await _execute(url, insert.format("org-2"))  # committed meanwhile
            again = await conn.scalar(sa.text("SELECT count(*) FROM organizations"))
            assert (first, again) == (1, 1)
            with pytest.raises(sa.exc.DBAPIError, match=r"read.only|readonly"):
                await conn.execute(sa.text(insert.format("org-3")))

    with empty_database(dialect, tmp_path) as url:
        upgrade(url)
        asyncio.run(read_while_another_writes(url))


@pytest.mark.parametrize(("kind", "value"), [
    ("datetime", MOMENT), ("date", MOMENT.date()), ("json", DETAIL), ("json", [1, "a"]),
    ("bool", False), ("int", 2**62), ("float", 0.1 + 0.2), ("decimal", Decimal("12.3400")),
    ("uuid", uuid.UUID("0c1d2e3f-0000-4000-8000-000000000001")), ("text", "Zürich ☁\n\t"),
    ("bytes", bytes(range(256))), ("text", None)])
def test_every_kind_of_value_survives_its_json_form(kind, value):
    line = row_line([encode(kind, value)])
    (back,) = json.loads(line)
    assert decode(kind, back) == value


def test_a_naive_datetime_is_utc():  # how SQLite returns what the application stored
    naive = MOMENT.replace(tzinfo=None)
    assert decode("datetime", encode("datetime", naive)) == MOMENT
    assert encode("datetime", MOMENT.astimezone(timezone(timedelta(hours=-5)))) == \
        "2025-12-31T23:59:59.123456+00:00"


# -- damage ---------------------------------------------------------------------------------

def _first_data_file(folder: Path) -> Path:
    return sorted((folder / "tables").glob("users.*"))[0]


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_manifest(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["tables"][0]["rows"] += 1
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


DAMAGE = {
    "flipped byte": (lambda f: _flip(_first_data_file(f)), "tables/users.0001.jsonl.gz: "
                                                           "SHA-256 does not match"),
    "truncated": (lambda f: _first_data_file(f).write_bytes(
        _first_data_file(f).read_bytes()[:-7]), "tables/users.0001.jsonl.gz: "),
    "deleted": (lambda f: _first_data_file(f).unlink(), "tables/users.0001.jsonl.gz: missing"),
    "edited manifest": (_edit_manifest, "manifest.json: content does not match its digest"),
    "stray file": (lambda f: (f / "tables" / "extra.jsonl").write_text("{}\n"),
                   "tables/extra.jsonl: not listed in the manifest"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_verify_names_what_is_damaged(damage, sqlite_backup, tmp_path, capsys, monkeypatch):
    source_dir, backup_id = sqlite_backup
    backups = tmp_path / "backups"
    shutil.copytree(source_dir, backups)
    harm, expected = DAMAGE[damage]
    harm(backups / backup_id)
    code, out, err = run(capsys, "backup", "verify", backup_id, "--dir", str(backups))
    assert code == 1
    assert f"{backup_id}/{expected}" in out
    assert err.startswith(f"error: backup {backup_id} is damaged") and expected in err
    assert len(err.strip().splitlines()) == 1
    # a restore verifies first and changes nothing
    target = f"sqlite+aiosqlite:///{tmp_path}/target.db"
    monkeypatch.setenv("DATABASE_URL", target)
    code, _, err = run(capsys, "restore", backup_id, "--dir", str(backups), "--yes")
    assert code == 1 and "failed verification, nothing was changed" in err
    assert _tables(target) == []


def test_unknown_backup_is_not_found(sqlite_backup, capsys):
    folder, _ = sqlite_backup
    code, _, err = run(capsys, "backup", "verify", "20000101T000000Z-000000", "--dir",
                       str(folder))
    assert code == 3 and err.strip() == f"error: no backup 20000101T000000Z-000000 in {folder}"


# -- encryption -----------------------------------------------------------------------------

def test_encrypted_backup_needs_its_key(sqlite_source, tmp_path, capsys, monkeypatch):
    key, wrong = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    backups = tmp_path / "backups"
    monkeypatch.setenv("DATABASE_URL", sqlite_source.url)
    monkeypatch.setenv("ENCRYPTION_KEY", key)
    code, out, _ = run(capsys, "backup", "--dir", str(backups))
    assert code == 0 and "encrypted with key" in out
    backup_id = out.split()[-1]
    folder = backups / backup_id
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["encryption"]["scheme"] == "fernet" and manifest["manifest_seal"]
    files = sorted((folder / "tables").iterdir())
    assert files and all(f.name.endswith(".jsonl.gz.enc") for f in files)
    assert not any(b"ada@example.com" in f.read_bytes() for f in files)

    monkeypatch.delenv("ENCRYPTION_KEY")
    for argv in (["backup", "verify", backup_id], ["restore", backup_id, "--yes"]):
        code, _, err = run(capsys, *argv, "--dir", str(backups))
        assert code == 1 and len(err.strip().splitlines()) == 1
        assert err.startswith(f"error: backup {backup_id} is encrypted (key ")
        assert "set ENCRYPTION_KEY" in err

    monkeypatch.setenv("ENCRYPTION_KEY", wrong)
    code, _, err = run(capsys, "backup", "verify", backup_id, "--dir", str(backups))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "which ENCRYPTION_KEY does not hold (wrong key?)" in err

    monkeypatch.setenv("ENCRYPTION_KEY", f"{wrong},{key}")  # rotated: the old key still reads
    code, out, _ = run(capsys, "backup", "verify", backup_id, "--dir", str(backups))
    assert code == 0 and "ok" in out
    target = f"sqlite+aiosqlite:///{tmp_path}/target.db"
    monkeypatch.setenv("DATABASE_URL", target)
    code, _, err = run(capsys, "restore", backup_id, "--dir", str(backups), "--yes")
    assert code == 0, err
    assert digests(target) == digests(sqlite_source.url)

    # an edit whose digest was recomputed is caught by the seal
    manifest["tables"][0]["rows"] += 1
    manifest["manifest_sha256"] = manifest_digest(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    code, out, _ = run(capsys, "backup", "verify", backup_id, "--dir", str(backups))
    assert code == 1 and "manifest.json: its seal does not match" in out


# -- atomicity, defaults, retention ---------------------------------------------------------

def test_an_interrupted_backup_leaves_no_backup(sqlite_source, tmp_path, capsys, monkeypatch):
    from infra_mind.ops import backup as backup_module

    backups = tmp_path / "backups"
    monkeypatch.setenv("DATABASE_URL", sqlite_source.url)
    calls = {"n": 0}
    real = backup_module.row_line

    def dies_midway(values):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        return real(values)

    monkeypatch.setattr(backup_module, "row_line", dies_midway)
    code, _, err = run(capsys, "backup", "--dir", str(backups))
    assert code == 1 and "No space left on device" in err
    assert list(backups.iterdir()) == []  # neither a backup nor its partial directory
    monkeypatch.setattr(backup_module, "row_line", real)

    # a process killed outright leaves its partial directory: never taken for a backup
    (backups / ".20260101T000000Z-abcdef.partial" / "tables").mkdir(parents=True)
    code, out, _ = run(capsys, "backup", "list", "--dir", str(backups))
    assert code == 0 and out.startswith("no backups in") and "1 interrupted backup" in out
    code, _, err = run(capsys, "backup", "verify", "--dir", str(backups))
    assert code == 3 and "no backups" in err


def test_backup_dir_and_keep_come_from_settings(sqlite_source, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_source.url)
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "nightly"))
    monkeypatch.setenv("BACKUP_KEEP", "2")
    ids = []
    for _ in range(3):
        code, out, _ = run(capsys, "backup")
        assert code == 0
        ids.append(out.split()[-1])
    assert f"removed {ids[0]} (BACKUP_KEEP=2)" in out
    assert sorted(p.name for p in (tmp_path / "nightly").iterdir()) == sorted(ids[1:])
    code, out, _ = run(capsys, "backup", "verify")  # the newest by default
    assert code == 0 and f"backup {ids[-1]} ok" in out


def test_default_backup_dir_is_under_data(sqlite_source, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_source.url)
    code, out, _ = run(capsys, "backup")
    assert code == 0 and (tmp_path / "data" / "backups" / out.split()[-1]).is_dir()


# -- the drill ------------------------------------------------------------------------------

async def _database_exists(name: str) -> bool:
    """Whether ``name`` exists (asked by name: other runs' drills may come and go)."""
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


def test_drill_passes_and_cleans_up(source, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", source.url)
    code, out, err = run(capsys, "drill", "backup-restore", "--dir", str(tmp_path / "b"))
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[-1].startswith("drill passed in ") and "tables identical, data valid" in out
    assert "DIFFERENT" not in out and "validate-data on the restored copy: data valid" in out
    if source.dialect == "postgresql":
        scratch = out.split("scratch database ", 1)[1].split()[0]
        assert scratch.startswith("im_drill_") and not asyncio.run(_database_exists(scratch))
    else:
        scratch = out.split("temporary file ", 1)[1].split()[0]
        assert not Path(scratch).parent.exists()
    # the drill took a real backup, and can be run again on it
    (backup_id,) = [p.name for p in (tmp_path / "b").iterdir()]
    code, out, _ = run(capsys, "drill", "backup-restore", "--dir", str(tmp_path / "b"),
                       "--backup", backup_id)
    assert code == 0 and f"used backup {backup_id}" in out
