"""Background jobs: ``assessment.run`` and the stale-run sweeper.

A run is claimed in one conditional UPDATE (``queued`` -> ``running`` with this
worker's id), so two workers given the same message never both run it. Every later
write is guarded by ``status = 'running' AND worker_id = <ours>``: a cancel, or a
sweeper that handed the run to another worker, wins over a late write. Each step
commits on its own, so progress is visible while the run goes on.

A run that stops sending heartbeats (its worker died) is put back in the queue by
``requeue_stale`` after ``job_timeout_s``, and given up after ``MAX_ATTEMPTS``; a run
whose engine call outlives ``job_timeout_s`` fails with a timeout. Nothing stays
``running`` forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable
from datetime import date, timedelta
from typing import TypeVar

from infra_mind.agents.graph import StopRun
from infra_mind.agents.runtime import AgentRuntime, checkpoint_url_for
from infra_mind.engine.load import RequirementsError, parse_requirements
from infra_mind.kit.db import session_scope
from infra_mind.kit.platform import Platform
from infra_mind.models import utcnow
from infra_mind.observability.tracing import SERVICE_WORKER, configure_tracing, traced
from infra_mind.repositories.assessments import RunRepository
from infra_mind.worker.broker import broker, current_platform

log = logging.getLogger("infra_mind.worker")

#: Claims of one run (first try included) before the sweeper gives up on it.
MAX_ATTEMPTS = 3
#: Longest one-line error kept in the ``error`` column.
MAX_ERROR_CHARS = 500

_T = TypeVar("_T")


class _Lost(StopRun):
    """The run is no longer ours (cancelled, deleted, or handed to another worker)."""


#: Progress shown while an agent works (several may work at once).
AGENT_PROGRESS = {"research": 20, "cloud_engineer": 45, "compliance": 45, "mlops": 45,
                  "cto": 70, "report_writer": 85}


def agents_of(platform: Platform) -> AgentRuntime:
    """This process's agent runtime, built on first use (closed with the platform)."""
    runtime = platform.extras.get("agents")
    if runtime is None:
        settings = platform.settings
        runtime = AgentRuntime(metrics=platform.metrics,
                               checkpoint_url=settings.checkpoint_url
                               or checkpoint_url_for(settings.database_url))
        platform.extras["agents"] = runtime
    return runtime  # type: ignore[return-value]


@broker.task(task_name="assessment.run")
async def run_assessment(assessment_id: str) -> str:
    """Run one assessment; returns what happened (for logs and tests)."""
    configure_tracing(SERVICE_WORKER)  # once per process; an API process keeps its own name
    return await execute_run(current_platform(), assessment_id)


async def enqueue_run(assessment_id: str) -> bool:
    """Send ``assessment.run``; call only after the transaction that queued it committed.

    A send that fails leaves the row ``queued``: ``requeue_stale`` sends it again. Returns
    whether the message went out.
    """
    try:
        await run_assessment.kiq(assessment_id)
    except Exception as exc:  # the broker is down: one line, the sweeper retries
        log.warning("could not enqueue assessment.run for %s (%s: %s); the sweeper will "
                    "retry", assessment_id, type(exc).__name__, exc)
        return False
    return True


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def execute_run(platform: Platform, assessment_id: str) -> str:
    """Claim, run and store; 'skipped' when the run was not ours to claim, else
    'completed', 'failed' or 'lost' (cancelled or taken over while running)."""
    with traced("assessment.run", {"infra_mind.assessment_id": assessment_id}) as span:
        outcome = await _execute_run(platform, assessment_id)
        span.set_attribute("infra_mind.job.outcome", outcome)
        return outcome


async def _execute_run(platform: Platform, assessment_id: str) -> str:
    worker_id = new_worker_id()
    async with session_scope(platform.sessions) as session:
        repo = RunRepository(session)
        if not await repo.claim(assessment_id, worker_id, utcnow()):
            return "skipped"
        requirements = await repo.requirements_of(assessment_id)
        run_key = await repo.run_key(assessment_id)
    started = time.perf_counter()
    metrics = platform.metrics.assessments
    try:
        await _step(platform, assessment_id, worker_id, 10, "validating requirements")
        parsed = parse_requirements(requirements)
        runtime = agents_of(platform)
        advice = await _with_heartbeat(
            platform, assessment_id, worker_id,
            asyncio.wait_for(runtime.advise(parsed, thread_id=run_key,
                                            progress=_agent_progress(platform, assessment_id,
                                                                     worker_id)),
                             timeout=platform.settings.job_timeout_s))
        await _step(platform, assessment_id, worker_id, 95, "saving result")
        async with session_scope(platform.sessions) as session:
            repo = RunRepository(session)
            # completion first: if it is no longer ours, no result row is written either
            if not await repo.complete(assessment_id, worker_id, utcnow()):
                raise _Lost
            await repo.add_result(assessment_id, advice,
                                  date.fromisoformat(advice["catalog_as_of"]))
        await _forget(runtime, run_key)
    except _Lost:
        log.info("assessment %s: no longer ours (cancelled or taken over); stopped",
                 assessment_id)
        return "lost"
    except Exception as exc:
        if connection_lost(exc):
            # not the run's fault: leave it ``running`` and silent, so the sweeper puts it
            # back in the queue after job_timeout_s and it resumes from its checkpoint
            log.warning("assessment %s: database connection lost (%s); the sweeper will "
                        "requeue it", assessment_id, one_line_error(exc, platform))
            return "interrupted"
        log.exception("assessment %s failed", assessment_id)
        async with session_scope(platform.sessions) as session:
            failed = await RunRepository(session).fail(assessment_id, worker_id,
                                                       one_line_error(exc, platform),
                                                       utcnow())
        if not failed:
            return "lost"
        metrics.labels(event="failed").inc()
        return "failed"
    metrics.labels(event="completed").inc()
    platform.metrics.assessment_duration.observe(time.perf_counter() - started)
    return "completed"


