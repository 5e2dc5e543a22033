"""``/api/v1/admin`` on SQLite and PostgreSQL: platform admins see status, the queue,
stuck runs, the audit log and failed sign-ins; an organization's owner gets 404 and no
token 401. ``infra-mind admin grant|revoke|list`` decides who is a platform admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from infra_mind.cli.main import main
from infra_mind.kit.db import session_scope
from infra_mind.models import Assessment, User, utcnow
from infra_mind.services.auth import account_digest
from tests.api.helpers import Member, create_assessment, create_member

ADMIN = "/api/v1/admin"
VIEWS = ("status", "queue", "stuck", "audit", "failed-logins")
PASSWORD = "correct horse battery"


async def platform_admin(app) -> Member:
    admin = await create_member(app)
    async with session_scope(app.state.platform.sessions) as session:
        await session.execute(update(User).where(User.id == admin.user_id)
                              .values(is_platform_admin=True))
    return admin


@pytest.mark.parametrize("view", VIEWS)
async def test_only_platform_admins(app, client, view):
    admin = await platform_admin(app)
    owner = await create_member(app)
    assert (await client.get(f"{ADMIN}/{view}", headers=admin.headers)).status_code == 200
    refused = await client.get(f"{ADMIN}/{view}", headers=owner.headers)
    assert (refused.status_code, refused.json()) == (404, {"detail": "not found"})
    anonymous = await client.get(f"{ADMIN}/{view}")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"


async def test_status(app, client, held):
    admin = await platform_admin(app)
    await create_assessment(client, admin)
    queued = await create_assessment(client, admin)
    await client.post(f"/api/v1/assessments/{queued['id']}/run", headers=admin.headers)
    body = (await client.get(f"{ADMIN}/status", headers=admin.headers)).json()
    assert body["database"]["dialect"] in ("sqlite", "postgresql")
    assert body["database"]["revision"] == body["database"]["head"]
    assert body["database"]["up_to_date"] is True
    assert body["cache"] == {"backend": "memory", "status": "ok"}
    assert body["broker"] == {"kind": "InMemoryBroker", "status": "ok"}
    assert body["queue_depth"] == 1
    assert body["assessments"] == {"draft": 1, "queued": 1, "running": 0, "completed": 0,
                                   "failed": 0, "cancelled": 0}
    assert body["encryption"]["configured"] is True
    assert body["encryption"]["source"] == "data/encryption.key"
    assert [w["role"] for w in body["workers"]] == ["api"]  # this process runs tasks


async def test_queue_and_stuck(app, client, held):
    admin = await platform_admin(app)
    ids = {}
    for name in ("waiting", "silent", "fresh"):
        ids[name] = (await create_assessment(client, admin, title=name))["id"]
        await client.post(f"/api/v1/assessments/{ids[name]}/run", headers=admin.headers)
    hour_ago = utcnow() - timedelta(hours=1)
    async with session_scope(app.state.platform.sessions) as session:
        await session.execute(update(Assessment).where(Assessment.id == ids["waiting"])
                              .values(queued_at=hour_ago))
        await session.execute(update(Assessment).where(Assessment.id == ids["silent"]).values(
            status="running", worker_id="gone:1:x", attempts=1, started_at=hour_ago,
            heartbeat_at=hour_ago, current_step="agent cto"))
    queue = (await client.get(f"{ADMIN}/queue", headers=admin.headers)).json()
    assert [r["id"] for r in queue["queued"]] == [ids["waiting"], ids["fresh"]]
    assert queue["queued"][0]["age_s"] >= 3600 > queue["queued"][1]["age_s"]
    (running,) = queue["running"]
    assert running["id"] == ids["silent"] and running["current_step"] == "agent cto"
    assert running["silent_s"] >= 3600 and running["worker_id"] == "gone:1:x"
    assert "requirements" not in running
    stuck = (await client.get(f"{ADMIN}/stuck", headers=admin.headers)).json()
    assert stuck["older_than_s"] == app.state.platform.settings.job_timeout_s
    assert [r["id"] for r in stuck["running"]] == [ids["silent"]]
    assert [r["id"] for r in stuck["queued"]] == [ids["waiting"]]
    later = (await client.get(f"{ADMIN}/stuck", headers=admin.headers,
                              params={"older_than_s": 7200})).json()
    assert later["running"] == later["queued"] == []


async def test_audit_log_pages_and_filters(app, client, held):
    admin = await platform_admin(app)
    before = datetime.now(UTC)
    for title in ("a", "b", "c"):
        await create_assessment(client, admin, title=title)
    page = (await client.get(f"{ADMIN}/audit", headers=admin.headers,
                             params={"action": "assessment.created", "limit": 2})).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert [e["detail"]["title"] for e in page["items"]] == ["c", "b"]  # newest first
    rest = (await client.get(f"{ADMIN}/audit", headers=admin.headers,
                             params={"action": "assessment.created", "limit": 2,
                                     "offset": 2})).json()
    assert [e["detail"]["title"] for e in rest["items"]] == ["a"]
    since = (await client.get(f"{ADMIN}/audit", headers=admin.headers,
                              params={"since": (before + timedelta(hours=1)).isoformat()}
                              )).json()
    assert since["total"] == 0
    offset = before.astimezone(timezone_plus_two()).isoformat()  # any offset means the same
    assert (await client.get(f"{ADMIN}/audit", headers=admin.headers,
                             params={"since": offset})).json()["total"] >= 3
    for edge, total in (("0001-01-01T00:00:00+05:00", 3), ("9999-12-31T23:59:00-05:00", 0)):
        page = await client.get(f"{ADMIN}/audit", headers=admin.headers,
                                params={"since": edge, "action": "assessment.created"})
        assert page.status_code == 200 and page.json()["total"] == total, edge
    assert (await client.get(f"{ADMIN}/audit", headers=admin.headers,
                             params={"limit": 0})).status_code == 422


def timezone_plus_two():
    from datetime import timezone

    return timezone(timedelta(hours=2))


async def _register(client, email: str) -> None:
    response = await client.post("/api/v1/auth/register", json={
        "email": email, "password": PASSWORD, "full_name": "Target"})
    assert response.status_code == 202, response.text


async def _login(client, email: str, password: str) -> int:
    return (await client.post("/api/v1/auth/login",
                              json={"email": email, "password": password})).status_code


async def test_failed_logins_per_account_and_address(app, client, monkeypatch):
    # a first wait no run of this test outlasts (the default, 1 s, can pass on a loaded
    # machine between the last failure and the sign-in that must meet it)
    monkeypatch.setattr(app.state.platform.settings, "login_first_delay_s", 200)
    admin = await platform_admin(app)
    await _register(client, "target@example.com")
    assert [await _login(client, "target@example.com", "wrong guess 1") for _ in range(2)] \
        == [401, 401]
    assert await _login(client, "nobody@example.com", "wrong guess 2") == 401
    assert await _login(client, "target@example.com", PASSWORD) == 200
    report = (await client.get(f"{ADMIN}/failed-logins", headers=admin.headers)).json()
    assert report["failures"] == 3 and report["truncated"] is False
    by_email = {a["email"]: a for a in report["accounts"]}
    target = by_email["target@example.com"]
    assert target["failures"] == 2 and target["reasons"] == {"wrong password": 2}
    assert target["addresses"] == ["127.0.0.1"] and target["locked"] is False
    unknown = by_email[None]
    assert unknown["account"] == account_digest("nobody@example.com")
    assert unknown["reasons"] == {"unknown email": 1}
    (address,) = report["addresses"]
    assert address == {**address, "address": "127.0.0.1", "failures": 3, "accounts": 2,
                       "locked": False}
    assert "nobody@example.com" not in str(report)  # emails typed are not stored
    # LOGIN_ATTEMPTS more failures for the account from this address (the sign-in that
    # succeeded cleared the pair): the pair (account, address) now waits, and the account
    # shows it; the address, under its own budget across accounts, does not
    attempts = app.state.platform.settings.login_attempts
    statuses = [await _login(client, "target@example.com", "wrong again")
                for _ in range(attempts)]
    assert statuses == [401] * attempts
    assert await _login(client, "target@example.com", PASSWORD) == 429  # not counted
    report = (await client.get(f"{ADMIN}/failed-logins", headers=admin.headers)).json()
    assert report["failures"] == 3 + attempts
    by_email = {a["email"]: a for a in report["accounts"]}
    assert by_email["target@example.com"]["locked"] is True
    assert report["addresses"][0]["locked"] is False
    future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert (await client.get(f"{ADMIN}/failed-logins", headers=admin.headers,
                             params={"since": future})).json()["failures"] == 0


# -- infra-mind admin --------------------------------------------------------------------------


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_admin_commands(database_url, monkeypatch, capsys):
    import asyncio

    from infra_mind.config import load_settings
    from infra_mind.kit.platform import Platform

    for name, value in (("ENVIRONMENT", "test"), ("JWT_SECRET_KEY", "j" * 48),
                        ("DATABASE_URL", database_url)):
        monkeypatch.setenv(name, value)
    platform = Platform.build(load_settings())

    async def add_user() -> None:
        try:
            async with session_scope(platform.sessions) as session:
                session.add(User(email="ops@example.com", password_hash="!", full_name="Ops"))
        finally:
            await platform.close()

    asyncio.run(add_user())
    assert _cli(capsys, "admin", "list")[1].startswith("no platform admins")
    code, out, _ = _cli(capsys, "admin", "grant", "Ops@Example.com")
    assert (code, out) == (0, "ops@example.com is now a platform admin\n")
    assert _cli(capsys, "admin", "list")[1] == "ops@example.com\n"
    code, out, _ = _cli(capsys, "admin", "revoke", "ops@example.com")
    assert (code, out) == (0, "ops@example.com is no longer a platform admin\n")
    code, _, err = _cli(capsys, "admin", "grant", "ghost@example.com")
    assert (code, err) == (3, "error: no account with the email ghost@example.com\n")
