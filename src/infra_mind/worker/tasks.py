"""Background jobs: ``assessment.run`` and the stale-run sweeper.

A run is claimed in one conditional UPDATE (``queued`` -> ``running`` with this
worker's id), so two workers given the same message never both run it. Every later
write is guarded by ``status = 'running' AND worker_id = <ours>``: a cancel, or a
sweeper that handed the run to another worker, wins over a late write. Each step
commits on its own, so progress is visible while the run goes on, and is announced to
open event streams once committed (``services.events``). The engine and other pure steps
are computed in this process's engine processes (``engine_offload``).

A run that stops sending heartbeats (its worker died) is put back in the queue by
``requeue_stale`` after ``stale_after_s`` (a minute by default), and given up after
``MAX_ATTEMPTS``; a run whose engine call outlives ``job_timeout_s`` fails with a timeout.
A worker that loses its database connection hands its run back as soon as the database
answers again. Nothing stays ``running`` forever.

What a user reads in ``error`` is one plain line: a database error's own text (driver and
SQL, possibly quoting data) goes to the log only, under a reference the line gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.agents.provider_keys import OrganizationKeys, organization_keys
from infra_mind.agents.stop import StopRun
from infra_mind.config import Settings
from infra_mind.engine.load import RequirementsError, parse_requirements
from infra_mind.kit.compute import engine_budget
from infra_mind.kit.crypto import EncryptionUnavailable, keyring_of
from infra_mind.kit.db import connection_lost, session_scope
from infra_mind.kit.platform import Platform
from infra_mind.kit.slots import Slot
from infra_mind.models import utcnow
from infra_mind.observability.logging import event, is_database_error, log_context
from infra_mind.observability.tracing import SERVICE_WORKER, configure_tracing, traced
from infra_mind.repositories.admin import RunRow
from infra_mind.repositories.assessments import RunRepository
from infra_mind.repositories.organizations import secrets_of_assessment
from infra_mind.repositories.stale_runs import Verdict, run_writer, sweep_stale_runs
from infra_mind.worker import queue
from infra_mind.worker.queue import current_platform

if TYPE_CHECKING:  # the agents' runtime loads on first use, their graph on the first run
    from infra_mind.agents.offload import Offload, Progress
    from infra_mind.agents.runtime import AgentRuntime

log = logging.getLogger("infra_mind.worker")

#: Claims of one run (first try included) before the sweeper gives up on it.
MAX_ATTEMPTS = 3
#: Longest one-line error kept in the ``error`` column.
MAX_ERROR_CHARS = 500
#: While the database is unreachable a worker tries again after this long, doubling up to
#: the maximum, for at most ``stale_after_s`` (then the sweeper takes over).
DB_RETRY_S = 1.0
DB_RETRY_MAX_S = 5.0
#: How often the sweeper re-sends runs this process could not send (the broker was down)
#: and checks whether the broker lost its messages.
RESEND_S = 2.0
#: The sweeper's full pass (stale runs, lost messages) runs at most this far apart.
SWEEP_MAX_S = 15.0
#: What a user reads when the database failed under a run.
DATABASE_LOST = "the database was unavailable; the run will be retried"

_T = TypeVar("_T")


class _Lost(StopRun):
    """The run is no longer ours (cancelled, deleted, or handed to another worker)."""


#: Progress shown while an agent works (several may work at once).
AGENT_PROGRESS = {"research": 20, "cloud_engineer": 45, "compliance": 45, "mlops": 45,
                  "cto": 70, "report_writer": 85}


#: Set by a process whose event loop serves its runs alone (the run process): their pure
#: computations may hold its GIL, in a thread (``engine_offload``).
COMPUTE_IN_THREADS: Slot[bool] = Slot("compute in threads")


def engine_offload(platform: Platform) -> Offload:
    """Where runs' pure computations go: this process's engine processes (``kit.compute``),
    shared with what-ifs. A worker's runs then spend its own GIL on I/O only, and an API
    process running runs in-process keeps its event loop for requests.

    In the run process (``COMPUTE_IN_THREADS``), a thread of its own: no request waits on
    its loop, and an engine process beside it would only be one more process on the
    API's cores. 80 runs queued at once (``bench/api_load.py`` part 3, 2 cores): a
    cached read's p99 during them 5.3 ms so against 9.4 with an engine process, the run
    process and its children 162 MiB against 225; the runs took 3.5 s against 2.7."""
    if platform.get(COMPUTE_IN_THREADS):
        from infra_mind.agents.offload import in_thread

        return in_thread
    settings = platform.settings
    return engine_budget(settings.engine_processes, settings.engine_queue).run


def agents_of(platform: Platform) -> AgentRuntime:
    """This process's agent runtime, built on first use (closed with the platform).

    Its modules are imported here, not with this module: every API process imports this
    one to queue runs, and needs the runtime only once it runs one (in-process mode) or
    a chat question goes to a model. The graph's modules (LangGraph with LangChain, some
    36 MiB) load with the first run only (``load_agents``): a chat question needs none."""
    if platform.agents is None:
        from infra_mind.agents.runtime import AgentRuntime, checkpoint_url_for

        settings = platform.settings
        runtime = AgentRuntime(settings=settings, metrics=platform.metrics,
                               catalog=settings.infra_mind_catalog,
                               checkpoint_url=settings.checkpoint_url
                               or checkpoint_url_for(settings.database_url),
                               offload=engine_offload(platform))
        platform.agents = runtime
    return cast("AgentRuntime", platform.agents)  # the platform knows it as a protocol


async def run_assessment(assessment_id: str) -> str:
    """``assessment.run``: run one assessment; returns what happened (for logs and tests).
    A worker's broker runs it as a taskiq task (``worker.broker``); an API process without
    REDIS_URL runs it itself (``worker.queue.InProcessQueue``)."""
    configure_tracing(SERVICE_WORKER)  # once per process; an API process keeps its own name
    await load_agents()
    return await execute_run(current_platform(), assessment_id)


async def load_agents() -> None:
    """Import the agents' graph and runtime on this process's first run, in a thread:
    some 0.8 s of CPU that, on the event loop, would stall an API process running runs
    in-process (here the worst stall was 95 ms in a thread, 1 s inline). ``agents_of``
    and the runtime then find them imported. (A chat question may have loaded the
    runtime already: the graph is what is asked.)"""
    if "infra_mind.agents.graph" not in sys.modules:
        for module in ("infra_mind.agents.graph", "infra_mind.agents.runtime"):
            await asyncio.to_thread(importlib.import_module, module)
        # kept for the process's life, like what start-up made (``api.app`` freezes that):
        # out of the collector's way, a full collection no longer walks some 800 modules'
        # objects while requests wait
        gc.freeze()


async def warm_up(platform: Platform) -> None:
    """A worker process's start-up, before it reads the queue: what its first run would
    otherwise load while its user waits (1.1 s here). The agents' graph and runtime,
    with the checkpointer opened and the graph compiled, and an engine process started
    with the catalog loaded. A part that fails is logged and left to the first run, which
    tries again (the database may be down at start)."""
    started = time.perf_counter()
    try:
        await load_agents()
        runtime = agents_of(platform)
        await runtime.graph()
        from infra_mind.agents.compute import loaded

        prices = await runtime.offload(loaded, runtime.catalog)
    except Exception as exc:
        log.warning("worker warm-up incomplete (%s: %s); the first run loads the rest",
                    type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        return
    event(log, "worker.warm", duration_s=round(time.perf_counter() - started, 3),
          catalog_prices=prices)


#: Runs this process could not send (the broker was down): the sweeper of an API process
#: sends them every ``RESEND_S`` until the broker takes them, so they wait for Redis to
#: come back, not for ``job_timeout_s`` after it.
_unsent: set[str] = set()


async def enqueue_run(assessment_id: str) -> bool:
    """Send ``assessment.run``; call only after the transaction that queued it committed.

    A send that fails leaves the row ``queued`` and the id in this process's unsent set
    (``resend_unsent``); ``requeue_stale`` is the backstop. Returns whether it went out.
    """
    try:
        await queue.runs.send(assessment_id)
    except Exception as exc:  # the broker is down: one line, the sweeper retries
        log.warning("could not enqueue assessment.run for %s (%s: %s); the sweeper will "
                    "retry", assessment_id, type(exc).__name__, exc)
        _unsent.add(assessment_id)
        return False
    _unsent.discard(assessment_id)
    # in a request's context this line ties its request_id to the run's assessment_id
    event(log, "run.queued", assessment_id=assessment_id)
    return True


async def resend_unsent() -> int:
    """Send the runs this process could not send; stops at the first failure (the broker
    is still down). Returns how many went out."""
    sent = 0
    for assessment_id in sorted(_unsent):
        try:
            await queue.runs.send(assessment_id)
        except Exception:
            break  # enqueue_run logged it once; no line per run per tick
        _unsent.discard(assessment_id)
        sent += 1
    if sent:
        log.warning("sent %d run(s) queued while the broker was unreachable", sent)
    return sent


def stale_after_s(settings: Settings) -> float:
    """A running assessment silent this long is put back in the queue."""
    return float(min(settings.job_timeout_s, settings.run_stale_after_s))


def _runs(platform: Platform, session: AsyncSession) -> RunRepository:
    """The run queries, announcing each status change (and progress) once committed, so
    open event streams hear of it without reading the database (``services.events``),
    and keeping the cache's access entries and lists true (``assessment_cache``)."""
    return run_writer(platform, session)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def execute_run(platform: Platform, assessment_id: str) -> str:
    """Claim, run and store; 'skipped' when the run was not ours to claim, else
    'completed', 'failed' or 'lost' (cancelled or taken over while running)."""
    # every line of the run (its agents' steps, its engine processes) names the assessment
    with log_context(assessment_id=assessment_id), \
            traced("assessment.run", {"infra_mind.assessment_id": assessment_id}) as span:
        started = time.perf_counter()
        event(log, "run.start")
        outcome = "error"  # what an exception leaving here (logged by taskiq) reads as
        try:
            outcome = await _execute_run(platform, assessment_id)
            span.set_attribute("infra_mind.job.outcome", outcome)
            return outcome
        finally:
            event(log, "run.end", outcome=outcome,
                  duration_s=round(time.perf_counter() - started, 3))


