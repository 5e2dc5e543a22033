"""``assessment.run`` and ``requeue_stale`` on SQLite and PostgreSQL.

The app (from the API fixtures) starts the in-process queue and the platform the task
uses; runs sent (``queue.runs.send``) run in this event loop.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update

import infra_mind.engine.assess as engine_assess
from infra_mind.config import load_settings
from infra_mind.kit.db import session_scope
from infra_mind.models import Assessment, AssessmentResultRow, utcnow
from infra_mind.repositories.assessments import RunRepository
from infra_mind.worker import queue, tasks
from tests.api.helpers import create_assessment, create_member, wait_for_status

BASE = "/api/v1/assessments"


@pytest.fixture(autouse=True)
def _nothing_unsent():
    """The unsent set is this process's: no test sees another's."""
    tasks._unsent.clear()
    yield
    tasks._unsent.clear()


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


async def test_engine_failure_is_one_line(app, client, held, monkeypatch,
                                          engine_in_this_process):
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


async def test_engine_timeout_fails_the_run(app, client, held, monkeypatch,
                                            engine_in_this_process):
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


async def test_cancel_while_running_wins(app, client, held, monkeypatch,
                                         engine_in_this_process):
    app.state.platform.settings.run_progress_every_s = 0  # research's 20 written at once
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


async def test_a_run_the_broker_refused_is_sent_as_soon_as_it_is_back(app, client, held,
                                                                    monkeypatch):
    """Redis down when the run was asked for: it used to wait for the sweeper's
    job_timeout_s (10 minutes by default) after Redis came back; now each sweeper tick
    (every RESEND_S) tries again, and the first one after Redis returns sends it."""
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]

    async def broker_down(assessment_id: str):
        raise ConnectionError("redis: connection refused")

    monkeypatch.setattr(queue.runs, "send", broker_down)
    response = await client.post(f"{BASE}/{aid}/run", headers=owner.headers)
    assert response.json()["assessment"]["status"] == "queued"
    assert await tasks.resend_unsent() == 0  # still down: kept for the next tick
    monkeypatch.undo()  # the broker is back
    assert await tasks.resend_unsent() == 1
    assert await tasks.resend_unsent() == 0  # sent once
    await wait_for_status(client, owner, aid)
    assert (await row(app, aid)).attempts == 1


async def test_a_silent_run_is_requeued_after_a_minute_not_the_job_timeout(app, client,
                                                                          held):
    """A worker that died mid-run stranded its run for job_timeout_s (10 minutes by
    default, the engine's own time limit); a live worker beats every quarter of
    run_stale_after_s (60 s), so silence for that long means it is gone."""
    _, aid = await queued(app, client)
    platform = app.state.platform
    settings = platform.settings
    assert settings.run_stale_after_s == 60 and settings.job_timeout_s == 600
    silent = utcnow() - timedelta(seconds=settings.run_stale_after_s + 5)
    async with session_scope(platform.sessions) as session:
        await session.execute(update(Assessment).where(Assessment.id == aid).values(
            status="running", worker_id="gone:1:dead", attempts=1, heartbeat_at=silent))
    held.clear()
    assert await tasks.requeue_stale(platform) == 1
    requeued = await row(app, aid)
    assert requeued.status == "queued"
    assert requeued.error == ("retrying (attempt 2 of 3): worker gone:1:dead sent no "
                              "heartbeat for 60 s")
    assert held == [aid]
    assert tasks.sweep_interval_s(settings) == 15.0


def test_the_stale_window_is_never_longer_than_the_job_timeout():
    settings = load_settings(environment="test", jwt_secret_key="t" * 48, job_timeout_s=10)
    assert tasks.stale_after_s(settings) == 10
    assert tasks.sweep_interval_s(settings) == 2.5


async def test_a_run_handed_back_is_queued_or_given_up_and_only_by_its_worker(app, client,
                                                                              held):
    """The hand-back after a lost connection: queued with a plain note, failed once its
    attempts are spent, and nothing when the run is no longer that worker's."""
    platform = app.state.platform
    _, retried = await queued(app, client)
    _, spent = await queued(app, client)
    _, taken = await queued(app, client)
    async with session_scope(platform.sessions) as session:
        for aid, attempts in ((retried, 1), (spent, tasks.MAX_ATTEMPTS), (taken, 1)):
            await session.execute(update(Assessment).where(Assessment.id == aid).values(
                status="running", worker_id="w:1:here", attempts=attempts,
                heartbeat_at=utcnow()))
    outcomes = {}
    async with session_scope(platform.sessions) as session:
        repo = RunRepository(session)
        for aid, worker_id in ((retried, "w:1:here"), (spent, "w:1:here"),
                               (taken, "w:2:other")):
            outcomes[aid] = await repo.hand_back(
                aid, worker_id, now=utcnow(), max_attempts=tasks.MAX_ATTEMPTS,
                retry_note=tasks.DATABASE_LOST, give_up_note="gave up")
    assert outcomes == {retried: "queued", spent: "failed", taken: None}
    again = await row(app, retried)
    assert again.status == "queued" and again.worker_id is None
    assert again.error == "the database was unavailable; the run will be retried"
    assert (await row(app, spent)).error == "gave up"
    assert (await row(app, taken)).status == "running"


async def test_an_offline_run_writes_its_start_and_its_end_not_each_step(app, client, held):
    """Over well inside the interval, an offline run writes none of its dozen steps: its
    claim and its completion are its only status writes (each one a commit, an
    announcement and a stale cached list)."""
    platform = app.state.platform
    updates: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("UPDATE ASSESSMENTS"):
            updates.append(statement)

    engine = platform.engine.sync_engine
    for every_s, expected in ((60.0, 2), (0.0, None)):
        platform.settings.run_progress_every_s = every_s
        _, aid = await queued(app, client)
        updates.clear()
        sa_event.listen(engine, "before_cursor_execute", record)
        try:
            assert await tasks.run_assessment(aid) == "completed"
        finally:
            sa_event.remove(engine, "before_cursor_execute", record)
        done = await row(app, aid)
        assert (done.status, done.progress, done.current_step) == ("completed", 100, None)
        if expected is not None:
            assert len(updates) == expected, updates
        else:  # every step written: the claim, 10, the agents, 95 and the completion
            assert len(updates) >= 8, updates


async def progress_of_a_claimed_run(app, client, every_s: float
                                    ) -> tuple[str, tasks.RunProgress]:
    platform = app.state.platform
    platform.settings.run_progress_every_s = every_s
    _, aid = await queued(app, client)
    async with session_scope(platform.sessions) as session:
        assert await RunRepository(session).claim(aid, "host:1:w", utcnow())
    return aid, tasks.RunProgress(platform, aid, "host:1:w")


async def shown(app, aid: str) -> tuple[int, str | None]:
    run = await row(app, aid)
    return run.progress, run.current_step


async def held_write_done(progress: tasks.RunProgress) -> None:
    for _ in range(100):
        if progress._writer is None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the held step was not written within 5 s")


async def test_a_held_step_is_written_when_the_interval_ends(app, client, held):
    aid, progress = await progress_of_a_claimed_run(app, client, every_s=0.5)
    await progress.step(10, "validating requirements")
    await progress.step(20, "agent research")
    assert await shown(app, aid) == (0, "starting")  # held: the claim wrote just now
    await held_write_done(progress)
    assert await shown(app, aid) == (20, "agent research")  # the latest, once
    await asyncio.sleep(0.5)
    await progress.step(45, "agent compliance")  # the interval has passed: at once
    assert progress._writer is None
    assert await shown(app, aid) == (45, "agent compliance")
    await progress.step(70, "agent cto")  # held
    async with session_scope(app.state.platform.sessions) as session:  # cancelled now
        await session.execute(update(Assessment).where(Assessment.id == aid)
                              .values(status="cancelled"))
    await held_write_done(progress)  # it found the run no longer ours
    with pytest.raises(tasks._Lost):
        await progress.step(85, "agent report_writer")
    await progress.close()
    after = await row(app, aid)
    assert (after.status, after.progress, after.current_step) == (
        "cancelled", 45, "agent compliance")


async def test_a_step_still_held_when_the_run_ends_is_dropped(app, client, held):
    aid, progress = await progress_of_a_claimed_run(app, client, every_s=0.5)
    await progress.step(95, "saving result")
    await progress.close()
    assert progress._writer is None
    await asyncio.sleep(0.7)
    assert await shown(app, aid) == (0, "starting")


async def test_agent_progress_never_goes_back():
    """The CTO (70) may finish while compliance (45) is still at work: the step then names
    compliance, and the figure stays at 70 (seen as 70 then 45 on a run's event stream)."""
    recorded: list[tuple[int, str]] = []

    class Recorded:
        async def step(self, progress: int, current_step: str) -> None:
            recorded.append((progress, current_step))

    progress = tasks._agent_progress(Recorded())
    for agent, event in [("research", "started"), ("research", "finished"),
                         ("compliance", "started"), ("cloud_engineer", "started"),
                         ("cloud_engineer", "finished"), ("cto", "started"),
                         ("cto", "finished"), ("compliance", "finished"),
                         ("report_writer", "started")]:
        await progress(agent, event)
    assert recorded == [(20, "agent research"), (45, "agent compliance"),
                        (45, "agents compliance, cloud_engineer"), (45, "agent compliance"),
                        (70, "agents compliance, cto"), (70, "agent compliance"),
                        (85, "agent report_writer")]


def test_the_agents_stack_is_out_of_the_collectors_way_once_loaded():
    """LangGraph and LangChain, imported on a process's first run, are kept for its life:
    frozen (``gc.freeze``), as start-up's modules are. Walked by every full collection
    instead, they held requests back: on SQLite, with runs in the API process, a cached
    result's p99 at 50 clients was 36-50 ms, and 10-11 ms once frozen (bench/api_load.py).
    In a fresh interpreter, so that the stack is not loaded already."""
    import json
    import subprocess
    import sys

    probe = ("import asyncio, gc, json, sys\n"
             "from infra_mind.worker import tasks\n"
             "before = gc.get_freeze_count()\n"
             "asyncio.run(tasks.load_agents())\n"
             "print(json.dumps([before, gc.get_freeze_count(), 'langgraph' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    before, after, loaded = json.loads(done.stdout)
    assert loaded and after - before > 50_000, (before, after)


def sweep_taking(seconds: float, seen: list[str]):
    """A stand-in for ``requeue_stale`` that takes ``seconds`` (a query under way), noting
    whether it started, finished or was cancelled."""

    async def sweep(platform) -> int:
        seen.append("started")
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        seen.append("finished")
        return 0

    return sweep


async def lifespan_through_first_sweep(application, seen: list[str]) -> None:
    async with application.router.lifespan_context(application):
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)


async def test_shutdown_lets_the_sweepers_pass_under_way_finish(settings, monkeypatch):
    """Cancelled in the middle of a query at shutdown, a sweep's SQLite query went on in
    aiosqlite's thread, which then handed its result to a closed event loop (a thread
    exception in the suite, now and then). The app's first sweep starts with it; a
    lifespan that ends at once now waits for that pass to end."""
    from infra_mind.api.app import create_app

    seen: list[str] = []
    monkeypatch.setattr(tasks, "requeue_stale", sweep_taking(0.3, seen))
    await lifespan_through_first_sweep(create_app(settings), seen)
    assert seen == ["started", "finished"]


async def test_shutdown_cancels_a_sweep_stuck_past_its_limit(settings, monkeypatch):
    """A pass stuck on a database that does not answer does not hold shutdown for ever."""
    import infra_mind.api.app as app_module

    seen: list[str] = []
    monkeypatch.setattr(tasks, "requeue_stale", sweep_taking(60, seen))
    monkeypatch.setattr(app_module, "SWEEPER_STOP_S", 0.2)
    await lifespan_through_first_sweep(app_module.create_app(settings), seen)
    assert seen == ["started", "cancelled"]