def _agent_progress(platform: Platform, assessment_id: str, worker_id: str):
    """A progress callback naming the agents at work; raises ``_Lost`` (which stops the
    graph) when the run is no longer ours."""
    working: list[str] = []

    async def progress(agent: str, event: str) -> None:
        if event == "started":
            working.append(agent)
        elif agent in working:
            working.remove(agent)
        if not working:
            return
        step = ("agent " if len(working) == 1 else "agents ") + ", ".join(working)
        await _step(platform, assessment_id, worker_id,
                    max(AGENT_PROGRESS.get(a, 50) for a in working), step)

    return progress


async def _forget(runtime: AgentRuntime, run_key: str) -> None:
    """The result is stored: its checkpoints are not needed (a failure here loses nothing)."""
    try:
        await runtime.forget(run_key)
    except Exception:
        log.warning("could not delete checkpoints of %s", run_key, exc_info=True)


async def _step(platform: Platform, assessment_id: str, worker_id: str, progress: int,
                current_step: str) -> None:
    async with session_scope(platform.sessions) as session:
        if not await RunRepository(session).step(assessment_id, worker_id, progress=progress,
                                                 current_step=current_step, now=utcnow()):
            raise _Lost


async def _with_heartbeat(platform: Platform, assessment_id: str, worker_id: str,
                          work: Awaitable[_T]) -> _T:
    """Await ``work`` while a heartbeat is written every quarter of ``job_timeout_s``."""
    interval_s = platform.settings.job_timeout_s / 4

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                async with session_scope(platform.sessions) as session:
                    await RunRepository(session).heartbeat(assessment_id, worker_id, utcnow())
            except Exception:  # a missed beat is retried; the run itself goes on
                log.warning("assessment %s: heartbeat failed", assessment_id, exc_info=True)

    beating = asyncio.create_task(beat())
    try:
        return await work
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc``, or an error that caused it, is a lost database connection (server
    restart, failover, pg_terminate_backend) rather than a failure of the run."""
    from psycopg import OperationalError as PsycopgOperationalError  # the checkpointer
    from sqlalchemy.exc import DBAPIError

    error: BaseException | None = exc
    for _ in range(10):  # the chain of causes, bounded
        if error is None:
            return False
        if ((isinstance(error, DBAPIError) and error.connection_invalidated)
                or isinstance(error, PsycopgOperationalError | ConnectionError)):
            return True
        error = error.__cause__ or error.__context__
    return False


def one_line_error(exc: BaseException, platform: Platform) -> str:
    """What went wrong, in one line (the traceback goes to the log, not the column)."""
    if isinstance(exc, TimeoutError):
        text = f"timed out after {platform.settings.job_timeout_s} s"
    elif isinstance(exc, RequirementsError):
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        text = f"invalid requirements: {exc.problems[0]}{more}"
    else:
        lines = str(exc).strip().splitlines()
        text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return " ".join(text.split())[:MAX_ERROR_CHARS]


async def requeue_stale(platform: Platform) -> int:
    """Put runs whose worker went silent back in the queue; returns how many.

    ``running`` with no heartbeat for ``job_timeout_s``: back to ``queued`` (``error``
    says it is a retry) and sent again, or ``failed`` after ``MAX_ATTEMPTS`` claims.
    ``queued`` for longer than ``job_timeout_s`` (its message was lost): sent again.
    Messages are sent after the commit; a duplicate is harmless, as claims are atomic.
    """
    timeout_s = platform.settings.job_timeout_s
    now = utcnow()
    cutoff = now - timedelta(seconds=timeout_s)
    to_send: list[str] = []
    async with session_scope(platform.sessions) as session:
        repo = RunRepository(session)
        for assessment_id, attempts, worker_id in await repo.stale_running(cutoff):
            silent = f"worker {worker_id or '?'} sent no heartbeat for {timeout_s} s"
            if attempts >= MAX_ATTEMPTS:
                if await repo.give_up(assessment_id, cutoff, f"gave up after {attempts} "
                                      f"attempts: {silent}", now):
                    platform.metrics.assessments.labels(event="failed").inc()
                    log.warning("assessment %s: given up after %d attempts", assessment_id,
                                attempts)
                continue
            note = f"retrying (attempt {attempts + 1} of {MAX_ATTEMPTS}): {silent}"
            if await repo.requeue(assessment_id, cutoff, note, now):
                platform.metrics.assessments.labels(event="requeued").inc()
                log.warning("assessment %s: %s", assessment_id, note)
                to_send.append(assessment_id)
        requeued = len(to_send)
        to_send += await repo.touch_stuck_queued(cutoff, now)
        platform.metrics.queue_depth.set(await repo.count_queued())
    unsent = [a for a in to_send if not await enqueue_run(a)]
    if unsent:
        # back-date them, so the next sweep (not one a whole job_timeout_s away) retries
        async with session_scope(platform.sessions) as session:
            await RunRepository(session).backdate_queued(unsent, cutoff - timedelta(seconds=1))
    return requeued


async def sweep_forever(platform: Platform) -> None:
    """Run ``requeue_stale`` now and then every quarter of the job timeout, until cancelled.

    Each API process runs one; a failed sweep is logged and retried next time.
    """
    interval_s = max(5.0, platform.settings.job_timeout_s / 4)
    while True:
        try:
            await requeue_stale(platform)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not stop future sweeps
            log.exception("stale-run sweep failed")
        await asyncio.sleep(interval_s)