async def _execute_run(platform: Platform, assessment_id: str) -> str:
    worker_id = new_worker_id()
    try:
        claimed = await _claim(platform, assessment_id, worker_id)
    except Exception as exc:
        if not connection_lost(exc):
            raise
        # the database stayed away: put the message back for a later try, rather than
        # leave the run queued with no message until the sweeper's job_timeout_s
        log.warning("assessment %s: database unreachable; sent back to the queue",
                    assessment_id)
        await enqueue_run(assessment_id)
        return "interrupted"
    if claimed is None:
        return "skipped"
    started = time.perf_counter()
    metrics = platform.metrics.assessments
    progress = RunProgress(platform, assessment_id, worker_id)
    try:
        try:
            await progress.step(10, "validating requirements")
            parsed = parse_requirements(claimed.requirements)
            runtime = agents_of(platform)
            organization = _organization_keys(platform, claimed.organization_id,
                                              claimed.ciphertexts)
            advice = await _with_heartbeat(
                platform, assessment_id, worker_id,
                asyncio.wait_for(runtime.advise(parsed, thread_id=claimed.run_key,
                                                organization=organization,
                                                progress=_agent_progress(progress)),
                                 timeout=platform.settings.job_timeout_s))
            await progress.step(95, "saving result")
        finally:
            await progress.close()
        async with session_scope(platform.sessions) as session:
            repo = _runs(platform, session)
            # completion first: if it is no longer ours, no result row is written either
            if not await repo.complete(assessment_id, worker_id, utcnow()):
                raise _Lost
            await repo.add_result(assessment_id, advice,
                                  date.fromisoformat(advice["catalog_as_of"]))
        # the result is served from the cache once this returns, and announced after that
        await repo.settled()
        await _forget(runtime, claimed.run_key)
    except _Lost:
        log.info("assessment %s: no longer ours (cancelled or taken over); stopped",
                 assessment_id)
        return "lost"
    except Exception as exc:
        if connection_lost(exc):
            # not the run's fault: hand it back once the database answers; it resumes
            # from its checkpoint (if the database stays away, the sweeper requeues it)
            log.warning("assessment %s: database connection lost (%s)", assessment_id,
                        type(exc).__name__)
            await _hand_back(platform, assessment_id, worker_id)
            return "interrupted"
        reference = uuid.uuid4().hex[:12]
        log.exception("assessment %s failed (reference %s)", assessment_id, reference)
        async with session_scope(platform.sessions) as session:
            failed = await _runs(platform, session).fail(
                assessment_id, worker_id, one_line_error(exc, platform, reference), utcnow())
        if not failed:
            return "lost"
        metrics.labels(event="failed").inc()
        return "failed"
    metrics.labels(event="completed").inc()
    platform.metrics.assessment_duration.observe(time.perf_counter() - started)
    return "completed"


