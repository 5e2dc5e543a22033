"""``assessment.run`` and ``requeue_stale`` on SQLite and PostgreSQL.

The app (from the API fixtures) starts the in-process broker and the platform the task
uses; jobs sent with ``.kiq()`` run in this event loop.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from sqlalchemy import func, select, update

import infra_mind.engine.assess as engine_assess
from infra_mind.kit.db import session_scope
from infra_mind.models import Assessment, AssessmentResultRow, utcnow
from infra_mind.worker import tasks
from tests.api.helpers import create_assessment, create_member, wait_for_status

BASE = "/api/v1/assessments"




async def queued(app, client) -> tuple[object, str]:
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    response = await client.post(f"{BASE}/{aid}/run", headers=owner.headers)
    assert response.json()["assessment"]["status"] == "queued"
    return owner, aid


async def row(app, aid: str) -> Assessment:
    async with app.state.platform.sessions() as session:
        return await session.get(Assessment, aid)


async def results(app, aid: str) -> int:
    async with app.state.platform.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AssessmentResultRow)
                                        .where(AssessmentResultRow.assessment_id == aid)))


async def test_two_concurrent_claims_run_once(app, client, held):
    _, aid = await queued(app, client)
    outcomes = await asyncio.gather(tasks.run_assessment(aid), tasks.run_assessment(aid))
    assert sorted(outcomes) == ["completed", "skipped"]
    done = await row(app, aid)
    assert done.status == "completed" and done.progress == 100 and done.attempts == 1
    assert done.worker_id and done.finished_at is not None
    assert await results(app, aid) == 1


async def test_stale_run_is_requeued_and_completes(app, client, held, monkeypatch):
    owner, aid = await queued(app, client)
    platform = app.state.platform
    old = utcnow() - timedelta(seconds=platform.settings.job_timeout_s + 5)
    async with session_scope(platform.sessions) as session:  # a worker that died mid-run
        await session.execute(update(Assessment).where(Assessment.id == aid).values(
            status="running", worker_id="gone:1:dead", attempts=1, started_at=old,
            heartbeat_at=old, progress=20))
    monkeypatch.undo()  # deliver jobs from here on
    assert await tasks.requeue_stale(platform) == 1
    done = await wait_for_status(client, owner, aid)
    assert done["attempts"] == 2
    assert done["error"] is None
    assert await results(app, aid) == 1
    assert platform.metrics.assessments.labels(event="requeued")._value.get() == 1


async def test_requeue_notes_the_retry_and_leaves_live_runs_alone(app, client, held):
    _, stale = await queued(app, client)
    _, live = await queued(app, client)
    platform = app.state.platform
    old = utcnow() - timedelta(seconds=platform.settings.job_timeout_s + 5)
    async with session_scope(platform.sessions) as session:
        await session.execute(update(Assessment).where(Assessment.id == stale).values(
            status="running", worker_id="gone:1:dead", attempts=1, heartbeat_at=old))
        await session.execute(update(Assessment).where(Assessment.id == live).values(
            status="running", worker_id="here:2:alive", attempts=1, heartbeat_at=utcnow()))
    held.clear()
    assert await tasks.requeue_stale(platform) == 1
    requeued = await row(app, stale)
    assert requeued.status == "queued" and requeued.worker_id is None
    assert requeued.error.startswith("retrying (attempt 2 of 3): worker gone:1:dead sent no "
                                     "heartbeat")
    assert held == [stale]
    assert (await row(app, live)).status == "running"


async def test_requeue_gives_up_after_max_attempts(app, client, held):
    _, aid = await queued(app, client)
    platform = app.state.platform
    old = utcnow() - timedelta(seconds=platform.settings.job_timeout_s + 5)
    async with session_scope(platform.sessions) as session:
        await session.execute(update(Assessment).where(Assessment.id == aid).values(
            status="running", worker_id="gone:1:dead", attempts=tasks.MAX_ATTEMPTS,
            heartbeat_at=old))
    held.clear()
    assert await tasks.requeue_stale(platform) == 0
    failed = await row(app, aid)
    assert failed.status == "failed"
    assert failed.error.startswith(f"gave up after {tasks.MAX_ATTEMPTS} attempts")
    assert held == []


async def test_lost_message_is_sent_again(app, client, held, monkeypatch):
    owner, aid = await queued(app, client)
    platform = app.state.platform
    old = utcnow() - timedelta(seconds=platform.settings.job_timeout_s + 5)
    async with session_scope(platform.sessions) as session:
        await session.execute(update(Assessment).where(Assessment.id == aid)
                              .values(queued_at=old))
    monkeypatch.undo()
    assert await tasks.requeue_stale(platform) == 0
    await wait_for_status(client, owner, aid)
    assert (await row(app, aid)).attempts == 1


async def test_engine_failure_is_one_line(app, client, held, monkeypatch):
    _, aid = await queued(app, client)

    def explode(requirements, catalog=None):
        raise RuntimeError("price table exploded\nTraceback (most recent call last): ...")

    monkeypatch.setattr(engine_assess, "assess", explode)
    assert await tasks.run_assessment(aid) == "failed"
    failed = await row(app, aid)
    assert failed.status == "failed"
    assert failed.error == "RuntimeError: price table exploded"
    assert failed.finished_at is not None
    assert await results(app, aid) == 0
    assert app.state.platform.metrics.assessments.labels(event="failed")._value.get() == 1


async def test_engine_timeout_fails_the_run(app, client, held, monkeypatch):
    _, aid = await queued(app, client)
    release = threading.Event()
    monkeypatch.setattr(engine_assess, "assess", lambda *a, **k: release.wait(5))
    app.state.platform.settings.job_timeout_s = 0.2
    try:
        assert await tasks.run_assessment(aid) == "failed"
    finally:
        release.set()
    failed = await row(app, aid)
    assert failed.error == "timed out after 0.2 s"


async def test_cancel_while_running_wins(app, client, held, monkeypatch):
    owner, aid = await queued(app, client)
    started, release = threading.Event(), threading.Event()
    real = engine_assess.assess

    def slow(requirements, catalog=None):
        started.set()
        release.wait(5)
        return real(requirements, catalog)

    monkeypatch.setattr(engine_assess, "assess", slow)
    job = asyncio.create_task(tasks.run_assessment(aid))
    assert await asyncio.to_thread(started.wait, 5)
    cancelled = await client.post(f"{BASE}/{aid}/cancel", headers=owner.headers)
    assert cancelled.json()["status"] == "cancelled"
    release.set()
    assert await job == "lost"
    after = await row(app, aid)
    assert after.status == "cancelled" and after.progress == 20
    assert await results(app, aid) == 0


async def test_a_message_the_broker_refused_is_retried_at_the_next_sweep(app, client, held,
                                                                        monkeypatch):
    """Redis down: the sweep cannot send; the run stays due, so the next sweep (not one a
    whole job timeout later) sends it once the broker is back."""
    owner, aid = await queued(app, client)
    platform = app.state.platform
    old = utcnow() - timedelta(seconds=platform.settings.job_timeout_s + 5)
    async with session_scope(platform.sessions) as session:
        await session.execute(update(Assessment).where(Assessment.id == aid)
                              .values(queued_at=old))

    async def broker_down(assessment_id: str):
        raise ConnectionError("redis: connection refused")

    monkeypatch.setattr(tasks.run_assessment, "kiq", broker_down)
    await tasks.requeue_stale(platform)
    assert (await row(app, aid)).queued_at.replace(tzinfo=None) < \
        (utcnow() - timedelta(seconds=platform.settings.job_timeout_s)).replace(tzinfo=None)
    monkeypatch.undo()
    await tasks.requeue_stale(platform)  # the broker is back: sent now
    await wait_for_status(client, owner, aid)
    assert (await row(app, aid)).status == "completed"
