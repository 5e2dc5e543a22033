"""``worker.queue``: where an API process sends runs, without taskiq.

The stream queue writes what taskiq's ``kiq`` wrote, and the workers' broker reads it
back as ``assessment.run`` for the same id, on a real Redis ($INFRA_MIND_TEST_REDIS,
default DB 15) under a namespace of the test's own, deleted afterwards. The in-process
queue runs a few at a time and waits for all of them when stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Iterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from infra_mind.worker import tasks
from infra_mind.worker.broker import _stream_broker, broker
from infra_mind.worker.queue import (
    CONSUMER_GROUP,
    MAX_CONCURRENT_RUNS,
    RUN_TASK,
    InProcessQueue,
    StreamQueue,
    run_message,
)
from tests.integration.procs import RedisSpace, redis_namespace

REDIS_URL = os.environ.get("INFRA_MIND_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture()
def space() -> Iterator[RedisSpace]:
    with redis_namespace(REDIS_URL) as s:
        yield s


class _Settings:
    """What ``StreamQueue.start`` reads of a platform."""

    def __init__(self, namespace: str) -> None:
        self.settings = type("S", (), {"redis_namespace": namespace})()


def test_the_message_is_the_one_taskiq_sends_for_the_task_its_workers_run():
    sent = broker.formatter.loads(run_message("a-1"))
    task = broker.find_task(sent.task_name)
    assert task is not None and task.original_func is tasks.run_assessment
    # what taskiq's own kicker makes of run_assessment.kiq("a-1"), but for the random id
    kicked = task.kicker()._prepare_message("a-1")
    assert sent.model_dump(exclude={"task_id"}) == kicked.model_dump(exclude={"task_id"})
    assert len(sent.task_id) == 32 and sent.task_id != broker.formatter.loads(
        run_message("a-1")).task_id


async def test_the_workers_broker_reads_what_the_queue_sent(space):
    stream = StreamQueue(space.url)
    await stream.start(_Settings(space.prefix))  # type: ignore[arg-type]
    try:
        assert stream.stream == space.stream
        with space.client(socket_timeout=5) as client:  # declared with no worker yet
            assert [g["name"].decode() for g in client.xinfo_groups(space.stream)] == [
                CONSUMER_GROUP]
        for aid in ("a-1", "a-2"):
            await stream.send(aid)
        worker = _stream_broker()(url=space.url, queue_name=space.stream,
                                  consumer_group_name=CONSUMER_GROUP, consumer_id="0",
                                  xread_block=200)
        await worker.startup()
        messages = worker.listen()
        try:
            got = []
            for _ in range(2):
                message = await asyncio.wait_for(anext(messages), 5)
                decoded = broker.formatter.loads(message.data)
                got.append((decoded.task_name, decoded.args))
                await message.ack()
        finally:
            await messages.aclose()
            await worker.shutdown()
        assert got == [(RUN_TASK, ["a-1"]), (RUN_TASK, ["a-2"])]
        assert await stream.ready() == "ok"
    finally:
        await stream.stop()


async def test_the_stream_queue_says_when_redis_lost_its_data(space):
    stream = StreamQueue(space.url)
    await stream.start(_Settings(space.prefix))  # type: ignore[arg-type]
    try:
        assert await stream.lost_its_data()  # the first time ever
        assert not await stream.lost_its_data()
        space.clean()  # as a Redis restarted without persistence
        assert await stream.lost_its_data()
    finally:
        await stream.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_an_unreachable_redis_is_down_and_refuses_sends():
    stream = StreamQueue(f"redis://127.0.0.1:{_closed_port()}/0")
    try:
        assert await stream.ready() == "down: ConnectionError"
        assert not await stream.lost_its_data()
        with pytest.raises(RedisConnectionError):
            await stream.send("a-1")
        with pytest.raises(RedisConnectionError):  # as taskiq's start-up did: the API stops
            await stream.start(_Settings(""))  # type: ignore[arg-type]
    finally:
        await stream.stop()


async def test_the_in_process_queue_runs_a_few_at_once_in_order_and_waits_for_all(caplog):
    started: list[str] = []
    running = 0
    most = 0
    release = asyncio.Event()
    in_process: InProcessQueue

    async def run(assessment_id: str) -> str:
        nonlocal running, most
        started.append(assessment_id)
        running += 1
        most = max(most, running)
        try:
            await release.wait()
            if assessment_id == "r-1":
                raise RuntimeError("boom")
            if assessment_id == "r-2":  # a run that sends another (a hand-back)
                await in_process.send("again")
        finally:
            running -= 1
        return "completed"

    in_process = InProcessQueue(run)
    await in_process.start(None)  # type: ignore[arg-type]
    for i in range(MAX_CONCURRENT_RUNS + 3):
        await in_process.send(f"r-{i}")
    await asyncio.sleep(0.05)
    assert started == [f"r-{i}" for i in range(MAX_CONCURRENT_RUNS)]  # the rest wait
    release.set()
    with caplog.at_level(logging.ERROR, logger="infra_mind.worker"):
        await in_process.stop()
    assert started == [f"r-{i}" for i in range(MAX_CONCURRENT_RUNS + 3)] + ["again"]
    assert most == MAX_CONCURRENT_RUNS and running == 0
    assert [r.getMessage() for r in caplog.records] == [f"{RUN_TASK} r-1 raised"]
    assert await in_process.ready() == "ok" and not await in_process.lost_its_data()



#: In a fresh interpreter with a worker's environment: its start-up, one run handed back
#: to the queue (as a run does when the database goes away), its shutdown.
WORKER_HANDS_BACK = """
import asyncio
from taskiq import TaskiqState
from infra_mind.worker import broker, tasks