def _organization_keys(platform: Platform, organization_id: str | None,
                       ciphertexts: dict[str, str]) -> OrganizationKeys | None:
    """The run's organization and its own LLM keys, read with the claim and decrypted at
    the start of each run (a key rotated or deleted since is in force for the next run),
    here, in the process that makes the calls, and held in memory for this run only."""
    if organization_id is None:
        return None
    if not ciphertexts:
        return OrganizationKeys(organization_id, {})
    try:
        keyring = keyring_of(platform)
    except EncryptionUnavailable:
        log.warning("organization %s has LLM keys but ENCRYPTION_KEY is not set: the "
                    "server's keys are used", organization_id)
        return OrganizationKeys(organization_id, {})
    return organization_keys(organization_id, ciphertexts, keyring)


@dataclass(frozen=True, slots=True)
class _Claimed:
    requirements: Any
    run_key: str
    organization_id: str | None
    ciphertexts: dict[str, str]


async def _claim(platform: Platform, assessment_id: str, worker_id: str
                 ) -> _Claimed | None:
    """Claim the run, and read what it needs in the same transaction: its requirements,
    its run key, its organization's secrets. None when it is not ours to run."""

    async def claim(first_try: bool) -> _Claimed | None:
        async with session_scope(platform.sessions) as session:
            repo = _runs(platform, session)
            # a claim whose connection was lost at COMMIT may have won unseen: a retry
            # that loses checks whether the run is ours already
            if not await repo.claim(assessment_id, worker_id, utcnow()) and (
                    first_try or await repo.holder(assessment_id) != ("running", worker_id)):
                return None
            requirements, run_key = await repo.run_inputs(assessment_id)
            organization_id, ciphertexts = await secrets_of_assessment(session, assessment_id)
            return _Claimed(requirements, run_key, organization_id, ciphertexts)

    return await _while_connection_lost(platform, f"assessment {assessment_id}: claim",
                                        claim)


