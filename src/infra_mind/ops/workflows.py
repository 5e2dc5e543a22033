"""Runs that need an operator: what the agents are doing (``check-agent-state``), and runs
stuck past a limit (``clear-stuck-workflows``).

A run's agents checkpoint under the thread id ``RunRepository.run_key`` gives it; the
checkpoint store is the one the workers use (``CHECKPOINT_URL``, or beside the database).
Stuck means: running with no heartbeat for longer than the limit (its worker died or
hangs), or queued for longer than the limit (its message was lost, or no worker takes
work). The sweeper every API process runs acts on these after ``JOB_TIMEOUT_S`` by
itself; this is for an operator who will not wait, or wants them failed instead.

It is the same sweeper (``repositories.stale_runs``) with the operator's cutoff and rule:
every change is a guarded update (the state the run was seen in, still silent or waiting
since the cutoff), so a run that woke up meanwhile is left alone; it is announced to
event streams and drops the organization's cached lists once committed, as the worker's
changes do, so a list read right after shows it. Each change is recorded as an audit
event; runs are sent again only after the commit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from infra_mind.agents.runtime import checkpoint_url_for, open_checkpointer
from infra_mind.kit.db import session_scope
from infra_mind.kit.platform import Platform
from infra_mind.kit.pubsub import committed
from infra_mind.models import utcnow
from infra_mind.repositories import admin as queries
from infra_mind.repositories.admin import RunRow
from infra_mind.repositories.assessments import RunRepository
from infra_mind.repositories.stale_runs import Rule, Verdict, sweep_stale_runs
from infra_mind.services import audit
from infra_mind.services.admin import seconds_since

Action = Literal["list", "requeue", "fail"]
#: Sends ``assessment.run`` for an id (``worker.tasks.enqueue_run`` with a started queue).
Sender = Callable[[str], Awaitable[None]]


def redacted(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


# -- check-agent-state ---------------------------------------------------------------------


@dataclass
class AgentState:
    run: RunRow
    age_s: float | None
    silent_s: float | None
    stuck: bool  # silent for longer than the job timeout: the sweeper will requeue it
    thread_id: str
    #: {"step", "saved_at", "agents_done"} of the thread's latest checkpoint; None: none
    checkpoint: dict[str, Any] | None = None


@dataclass
class AgentStates:
    checkpoint_store: str
    checkpoints_visible: bool  # False: in-memory checkpoints, in the worker's own process
    queued: int
    running: list[AgentState] = field(default_factory=list)


async def agent_states(platform: Platform, *, limit: int = 500) -> AgentStates:
    """Running assessments: their agents at work (``current_step``), age, attempts,
    worker, and the checkpoint their agents saved so far."""
    settings = platform.settings
    url = settings.checkpoint_url or checkpoint_url_for(settings.database_url)
    now = utcnow()
    async with platform.sessions() as session:
        runs = await queries.active_runs(session, "running", limit)
        queued = (await queries.assessments_by_status(session)).get("queued", 0)
        keys = [await RunRepository(session).run_key(r.id) for r in runs]
    report = AgentStates(checkpoint_store=redacted(url), checkpoints_visible=url != "memory",
                         queued=queued)
    async with contextlib.AsyncExitStack() as stack:
        saver = await open_checkpointer(url, stack) if report.checkpoints_visible else None
        for run, thread_id in zip(runs, keys, strict=True):
            silent_s = seconds_since(run.heartbeat_at or run.started_at, now)
            state = AgentState(run=run, age_s=seconds_since(run.started_at, now),
                               silent_s=silent_s,
                               stuck=silent_s is not None and silent_s > settings.job_timeout_s,
                               thread_id=thread_id)
            if saver is not None:
                found = await saver.aget_tuple({"configurable": {"thread_id": thread_id,
                                                                 "checkpoint_ns": ""}})
                if found is not None:
                    values = found.checkpoint.get("channel_values", {})
                    state.checkpoint = {
                        "step": (found.metadata or {}).get("step"),
                        "saved_at": found.checkpoint.get("ts"),
                        "agents_done": [t["agent"] for t in values.get("timings", [])]}
            report.running.append(state)
    return report


# -- clear-stuck-workflows -------------------------------------------------------------------


@dataclass
class StuckRun:
    run: RunRow
    silent_s: float | None  # since the heartbeat (running) or since queued (queued)
    outcome: str = "listed"  # requeued | failed | sent | left (it moved on meanwhile)


@dataclass
class StuckReport:
    older_than_s: int
    action: Action
    dry_run: bool
    runs: list[StuckRun] = field(default_factory=list)
    sent: int = 0


async def clear_stuck(platform: Platform, *, older_than_s: int, action: Action = "list",
                      dry_run: bool = False, send: Sender | None = None) -> StuckReport:
    """List the stuck runs, or requeue them (running -> queued, then sent again with
    ``send``; queued ones are sent again), or fail them with a one-line reason.

    Without ``send`` (no task stream to reach from here: the API process runs tasks
    itself), requeued runs are left queued as if waiting since before the job timeout,
    so the API's sweeper sends them at its next pass.
    """
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_s)
    report = StuckReport(older_than_s=older_than_s, action=action, dry_run=dry_run)
    rule = None if action == "list" or dry_run else _operator_rule(action, older_than_s)
    # a requeued run waits as if queued before the sweeper's cutoff when no one sends it
    due = now if send is not None else \
        now - timedelta(seconds=platform.settings.job_timeout_s + 1)
    async with session_scope(platform.sessions) as session:
        swept = await sweep_stale_runs(platform, session, silent_since=cutoff,
                                       waiting_since=cutoff, now=now, rule=rule, queued_at=due)
        for stale in swept:
            run = stale.run
            since = (run.heartbeat_at or run.started_at) if run.status == "running" \
                else run.queued_at
            report.runs.append(StuckRun(run, seconds_since(since, now), stale.outcome))
            if stale.outcome in ("requeued", "failed"):
                audit.record(session, action=f"maintenance.stuck_{stale.outcome}",
                             actor_id=None, organization_id=run.organization_id,
                             object_type="assessment", object_id=run.id,
                             detail={"was": run.status, "reason": _why(run, older_than_s),
                                     "attempts": run.attempts})
    await committed(session)  # the cache and the streams know before this returns
    if send is not None:
        for stuck in report.runs:
            if stuck.outcome == "requeued":
                await send(stuck.run.id)
                report.sent += 1
    return report


def _why(run: RunRow, older_than_s: int) -> str:
    return (f"worker {run.worker_id or '?'} sent no heartbeat for more than {older_than_s} s"
            if run.status == "running" else f"queued for more than {older_than_s} s")


def _operator_rule(action: Action, older_than_s: int) -> Rule:
    """Every stuck run the same way (``action``), its ``error`` saying an operator did it
    and why; no limit of attempts: the operator decides."""
    def rule(run: RunRow) -> Verdict:
        if action == "requeue":
            return Verdict("requeue", f"requeued by an operator: {_why(run, older_than_s)}")
        return Verdict("fail", f"failed by an operator: {_why(run, older_than_s)}")

    return rule
