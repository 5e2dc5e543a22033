"""A worker process's progress reaches an ``/events`` stream of an API process, pushed.

Real processes on loopback, PostgreSQL and Redis: ``infra-mind serve`` and, once a stream
on a queued run is open, ``infra-mind worker``. The worker announces each change of the
run when it commits (Redis pub/sub, ``kit.pubsub``); the API process's feed hands it to
the stream. Every step the worker records must reach the stream: the feed's safety
re-read comes every 20 s, so steps a fraction of a second apart arrive only as messages
(a 0.5 s poller, before, saw those that happened to outlast a poll).

Skips, with the reason, when PostgreSQL ($INFRA_MIND_TEST_PG) or Redis
($INFRA_MIND_TEST_REDIS_BROKER, default DB 14, flushed before and after) is unreachable,
unless INFRA_MIND_REQUIRE_SERVICES=1 (CI), which makes it fail instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.procs import (
    WEB_SERVICE,
    Proc,
    base_env,
    create_pg_database,
    drop_pg_database,
    logs_on_failure,
    migrate,
    ok,
    redis_namespace,
    serve,
    sign_up,
    start,
    unavailable,
    wait_ready,
)

READY_TIMEOUT_S = 60.0
#: From the worker's start until the run is completed (the worker's own start included).
COMPLETE_TIMEOUT_S = 90.0


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with redis_namespace() as space:
        try:
            name, database_url = create_pg_database("im_events")
        except (OSError, asyncpg.PostgresError) as exc:
            unavailable("PostgreSQL", exc)
        try:
            # every step written at once (a worker holds them to one write per 0.5 s)
            environment = dict(base_env(database_url, space), RUN_PROGRESS_EVERY_S="0")
            migrate(environment)
            yield environment
        finally:
            drop_pg_database(name)


async def statuses(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The ``event: status`` payloads of a server-sent event stream."""
    async for line in lines:
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


async def test_every_step_of_a_worker_run_reaches_a_stream_on_the_api(env, tmp_path):
    procs: list[Proc] = []
    try:
        with logs_on_failure(procs):
            api = serve("api", env, tmp_path)
            procs.append(api)
            async with httpx.AsyncClient(timeout=30) as http:
                await wait_ready(http, [api], procs, READY_TIMEOUT_S)
                headers = await sign_up(http, api.url)
                aid = ok(await http.post(f"{api.url}/api/v1/assessments", headers=headers,
                                         json={"title": "Pushed",
                                               "requirements": WEB_SERVICE}), 201)["id"]
                ok(await http.post(f"{api.url}/api/v1/assessments/{aid}/run",
                                   headers=headers), 202)
                seen: list[dict[str, Any]] = []
                async with http.stream("GET", f"{api.url}/api/v1/assessments/{aid}/events",
                                       headers=headers, timeout=None) as response:
                    assert response.status_code == 200
                    changes = statuses(response.aiter_lines())
                    seen.append(await asyncio.wait_for(anext(changes), 10))
                    assert seen[0]["status"] == "queued"  # nothing has run it yet
                    procs.append(start("worker", ["worker"], env, tmp_path))

                    async def rest() -> None:
                        async for change in changes:
                            seen.append(change)

                    await asyncio.wait_for(rest(), COMPLETE_TIMEOUT_S)  # ends with the run
    finally:
        for proc in procs:
            proc.stop()
    assert seen[-1] == {"status": "completed", "progress": 100, "current_step": None,
                        "error": None}, seen
    steps = [change["current_step"] for change in seen]
    assert {"starting", "validating requirements", "agent research",
            "saving result"} <= set(steps), steps
    progress = [change["progress"] for change in seen]
    assert progress == sorted(progress), seen