async def _hand_back(platform: Platform, assessment_id: str, worker_id: str) -> None:
    """Queue the run again as soon as the database answers (``attempts`` spent: fail it),
    and send it; after ``stale_after_s`` of trying, leave it to the sweeper."""
    now = utcnow()

    async def hand_back(_first_try: bool) -> str | None:
        async with session_scope(platform.sessions) as session:
            return await _runs(platform, session).hand_back(
                assessment_id, worker_id, now=utcnow(), max_attempts=MAX_ATTEMPTS,
                retry_note=DATABASE_LOST,
                give_up_note=f"the database was unavailable; gave up after {MAX_ATTEMPTS} "
                             "attempts")

    try:
        outcome = await _while_connection_lost(
            platform, f"assessment {assessment_id}: hand back", hand_back)
    except Exception as exc:
        log.warning("assessment %s: could not hand the run back (%s); the sweeper will "
                    "requeue it", assessment_id, type(exc).__name__)
        return
    if outcome == "queued":
        platform.metrics.assessments.labels(event="requeued").inc()
        log.warning("assessment %s: handed back to the queue %.1f s after the connection "
                    "was lost", assessment_id, (utcnow() - now).total_seconds())
        await enqueue_run(assessment_id)
    elif outcome == "failed":
        platform.metrics.assessments.labels(event="failed").inc()


async def _while_connection_lost(platform: Platform, what: str,
                                 operation: Callable[[bool], Awaitable[_T]]) -> _T:
    """``operation(first_try)``, tried again while the database connection is lost (1 s,
    doubling to 5 s, for at most ``stale_after_s``); any other error propagates."""
    deadline = time.monotonic() + stale_after_s(platform.settings)
    delay_s = DB_RETRY_S
    first_try = True
    while True:
        try:
            return await operation(first_try)
        except Exception as exc:
            if not connection_lost(exc) or time.monotonic() + delay_s > deadline:
                raise
            log.warning("%s: database unreachable (%s); trying again in %.0f s", what,
                        type(exc).__name__, delay_s)
        first_try = False
        await asyncio.sleep(delay_s)
        delay_s = min(2 * delay_s, DB_RETRY_MAX_S)