async def main():
    state = TaskiqState()
    await broker._worker_startup(state)
    try:
        assert await tasks.enqueue_run("handed-back")
    finally:
        await broker._worker_shutdown(state)

asyncio.run(main())
"""


def test_a_worker_sends_a_run_back_to_its_deployments_stream(space, tmp_path):
    """A worker hands a run back to the queue when the database goes away under it; the
    message must reach the stream of its own namespace (REDIS_NAMESPACE), which its
    start-up names, as an API's does. Unnamed, it went to the namespace-less stream, where
    no worker of the deployment reads."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_", "DATABASE_URL", "METRICS_PORT", "ENVIRONMENT"))}
    env.update(ENVIRONMENT="test", JWT_SECRET_KEY="w" * 48, LOG_LEVEL="WARNING",
               DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/w.db",
               REDIS_URL=space.url, REDIS_NAMESPACE=space.prefix)
    done = subprocess.run([sys.executable, "-c", WORKER_HANDS_BACK], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with space.client(socket_timeout=5) as client:
        entries = client.xrange(space.stream)
    assert [broker.formatter.loads(fields[b"data"]).args for _, fields in entries] == [
        ["handed-back"]]


#: In a fresh interpreter with a worker's environment: what its start-up loaded.
WORKER_WARMS = """
import asyncio, sys
from taskiq import TaskiqState
from infra_mind.kit import compute
from infra_mind.worker import broker

async def main():
    state = TaskiqState()
    await broker._worker_startup(state)
    try:
        pool = compute._budget._pool if compute._budget is not None else None
        print("graph", "infra_mind.agents.graph" in sys.modules,
              "compiled", state.platform.agents is not None
              and state.platform.agents._graph is not None,
              "engine processes", 0 if pool is None else len(pool._processes))
    finally:
        await broker._worker_shutdown(state)

asyncio.run(main())
"""


@pytest.mark.parametrize("checkpoints", ["own", "unwritable"])
def test_a_worker_loads_what_its_first_run_needs_before_it_reads_the_queue(tmp_path,
                                                                           checkpoints):
    """Loaded on the first run instead, the agents' graph, the checkpointer and an engine
    process with the catalog (1.1 s here) made that run's user wait, and each new worker
    spent it while its siblings had runs queued. When a part cannot load (here the
    checkpoints' folder cannot be made), the worker starts all the same, says so in one
    line, and its first run tries again."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_", "DATABASE_URL", "CHECKPOINT_URL", "METRICS_PORT",
                                "ENVIRONMENT", "LOG_"))}
    env.update(ENVIRONMENT="test", JWT_SECRET_KEY="w" * 48, LOG_LEVEL="INFO",
               DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/w.db")
    if checkpoints == "unwritable":  # its folder cannot be made
        env["CHECKPOINT_URL"] = f"sqlite:///{os.devnull}/checkpoints/agents.db"
    done = subprocess.run([sys.executable, "-c", WORKER_WARMS], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    if checkpoints == "own":
        assert done.stdout.split() == ["graph", "True", "compiled", "True",
                                       "engine", "processes", "1"], done.stdout
        assert '"worker.warm"' in done.stderr, done.stderr
    else:
        assert "graph True compiled False engine processes 0" in done.stdout, done.stdout
        assert "worker warm-up incomplete (" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
