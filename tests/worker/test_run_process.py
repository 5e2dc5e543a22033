"""The run process (``worker.run_process``): an API process without Redis runs its runs in
a child of its own, and hears of them as if it had run them itself.

The rest of the suite runs runs on the app's own event loop (``RUN_PROCESS=false``, the
root conftest); these tests turn the run process on, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from infra_mind.api.app import create_app
from infra_mind.kit.pubsub import channel_of
from infra_mind.models import Assessment
from infra_mind.services.events import STATUS_CHANNEL
from infra_mind.worker import queue
from infra_mind.worker.run_process import RunProcess
from tests.api.helpers import create_assessment, create_member, wait_for_status

BASE = "/api/v1/assessments"


@contextlib.asynccontextmanager
async def api(settings, **changes: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(settings.model_copy(update={"run_process": True, **changes}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


def process() -> RunProcess:
    found = getattr(queue.runs, "process", None)
    assert isinstance(found, RunProcess), "the app runs its runs on its own loop"
    return found


async def run(client: httpx.AsyncClient, member, title: str = "Shop") -> str:
    assessment_id = (await create_assessment(client, member, title=title))["id"]
    response = await client.post(f"{BASE}/{assessment_id}/run", headers=member.headers)
    assert response.status_code == 202, response.text
    return assessment_id


async def statuses(app, ids: list[str]) -> dict[str, str]:
    async with app.state.platform.sessions() as session:
        rows = await session.execute(select(Assessment.id, Assessment.status)
                                     .where(Assessment.id.in_(ids)))
        return dict(rows.all())


async def until(check, timeout_s: float = 30.0, what: str = "") -> None:
    """Wait until ``check()`` (a plain or an async function) holds."""
    deadline = time.monotonic() + timeout_s
    while not await _value(check()):
        assert time.monotonic() < deadline, f"not so after {timeout_s} s: {what}"
        await asyncio.sleep(0.05)


async def _value(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


async def test_a_run_in_the_run_process_is_heard_by_the_api_process(settings):
    """Status messages, cached reads and metrics reach the API process from its child."""
    async with api(settings) as (app, client):
        platform = app.state.platform
        heard: list[dict[str, Any]] = []
        channel_of(platform, STATUS_CHANNEL).subscribe(lambda m: heard.append(m or {}))
        owner = await create_member(app)
        assessment_id = await run(client, owner)

        await wait_for_status(client, owner, assessment_id, timeout_s=60)

        child = process()
        assert child.pid not in (None, os.getpid())
        assert child.started == 1

        def mine() -> list[str]:
            return [m["status"]["status"] for m in heard if m.get("id") == assessment_id]

        async def told() -> bool:  # the commit is seen before the message comes
            return mine()[-1:] == ["completed"]

        async def counted() -> bool:  # a run is counted once it is stored
            return 'assessments_total{event="completed"} 1.0' in \
                platform.metrics.render().decode()

        await until(told, what=f"completed announced: {mine()}")
        assert mine()[0] == "queued" and "running" in mine(), mine()
        await until(counted, what="the run counted")
        # the child's writes went to this process's cache: the result is served from it
        cached = await platform.cache.items("")
        assert any(assessment_id in key for key in cached), sorted(cached)
        result = await client.get(f"{BASE}/{assessment_id}/result", headers=owner.headers)
        assert result.status_code == 200
        assert result.json()["result"]["recommended"]["provider"] in {"aws", "azure", "gcp"}
        # and its counters are this process's: the agents' steps and the run
        text = platform.metrics.render().decode()
        assert 'agent_executions_total{agent="research",status="ok"} 1.0' in text


async def test_an_idle_run_process_stops_and_the_next_run_starts_another(settings):
    async with api(settings, run_process_idle_s=0.2) as (app, client):
        owner = await create_member(app)
        first = await run(client, owner)
        child = process()
        assert child._child is not None  # started by the send, before the answer
        popen = child._child.popen
        await wait_for_status(client, owner, first, timeout_s=60)

        async def stopped() -> bool:
            return popen.poll() is not None

        await until(stopped, what="the idle run process stopped")
        assert popen.returncode == 0 and child.pid is None

        second = await run(client, owner, "Again")
        await wait_for_status(client, owner, second, timeout_s=60)
        assert child.started == 2


async def test_shutdown_waits_for_the_runs_sent_then_stops_the_run_process(settings):
    async with api(settings) as (app, client):
        owner = await create_member(app)
        ids = [await run(client, owner, f"Shop {i}") for i in range(6)]
        await until(lambda: process()._child is not None,
                    what="a run process")
        popen = process()._child.popen
    # the lifespan has ended: every run finished, and the child with them
    assert popen.poll() == 0
    async with api(settings) as (app, _client):
        assert set((await statuses(app, ids)).values()) == {"completed"}


async def test_a_killed_run_process_is_replaced_and_every_run_completes(settings, caplog):
    """Those it had not started go to a new child at once; those it had are requeued by
    the sweeper once silent for ``run_stale_after_s``."""
    caplog.set_level(logging.WARNING, "infra_mind.worker")
    async with api(settings, run_stale_after_s=4) as (app, client):
        owner = await create_member(app)
        ids = [await run(client, owner, f"Shop {i}") for i in range(8)]
        child = process()
        await until(lambda: child.pid is not None, what="a run process")
        os.kill(child.pid, signal.SIGKILL)

        async def all_completed() -> bool:
            return set((await statuses(app, ids)).values()) == {"completed"}

        await until(all_completed, timeout_s=90, what="every run completed")
        assert child.started >= 2
        assert any("ended (exit code -9)" in r.getMessage() for r in caplog.records), \
            [r.getMessage() for r in caplog.records]


async def test_a_run_process_that_does_not_start_fails_the_send_and_the_sweeper_retries(
        settings, caplog, monkeypatch):
    caplog.set_level(logging.WARNING)
    broken = (sys.executable, "-c", "import sys; sys.exit(3)")
    monkeypatch.setattr(RunProcess, "command", broken)
    async with api(settings) as (app, client):
        owner = await create_member(app)
        assessment_id = await run(client, owner)

        async def refused() -> bool:
            return any("did not start (exit code 3" in r.getMessage() for r in caplog.records)

        await until(refused, what="the send refused")
        assert (await statuses(app, [assessment_id]))[assessment_id] == "queued"

        monkeypatch.undo()  # fixed: the sweeper's next resend starts a working child
        await wait_for_status(client, owner, assessment_id, timeout_s=60)
        assert process().started == 1


async def test_a_run_process_whose_api_process_is_gone_ends_at_once(settings):
    """Its link closes as when the API process dies (the socket's end is closed)."""
    async with api(settings, run_process_idle_s=3600) as (app, client):
        owner = await create_member(app)
        assessment_id = await run(client, owner)
        await wait_for_status(client, owner, assessment_id, timeout_s=60)

        async def reported() -> bool:  # the run is seen completed before it says so
            return not process()._pending

        await until(reported, what="the run reported done")
        child = process()._child
        assert child is not None
        child.stopping = True  # as the API process would, were it not gone
        child.link._writer.transport.abort()
        assert await asyncio.to_thread(child.popen.wait, 30) == 0


@pytest.mark.parametrize("message", [
    {"op": "call", "n": 1, "name": "clear", "args": []},
    {"op": "metric", "name": "registry", "args": [], "kwargs": {}, "call": "inc",
     "value": [1]},
    {"op": "metric", "name": "assessments", "args": [], "kwargs": {"event": "x"},
     "call": "clear", "value": []},
])
async def test_the_api_process_answers_only_the_cache_calls_and_metric_updates_it_knows(
        settings, message):
    async with api(settings) as (app, _client):
        answers: list[dict[str, Any]] = []

        class Link:
            def send(self, answer: dict[str, Any]) -> None:
                answers.append(answer)

        class Child:
            link = Link()

        handler = RunProcess(app.state.platform)
        if message["op"] == "call":
            await handler._handle(Child(), message)
            assert answers == [{"op": "answer", "n": 1, "error": "ValueError: no cache "
                                                                 "call 'clear'"}]
        else:
            with pytest.raises(ValueError, match="no metric"):
                await handler._handle(Child(), message)


async def test_the_run_process_computes_in_threads_and_an_api_process_in_engine_processes(
        settings):
    """The run process's loop serves no request: an engine process beside it would only
    be one more process on the API's cores (``worker.tasks.engine_offload``)."""
    from infra_mind.agents.offload import in_thread
    from infra_mind.kit.platform import Platform
    from infra_mind.worker.run_process import Link, linked_platform
    from infra_mind.worker.tasks import engine_offload

    child = linked_platform(settings, Link(None, None))  # type: ignore[arg-type]
    api_process = Platform.build(settings)
    try:
        assert engine_offload(child) is in_thread
        assert engine_offload(api_process) is not in_thread
    finally:
        await child.engine.dispose()
        await api_process.close()