def _agent_progress(run: RunProgress) -> Progress:
    """A progress callback naming the agents at work; raises ``_Lost`` (which stops the
    graph) when the run is no longer ours.

    The figure never goes back: agents run side by side, and when a later one (say the
    cloud engineer, 70) finishes before an earlier one (compliance, 45), the run is no
    less done than it was, though the agent still at work is the earlier one."""
    working: list[str] = []
    reached = 0

    async def progress(agent: str, event: str) -> None:
        nonlocal reached
        if event == "started":
            working.append(agent)
        elif agent in working:
            working.remove(agent)
        if not working:
            return
        step = ("agent " if len(working) == 1 else "agents ") + ", ".join(working)
        reached = max(reached, *(AGENT_PROGRESS.get(a, 50) for a in working))
        await run.step(reached, step)

    return progress


class RunProgress:
    """A run's progress as its watchers read it (``progress``, ``current_step``, with a
    heartbeat), written at most every ``run_progress_every_s``. A step that comes sooner
    is held, and the latest one held is written when the wait ends.

    Why: an offline run is over in a tenth of a second, and each of its dozen steps was an
    UPDATE, a commit, an announcement to event streams and a stale cached list: most of a
    worker's CPU per run (``bench/api_load.py``), for steps no one could read. A run that
    calls a model takes its time, and each agent it reaches is shown within the interval.

    ``step`` raises ``_Lost`` once a write finds the run no longer ours (cancelled, taken
    over); a held write that finds it so makes the next ``step`` raise. ``close`` drops a
    step still held (what follows, the result or the failure, is written at once) and
    waits for a write under way."""

    def __init__(self, platform: Platform, assessment_id: str, worker_id: str) -> None:
        self._platform = platform
        self._assessment_id = assessment_id
        self._worker_id = worker_id
        self._every_s = platform.settings.run_progress_every_s
        self._latest: tuple[int, str] = (0, "starting")
        self._written = self._latest  # by the claim, just now
        self._written_at = time.monotonic()
        self._writer: asyncio.Task[None] | None = None
        self._holding = False  # the writer waits for the interval to end
        self._lock = asyncio.Lock()
        self._lost = False
        self._closed = False

    async def step(self, progress: int, current_step: str) -> None:
        if self._lost:
            raise _Lost
        self._latest = (progress, current_step)
        if self._writer is not None:
            return  # the writer under way writes the latest when its turn comes
        wait_s = self._written_at + self._every_s - time.monotonic()
        if wait_s <= 0:
            await self._write()
        else:
            self._writer = asyncio.create_task(self._write_after(wait_s))

    async def close(self) -> None:
        self._closed = True
        writer = self._writer
        if writer is None:
            return
        if self._holding:
            writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer

    async def _write_after(self, wait_s: float) -> None:
        try:
            while not self._closed:
                self._holding = True
                await asyncio.sleep(wait_s)
                self._holding = False
                await self._write()
                if self._written == self._latest:
                    return
                wait_s = self._every_s  # a step came while this one was written
        except _Lost:
            self._lost = True
        except Exception:  # the run's next write meets the same trouble, and handles it
            log.warning("assessment %s: progress not written", self._assessment_id,
                        exc_info=True)
        finally:
            self._holding = False
            self._writer = None

    async def _write(self) -> None:
        async with self._lock:
            latest = self._latest
            if latest == self._written:
                return
            self._written_at = time.monotonic()
            progress, current_step = latest
            async with session_scope(self._platform.sessions) as session:
                if not await _runs(self._platform, session).step(
                        self._assessment_id, self._worker_id, progress=progress,
                        current_step=current_step, now=utcnow()):
                    raise _Lost
            self._written = latest


async def _forget(runtime: AgentRuntime, run_key: str) -> None:
    """The result is stored: its checkpoints are not needed (a failure here loses nothing)."""
    try:
        await runtime.forget(run_key)
    except Exception:
        log.warning("could not delete checkpoints of %s", run_key, exc_info=True)


