"""The one sweeper of runs that stopped moving. The worker's periodic pass
(``worker.tasks.requeue_stale``) and an operator's ``clear-stuck-workflows``
(``ops.workflows.clear_stuck``) both call :func:`sweep_stale_runs`; they differ only in
their cutoffs and their rule.

A run is stale in one of two ways, each against its own cutoff:

- **silent**: running with no heartbeat since ``silent_since`` (none at all: started
  before it): its worker died or hangs;
- **waiting**: queued since before ``waiting_since``, or with no time of queueing: its
  message was lost, or no worker takes work.

The caller's rule gives each a :class:`Verdict`:

- ``requeue``: a silent run goes back to ``queued`` with the verdict's note in ``error``;
  a waiting run stays queued, its ``queued_at`` moved to when it is sent again (an
  operator with no task stream at hand backdates it, so the next worker sweep sends it);
- ``fail``: ``failed``, with the verdict's note in ``error``.

Every change is a guarded UPDATE (the state the run was found in, still silent or still
waiting since its cutoff), so a run that moved on meanwhile is left alone (``left``).
Every change is made as every other writer of a run makes it (a ``RunRepository`` with
the platform's status channel and cache): once the session commits, the new status is
announced to event streams and the organization's cached lists are dropped, so a list
read right after shows it. Sending runs again (after the commit), metrics, logs and
audit events are the callers' part.

It lives here, below ``worker`` and ``services``, because the worker calls it and the
worker may not import a service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.kit.platform import Platform
from infra_mind.kit.pubsub import channel_of
from infra_mind.repositories.admin import RunRow, silent_running, waiting_queued
from infra_mind.repositories.assessments import STATUS_CHANNEL, RunRepository

Action = Literal["requeue", "fail"]
#: ``listed``: found, nothing asked; ``left``: it moved on before the guarded write.
Outcome = Literal["listed", "requeued", "failed", "left"]


@dataclass(frozen=True)
class Verdict:
    """What becomes of one stale run, and what its ``error`` says then (a waiting run
    that is requeued keeps its own: ``note`` None)."""

    action: Action
    note: str | None = None


#: The caller's rule: a verdict for each stale run found.
Rule = Callable[[RunRow], Verdict]


@dataclass(frozen=True)
class SweptRun:
    """A stale run as found (``run.status`` is the status it had), and what became of it."""

    run: RunRow
    outcome: Outcome
    note: str | None = None


def run_writer(platform: Platform, session: AsyncSession) -> RunRepository:
    """The run queries as every writer of a run uses them: each status change announced
    on the status channel, and the organization's cached lists dropped, once committed."""
    return RunRepository(session, channel_of(platform, STATUS_CHANNEL), platform.cache)


async def sweep_stale_runs(
    platform: Platform,
    session: AsyncSession,
    *,
    silent_since: datetime,
    waiting_since: datetime,
    now: datetime,
    rule: Rule | None,
    queued_at: datetime | None = None,
) -> list[SweptRun]:
    """The stale runs (silent ones first, the longest running first; then waiting ones,
    the longest waiting first), each acted on in ``session`` per ``rule``'s verdict;
    without a rule, only listed. ``queued_at`` (default ``now``) is when a requeued run
    counts as queued."""
    found = [
        *await silent_running(session, silent_since),
        *await waiting_queued(session, waiting_since),
    ]
    if rule is None:
        return [SweptRun(run, "listed") for run in found]
    repo = run_writer(platform, session)
    due = queued_at or now
    swept: list[SweptRun] = []
    for run in found:
        verdict = rule(run)
        if run.status == "running" and verdict.action == "requeue":
            done = await repo.requeue(run.id, silent_since, verdict.note, now, queued_at=due)
        elif run.status == "running":
            done = await repo.give_up(run.id, silent_since, verdict.note, now)
        elif verdict.action == "requeue":
            done = await repo.touch_queued(run.id, waiting_since, due)
        else:
            done = await repo.fail_queued(run.id, waiting_since, verdict.note, now)
        outcome: Outcome = (
            "left" if not done else ("requeued" if verdict.action == "requeue" else "failed")
        )
        swept.append(SweptRun(run, outcome, verdict.note))
    return swept
