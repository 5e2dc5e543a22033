"""Maintenance on SQLite and PostgreSQL: ``cleanup-old-data`` deletes exactly what it says
(and nothing in a dry run), ``clear-stuck-workflows`` requeues or fails a planted stale
run (and a cached list read right after shows it), ``check-agent-state`` shows a running
assessment's agents and checkpoint, and ``warm-cache`` fills the result cache the API
reads."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from infra_mind.cli.main import main
from infra_mind.config import load_settings
from infra_mind.kit.db import session_scope
from infra_mind.kit.platform import Platform
from infra_mind.kit.pubsub import channel_of
from infra_mind.models import (
    Assessment,
    AssessmentResultRow,
    AuditEvent,
    ChatMessage,
    Conversation,
    IdempotencyKey,
    Membership,
    Organization,
    RefreshToken,
    User,
    new_id,
    utcnow,
)
from infra_mind.ops.maintenance import CLEANUP_ACTION, cleanup_old_data, warm_cache
from infra_mind.ops.workflows import agent_states, clear_stuck
from infra_mind.repositories.assessments import STATUS_CHANNEL, RunRepository
from infra_mind.worker import tasks
from tests.api.helpers import REQUIREMENTS, Member, create_assessment, create_member
from tests.api.test_cached_reads import another_process_on_redis, database_use

JWT = "j" * 48
TABLES = (AssessmentResultRow, AuditEvent, RefreshToken, IdempotencyKey, Conversation,
          ChatMessage, Assessment)


async def _counts(platform: Platform) -> dict[str, int]:
    async with platform.sessions() as session:
        return {t.__tablename__: int(await session.scalar(select(func.count())
                                                          .select_from(t)))
                for t in TABLES}


async def _org_and_user(session) -> tuple[str, str]:
    organization = Organization(name="retention")
    user = User(email=f"{new_id()}@example.com", password_hash="!", full_name="R")
    session.add_all([organization, user])
    await session.flush()
    session.add(Membership(organization_id=organization.id, user_id=user.id, role="owner"))
    return organization.id, user.id


def _assessment(organization_id: str, user_id: str, status: str) -> Assessment:
    return Assessment(organization_id=organization_id, owner_id=user_id, title=status,
                      requirements=REQUIREMENTS, requirements_hash="h", status=status)


async def _plant_old_data(platform: Platform) -> dict[str, Any]:
    """Rows on both sides of a 30-day cutoff (audit events: of a 90-day one)."""
    now = utcnow()
    old, recent, ancient = now - timedelta(days=40), now - timedelta(days=5), \
        now - timedelta(days=100)
    async with session_scope(platform.sessions) as session:
        org, user = await _org_and_user(session)
        done = _assessment(org, user, "completed")
        busy = _assessment(org, user, "running")
        session.add_all([done, busy])
        await session.flush()
        for assessment in (done, busy):
            for version, created in ((1, old), (2, old), (3, old)):
                session.add(AssessmentResultRow(
                    assessment_id=assessment.id, version=version, created_at=created,
                    catalog_as_of=now.date(), result={"v": version}))
        session.add_all([AuditEvent(action="old.event", actor_id=None, created_at=ancient),
                         AuditEvent(action="month.event", actor_id=None, created_at=old),
                         AuditEvent(action="new.event", actor_id=None, created_at=recent)])
        family = new_id()
        session.add_all([
            RefreshToken(user_id=user, family_id=family, expires_at=old),  # expired long ago
            RefreshToken(user_id=user, family_id=family, expires_at=now + timedelta(days=9),
                         revoked_at=old),  # revoked long ago
            RefreshToken(user_id=user, family_id=family, expires_at=now + timedelta(days=9),
                         used_at=old),  # used but alive: kept for reuse detection
            RefreshToken(user_id=user, family_id=family, expires_at=recent)])  # just expired
        session.add_all([IdempotencyKey(user_id=user, key="a", assessment_id=done.id,
                                        created_at=old),
                         IdempotencyKey(user_id=user, key="b", assessment_id=busy.id,
                                        created_at=old),
                         IdempotencyKey(user_id=user, key="c", assessment_id=done.id,
                                        created_at=recent)])
        quiet = Conversation(user_id=user, title="quiet", created_at=old, updated_at=old)
        active = Conversation(user_id=user, title="active", created_at=old, updated_at=recent)
        session.add_all([quiet, active])
        await session.flush()
        for conversation in (quiet, active):
            for role in ("user", "assistant"):
                session.add(ChatMessage(conversation_id=conversation.id, role=role,
                                        content="hi", citations=[], author=role,
                                        created_at=old))
    return {"done": done.id, "busy": busy.id, "quiet": quiet.id, "active": active.id}


async def test_cleanup_deletes_exactly_what_it_says(app):
    platform = app.state.platform
    planted = await _plant_old_data(platform)
    before = await _counts(platform)
    dry = await cleanup_old_data(platform, days=30, audit_days=90, dry_run=True)
    expected = {"result_versions": 2, "conversations": 1, "idempotency_keys": 1,
                "refresh_tokens": 2, "audit_events": 1, "chat_messages": 2}
    assert dry.counts() == expected and dry.audit_event_id is None
    assert await _counts(platform) == before  # a dry run changes nothing

    report = await cleanup_old_data(platform, days=30, audit_days=90, batch_size=1)
    assert report.counts() == expected
    assert {k.kind: k.batches for k in report.kinds}["result_versions"] == 2
    after = await _counts(platform)
    assert after == {**before, "assessment_results": before["assessment_results"] - 2,
                     "audit_events": before["audit_events"] - 1 + 1,  # + the cleanup's own
                     "refresh_tokens": before["refresh_tokens"] - 2,
                     "idempotency_keys": before["idempotency_keys"] - 1,
                     "conversations": before["conversations"] - 1,
                     "chat_messages": before["chat_messages"] - 2}
    async with platform.sessions() as session:
        versions = (await session.execute(
            select(AssessmentResultRow.assessment_id, AssessmentResultRow.version)
            .order_by(AssessmentResultRow.assessment_id, AssessmentResultRow.version))).all()
        conversations = set((await session.execute(select(Conversation.id))).scalars())
        actions = set((await session.execute(select(AuditEvent.action))).scalars())
        event = await session.get(AuditEvent, report.audit_event_id)
    # the completed assessment keeps its latest version; the running one keeps all three
    assert sorted(versions) == sorted([(planted["done"], 3), (planted["busy"], 1),
                                       (planted["busy"], 2), (planted["busy"], 3)])
    assert conversations == {planted["active"]}
    assert actions == {"month.event", "new.event", CLEANUP_ACTION}
    assert event.action == CLEANUP_ACTION and event.detail == {
        "days": 30, "audit_days": 90, "deleted": expected}
    again = await cleanup_old_data(platform, days=30, audit_days=90)
    assert sum(again.counts().values()) == 0


# -- stuck runs ------------------------------------------------------------------------------


@pytest.fixture
def sweeper_blind(app):
    """The app's own sweeper (``tasks.sweep_forever``, a pass every few seconds) sees no
    planted run as stale or lost, so only the operator's command acts on them: on a loaded
    CI machine it had requeued the planted stale run first, and the command found it
    "left" where "failed" was asserted. Calling it gives the sweeper its rule back."""
    settings = app.state.platform.settings
    saved = settings.run_stale_after_s, settings.job_timeout_s

    def restore() -> None:
        settings.run_stale_after_s, settings.job_timeout_s = saved

    # longer than the planted runs have been silent or waiting (2 hours)
    settings.run_stale_after_s = settings.job_timeout_s = 3 * 3600
    yield restore
    restore()


#: Cached reads tried, each in its own window, before one is required to use no database.
CACHED_READ_TRIES = 3


async def _read_from_the_cache(app, client, headers: dict[str, str]) -> dict[str, Any]:
    """The assessments list, read with no database use: the app's sweeper (blind to the
    planted runs, but still sweeping) can query inside one read's window (CI: its
    waiting-runs query landed in one), so a read is tried up to ``CACHED_READ_TRIES`` times.
    A list not served from the cache uses the database on every read, and fails."""
    uses = []
    for _ in range(CACHED_READ_TRIES):
        with database_use(app) as use:
            listed = (await client.get("/api/v1/assessments", headers=headers)).json()
        if use.none:
            return listed
        uses.append(use)
    raise AssertionError(f"every read used the database: {uses}")


async def _plant_stuck(app, client, platform: Platform,
                       owner: Member | None = None) -> dict[str, str]:
    owner = owner or await create_member(app)
    ids = {}
    for name in ("stale", "waiting", "live"):
        ids[name] = (await create_assessment(client, owner, title=name))["id"]
        assert (await client.post(f"/api/v1/assessments/{ids[name]}/run",
                                  headers=owner.headers)).status_code == 202
    long_ago = utcnow() - timedelta(hours=2)
    async with session_scope(platform.sessions) as session:
        await session.execute(update(Assessment).where(Assessment.id == ids["stale"]).values(
            status="running", worker_id="gone:1:dead", attempts=1, started_at=long_ago,
            heartbeat_at=long_ago, progress=45, current_step="agents cloud_engineer"))
        await session.execute(update(Assessment).where(Assessment.id == ids["waiting"])
                              .values(queued_at=long_ago))
        await session.execute(update(Assessment).where(Assessment.id == ids["live"]).values(
            status="running", worker_id="here:2:alive", attempts=1, started_at=long_ago,
            heartbeat_at=utcnow()))
    return ids


async def _row(platform: Platform, assessment_id: str) -> Assessment:
    async with platform.sessions() as session:
        return await session.get(Assessment, assessment_id)


async def test_clear_stuck_lists_then_requeues(app, client, held, sweeper_blind):
    platform = app.state.platform
    ids = await _plant_stuck(app, client, platform)
    held.clear()
    listed = await clear_stuck(platform, older_than_s=1800)
    assert {s.run.id for s in listed.runs} == {ids["stale"], ids["waiting"]}
    assert {s.outcome for s in listed.runs} == {"listed"}
    dry = await clear_stuck(platform, older_than_s=1800, action="requeue", dry_run=True)
    assert len(dry.runs) == 2 and (await _row(platform, ids["stale"])).status == "running"

    report = await clear_stuck(platform, older_than_s=1800, action="requeue",
                               send=tasks.enqueue_run)
    assert {s.run.id: s.outcome for s in report.runs} == {ids["stale"]: "requeued",
                                                          ids["waiting"]: "requeued"}
    assert sorted(held) == sorted([ids["stale"], ids["waiting"]]) and report.sent == 2
    stale = await _row(platform, ids["stale"])
    assert stale.status == "queued" and stale.worker_id is None
    assert stale.error == ("requeued by an operator: worker gone:1:dead sent no heartbeat "
                           "for more than 1800 s")
    assert (await _row(platform, ids["live"])).status == "running"
    async with platform.sessions() as session:
        requeued = (await session.execute(select(AuditEvent.object_id).where(
            AuditEvent.action == "maintenance.stuck_requeued"))).scalars().all()
    assert sorted(requeued) == sorted([ids["stale"], ids["waiting"]])
    # sent again, they run: the stale one resumes as its second attempt
    assert await tasks.run_assessment(ids["stale"]) == "completed"
    assert (await _row(platform, ids["stale"])).attempts == 2


async def test_requeue_without_a_stream_leaves_them_to_the_sweeper(app, client, held,
                                                                  sweeper_blind):
    platform = app.state.platform
    ids = await _plant_stuck(app, client, platform)
    held.clear()
    report = await clear_stuck(platform, older_than_s=1800, action="requeue")
    assert report.sent == 0 and held == []
    sweeper_blind()  # the sweeper's own rule, as it runs
    assert await tasks.requeue_stale(platform) == 0  # nothing running is stale now...
    assert sorted(held) == sorted([ids["stale"], ids["waiting"]])  # ...both were sent


async def test_clear_stuck_fails_with_the_reason(app, client, held, sweeper_blind):
    platform = app.state.platform
    ids = await _plant_stuck(app, client, platform)
    assert await tasks.requeue_stale(platform) == 0  # a pass of the app's sweeper: blind
    report = await clear_stuck(platform, older_than_s=1800, action="fail")
    assert {s.outcome for s in report.runs} == {"failed"}
    stale, waiting = await _row(platform, ids["stale"]), await _row(platform, ids["waiting"])
    assert stale.status == waiting.status == "failed"
    assert stale.error == ("failed by an operator: worker gone:1:dead sent no heartbeat for "
                           "more than 1800 s")
    assert waiting.error == "failed by an operator: queued for more than 1800 s"
    assert stale.finished_at is not None
    assert (await _row(platform, ids["live"])).status == "running"
    again = await clear_stuck(platform, older_than_s=1800, action="fail")
    assert again.runs == []


@pytest.mark.parametrize(("action", "became"), [("fail", "failed"), ("requeue", "queued")])
async def test_a_cleared_run_is_seen_at_once_by_a_cached_list_and_by_streams(
        app, client, held, sweeper_blind, action, became):
    """The operator's changes are made as the worker's are: once committed, the
    organization's cached lists are dropped (a list read right after shows them, not the
    cached page for up to its TTL) and each new status is announced to event streams."""
    platform = app.state.platform
    owner = await create_member(app)
    ids = await _plant_stuck(app, client, platform, owner)
    before = (await client.get("/api/v1/assessments", headers=owner.headers)).json()
    cached = await _read_from_the_cache(app, client, owner.headers)
    assert cached == before  # served from the cache
    heard: list[dict[str, Any]] = []
    channel_of(platform, STATUS_CHANNEL).subscribe(heard.append)

    await clear_stuck(platform, older_than_s=1800, action=action)

    listed = {item["id"]: item for item in
              (await client.get("/api/v1/assessments", headers=owner.headers)).json()["items"]}
    assert {name: listed[aid]["status"] for name, aid in ids.items()} == {
        "stale": became, "waiting": became, "live": "running"}
    if action == "requeue":  # queued again: since a new time
        was = {item["id"]: item["queued_at"] for item in before["items"]}
        assert listed[ids["waiting"]]["queued_at"] != was[ids["waiting"]]
    announced = {m["id"]: m["status"]["status"] for m in heard}
    assert announced[ids["stale"]] == became
    if action == "fail":
        assert announced[ids["waiting"]] == "failed"


async def test_on_redis_the_commands_change_reaches_the_apis_cached_lists(
        app, client, held, sweeper_blind):
    """The command runs in a process of its own: with Redis, the lists it drops are those
    the API process serves. (Without Redis it cannot reach the API's memory: there the
    lists show it within ``LIST_TTL_S``.)"""
    platform = app.state.platform
    owner = await create_member(app)
    ids = await _plant_stuck(app, client, platform, owner)
    async with another_process_on_redis(platform) as command:
        before = (await client.get("/api/v1/assessments", headers=owner.headers)).json()
        cached = await _read_from_the_cache(app, client, owner.headers)
        assert cached == before

        await clear_stuck(command, older_than_s=1800, action="fail")

        listed = {item["id"]: item["status"] for item in (await client.get(
            "/api/v1/assessments", headers=owner.headers)).json()["items"]}
        assert listed == {ids["stale"]: "failed", ids["waiting"]: "failed",
                          ids["live"]: "running"}


# -- agents and checkpoints ------------------------------------------------------------------


async def test_agent_state_shows_the_agent_and_its_checkpoint(app, client, held):
    platform = app.state.platform
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    await client.post(f"/api/v1/assessments/{aid}/run", headers=owner.headers)
    async with session_scope(platform.sessions) as session:
        repo = RunRepository(session)
        assert await repo.claim(aid, "host:7:abc", utcnow())
        assert await repo.step(aid, "host:7:abc", progress=70, current_step="agent cto",
                               now=utcnow())
        thread_id = await repo.run_key(aid)
    # the agents' checkpoint, as a worker leaves it (here: a whole run's)
    await tasks.agents_of(platform).advise(REQUIREMENTS, thread_id=thread_id)
    report = await agent_states(platform)
    (state,) = [s for s in report.running if s.run.id == aid]
    assert state.run.current_step == "agent cto" and state.run.worker_id == "host:7:abc"
    assert state.run.attempts == 1 and not state.stuck and state.thread_id == thread_id
    assert state.checkpoint is not None
    assert {"research", "cto", "report_writer"} <= set(state.checkpoint["agents_done"])


# -- warm-cache ------------------------------------------------------------------------------


async def test_warm_cache_fills_the_result_cache(app, client, held):
    platform = app.state.platform
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    await client.post(f"/api/v1/assessments/{aid}/run", headers=owner.headers)
    assert await tasks.run_assessment(aid) == "completed"
    first = await warm_cache(platform)
    assert first.catalog_rows > 1000
    assert (first.results_considered, first.results_cached, first.results_already) == (1, 1, 0)
    second = await warm_cache(platform)
    assert (second.results_cached, second.results_already) == (0, 1)
    read = await client.get(f"/api/v1/assessments/{aid}/result", headers=owner.headers)
    assert read.status_code == 200
    hits = platform.metrics.registry.get_sample_value("cache_requests_total",
                                                      {"result": "hit"})
    assert hits == 2  # the second warm-up and the API's read


# -- the commands ----------------------------------------------------------------------------


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _environment(monkeypatch, database_url: str) -> Platform:
    for name, value in (("ENVIRONMENT", "test"), ("JWT_SECRET_KEY", JWT),
                        ("DATABASE_URL", database_url)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return Platform.build(load_settings())


def test_cleanup_command(database_url, monkeypatch, capsys):
    platform = _environment(monkeypatch, database_url)

    async def plant() -> None:
        try:
            await _plant_old_data(platform)
        finally:
            await platform.close()

    asyncio.run(plant())
    code, out, _ = _cli(capsys, "cleanup-old-data", "--days", "30", "--dry-run")
    assert code == 0 and "[dry run: nothing changed]" in out
    assert "would delete 8 rows" in out  # 2 + 1 (+2 messages) + 1 + 2 + 0 audit (365 days)
    code, out, _ = _cli(capsys, "cleanup-old-data", "--days", "30", "--audit-days", "90")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "retention: 30 days (audit events: 90 days)"
    assert lines[1].split()[:2] == ["result_versions", "2"]
    assert lines[2].split()[:2] == ["conversations", "1"]
    assert lines[2].endswith("; 2 messages with them")
    assert lines[-1].startswith(f"deleted 9 rows; recorded as audit event {CLEANUP_ACTION} ")
    monkeypatch.setenv("RETENTION_DAYS", "45")
    code, out, _ = _cli(capsys, "cleanup-old-data", "--dry-run")
    assert code == 0 and out.startswith("retention: 45 days (audit events: 365 days)")
    code, _, err = _cli(capsys, "cleanup-old-data", "--days", "0")
    assert code == 2 and len(err.strip().splitlines()) == 1


def _plant_silent_run(platform: Platform) -> str:
    """A run whose worker went silent an hour ago, at "agent cto"; the platform closed."""
    async def plant() -> str:
        try:
            async with session_scope(platform.sessions) as session:
                org, user = await _org_and_user(session)
                run = _assessment(org, user, "running")
                run.worker_id, run.attempts, run.current_step = "gone:1:dead", 1, "agent cto"
                run.started_at = run.heartbeat_at = utcnow() - timedelta(hours=1)
                session.add(run)
            return run.id
        finally:
            await platform.close()

    return asyncio.run(plant())


def test_stuck_and_agent_state_commands(database_url, monkeypatch, capsys):
    aid = _plant_silent_run(_environment(monkeypatch, database_url))
    code, out, _ = _cli(capsys, "check-agent-state", "--json")
    doc = json.loads(out)
    assert code == 1  # a run silent past JOB_TIMEOUT_S: stuck
    (running,) = doc["running"]
    assert running["id"] == aid and running["current_step"] == "agent cto"
    assert running["stuck"] is True and running["checkpoint"] is None
    assert running["thread_id"].startswith(f"{aid}:v1:")
    code, out, _ = _cli(capsys, "check-agent-state")
    assert code == 1 and "agent cto" in out and "STUCK" in out
    code, out, _ = _cli(capsys, "clear-stuck-workflows", "--older-than", "30m")
    assert code == 0 and out.splitlines()[0] == "1 stuck for more than 1800 s"
    assert out.splitlines()[-1] == "nothing changed: add --requeue or --fail"
    code, _, err = _cli(capsys, "clear-stuck-workflows", "--requeue", "--fail")
    assert code == 2 and err.strip() == "error: --requeue and --fail exclude each other"
    code, _, err = _cli(capsys, "clear-stuck-workflows", "--older-than", "soon")
    assert code == 2 and "is not a duration" in err
    code, out, _ = _cli(capsys, "clear-stuck-workflows", "--older-than", "2h", "--fail")
    assert code == 0 and out.startswith("0 stuck for more than 7200 s")
    code, out, _ = _cli(capsys, "clear-stuck-workflows", "--fail")
    assert code == 0 and "-> failed" in out and out.splitlines()[-1] == "failed 1"
    code, out, _ = _cli(capsys, "check-agent-state")
    assert code == 0 and out.startswith("0 running, 0 queued")


def test_commands_need_a_migrated_database(tmp_path, monkeypatch, capsys):
    _environment(monkeypatch, f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    code, _, err = _cli(capsys, "check-agent-state")
    assert code == 1 and "run `infra-mind migrate` first" in err


def test_requeue_command_sends_to_the_workers_stream(database_url, monkeypatch, capsys):
    """With REDIS_URL, ``--requeue`` sends each run to the task stream the workers read,
    as the API does (``worker.queue``), in the deployment's namespace."""
    from infra_mind.worker.broker import broker
    from tests.integration.procs import redis_namespace

    aid = _plant_silent_run(_environment(monkeypatch, database_url))
    with redis_namespace() as space:
        monkeypatch.setenv("REDIS_URL", space.url)
        monkeypatch.setenv("REDIS_NAMESPACE", space.prefix)
        code, out, _ = _cli(capsys, "clear-stuck-workflows", "--requeue")
        assert code == 0 and "-> requeued" in out, out
        with space.client(socket_timeout=5) as client:
            entries = client.xrange(space.stream)
    assert [broker.formatter.loads(fields[b"data"]).args for _, fields in entries] == [[aid]]