async def _with_heartbeat(platform: Platform, assessment_id: str, worker_id: str,
                          work: Awaitable[_T]) -> _T:
    """Await ``work`` while a heartbeat is written every quarter of ``stale_after_s``."""
    interval_s = stale_after_s(platform.settings) / 4

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


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    error: BaseException | None = exc
    while error is not None and len(chain) < 10 and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def one_line_error(exc: BaseException, platform: Platform,
                   reference: str | None = None) -> str:
    """What went wrong, in one line for the user (the traceback goes to the log).

    A database error, or an error it caused, never shows its text: a driver's message
    names the schema and can quote the data of the statement. It reads "internal error
    (reference R)", and the log line with its traceback carries R.
    """
    if connection_lost(exc):
        text = DATABASE_LOST
    elif any(is_database_error(error) for error in _causes(exc)):
        text = f"internal error (reference {reference})" if reference else "internal error"
    elif isinstance(exc, TimeoutError):
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

    The one sweeper (``repositories.stale_runs``) with the worker's rule: ``running`` with
    no heartbeat for ``stale_after_s``: back to ``queued`` (``error`` says it is a retry)
    and sent again, or ``failed`` after ``MAX_ATTEMPTS`` claims. ``queued`` for longer
    than ``job_timeout_s`` (its message was lost): sent again. Messages are sent after the
    commit; a duplicate is harmless, as claims are atomic. A send that fails is retried
    by ``resend_unsent`` within ``RESEND_S``.
    """
    silent_s = stale_after_s(platform.settings)
    now = utcnow()

    def rule(run: RunRow) -> Verdict:
        if run.status == "queued":
            return Verdict("requeue")  # its message was lost: sent again
        silent = f"worker {run.worker_id or '?'} sent no heartbeat for {silent_s:g} s"
        if run.attempts >= MAX_ATTEMPTS:
            return Verdict("fail", f"gave up after {run.attempts} attempts: {silent}")
        return Verdict("requeue",
                       f"retrying (attempt {run.attempts + 1} of {MAX_ATTEMPTS}): {silent}")

    async with session_scope(platform.sessions) as session:
        swept = await sweep_stale_runs(
            platform, session, silent_since=now - timedelta(seconds=silent_s),
            waiting_since=now - timedelta(seconds=platform.settings.job_timeout_s), now=now,
            rule=rule)
        platform.metrics.queue_depth.set(await RunRepository(session).count_queued())
    requeued = 0
    for stale in swept:
        if stale.run.status == "running" and stale.outcome == "failed":
            platform.metrics.assessments.labels(event="failed").inc()
            log.warning("assessment %s: given up after %d attempts", stale.run.id,
                        stale.run.attempts)
        elif stale.run.status == "running" and stale.outcome == "requeued":
            platform.metrics.assessments.labels(event="requeued").inc()
            log.warning("assessment %s: %s", stale.run.id, stale.note)
            requeued += 1
    for stale in swept:
        if stale.outcome == "requeued" and stale.run.id not in _unsent:
            # those unsent are retried every RESEND_S already; a failure lands among them
            await enqueue_run(stale.run.id)
    return requeued


async def send_all_queued(platform: Platform) -> int:
    """Send every queued run again (the broker lost its messages); returns how many."""
    async with session_scope(platform.sessions) as session:
        ids = await RunRepository(session).queued_ids()
    for assessment_id in ids:
        await enqueue_run(assessment_id)
    if ids:
        log.warning("the broker lost its messages (Redis restarted empty?): sent %d queued "
                    "run(s) again", len(ids))
    return len(ids)


def sweep_interval_s(settings: Settings) -> float:
    """The sweeper's full pass: a quarter of ``stale_after_s``, between 1 and 15 s."""
    return max(1.0, min(SWEEP_MAX_S, stale_after_s(settings) / 4))


async def sweep_forever(platform: Platform, stop: asyncio.Event | None = None) -> None:
    """Until ``stop`` is set: every ``RESEND_S`` send what this process could not send and,
    if the broker lost its messages, every queued run; every ``sweep_interval_s`` run
    ``requeue_stale``. Each API process runs one; a failure is logged and retried.

    ``stop`` ends it between passes, never in the middle of a query: cancelled in one at
    shutdown, a SQLite query went on in aiosqlite's thread, which then handed its result
    to an event loop already closed (a thread exception in the test suite, now and then,
    from an app whose lifespan ended right after its first sweep began)."""
    next_sweep = 0.0
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            if await queue.runs.lost_its_data():
                await send_all_queued(platform)
            await resend_unsent()
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + sweep_interval_s(platform.settings)
                await requeue_stale(platform)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not stop future sweeps
            log.exception("stale-run sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RESEND_S)
