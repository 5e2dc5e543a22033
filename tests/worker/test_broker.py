"""The Redis stream broker's reading, on a real Redis (a stream of this test's own).

A worker takes one message per free slot (no prefetch), a message its consumer never
acknowledged (the process died) is taken by another consumer after ``reclaim_after_s``,
and each process reads under its own consumer name. Each test uses a fresh stream and
group name in $INFRA_MIND_TEST_REDIS (default DB 15), deleted afterwards.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from infra_mind.worker.broker import _stream_broker, consumer_name

REDIS_URL = os.environ.get("INFRA_MIND_TEST_REDIS", "redis://127.0.0.1:6379/15")
REQUIRE = os.environ.get("INFRA_MIND_REQUIRE_SERVICES") == "1"


@pytest.fixture()
async def stream() -> AsyncIterator[tuple[Redis, str, str]]:
    """(client, stream, group): both names fresh, the stream deleted afterwards."""
    client = Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        message = f"Redis unreachable at {REDIS_URL} ({type(exc).__name__})"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    name = f"test:{uuid.uuid4().hex}:tasks"
    try:
        yield client, name, f"{name}:workers"
    finally:
        await client.delete(name)
        await client.aclose()


def _broker(name: str, group: str, reclaim_after_s: float = 60.0):
    broker = _stream_broker()(url=REDIS_URL, queue_name=name, consumer_group_name=group,
                              consumer_id="0", xread_block=200)
    broker.reclaim_after_s = reclaim_after_s
    return broker


async def _pending_by_consumer(client: Redis, name: str, group: str) -> dict[str, int]:
    summary = await client.xpending(name, group)
    return {c["name"].decode(): int(c["pending"]) for c in summary["consumers"] or ()}


async def _next(messages, timeout_s: float):
    return await asyncio.wait_for(anext(messages), timeout_s)


async def test_a_worker_takes_one_message_per_free_slot(stream):
    """taskiq-redis read 100 messages at a time: one worker held them all while it ran
    4, and another idled. Now each request for a message reads one."""
    client, name, group = stream
    first, second = _broker(name, group), _broker(name, group)
    await first.startup()
    await second.startup()
    for i in range(10):
        await client.xadd(name, {b"data": f"message {i}".encode()})
    a = first.listen()
    b = second.listen()
    try:
        got_a = await _next(a, 5)
        assert await _pending_by_consumer(client, name, group) == {first.consumer_name: 1}
        got_b = await _next(b, 5)  # the rest are still there for the other worker
        assert {got_a.data, got_b.data} == {b"message 0", b"message 1"}
        assert await _pending_by_consumer(client, name, group) == {
            first.consumer_name: 1, second.consumer_name: 1}
        await got_a.ack()
        assert await _pending_by_consumer(client, name, group) == {second.consumer_name: 1}
    finally:
        await a.aclose()
        await b.aclose()
        await first.shutdown()
        await second.shutdown()


async def test_each_process_reads_under_its_own_consumer_name(stream):
    client, name, group = stream
    brokers = [_broker(name, group), _broker(name, group)]
    listeners = [broker.listen() for broker in brokers]
    try:
        for broker in brokers:
            await broker.startup()
        await client.xadd(name, {b"data": b"one"})
        await client.xadd(name, {b"data": b"two"})
        for listener in listeners:
            await _next(listener, 5)
        names = [broker.consumer_name for broker in brokers]
        assert len(set(names)) == 2
        host, pid, suffix = names[0].split(":")
        assert host == socket.gethostname()
        assert int(pid) == os.getpid() and len(suffix) == 8
    finally:
        for listener in listeners:
            await listener.aclose()
        for broker in brokers:
            await broker.shutdown()


async def test_a_dead_consumers_message_is_taken_over_after_the_idle_time(stream):
    """A worker took a message and died (no ack): another worker takes it once it has
    been unacknowledged for ``reclaim_after_s``, not after taskiq-redis's 10 minutes."""
    client, name, group = stream
    dead, alive = _broker(name, group, 1.0), _broker(name, group, 1.0)
    await dead.startup()
    await alive.startup()
    await client.xadd(name, {b"data": b"orphan"})
    doomed = dead.listen()
    taken = await _next(doomed, 5)
    assert taken.data == b"orphan"
    await doomed.aclose()  # the process is gone: the message stays pending on it
    await dead.shutdown()

    survivor = alive.listen()
    try:
        # within the bounded wait (not after taskiq-redis's 10 minutes); that it waits for
        # the idle time first is the next test's
        reclaimed = await _next(survivor, 10)
        assert reclaimed.data == b"orphan"
        assert await _pending_by_consumer(client, name, group) == {alive.consumer_name: 1}
        (entry,) = await client.xpending_range(name, group, "-", "+", 10)
        assert entry["times_delivered"] == 2  # taken over from the dead consumer
        await reclaimed.ack()
        assert await _pending_by_consumer(client, name, group) == {}
    finally:
        await survivor.aclose()
        await alive.shutdown()


async def test_a_message_being_worked_on_is_not_taken_before_the_idle_time(stream):
    client, name, group = stream
    # (long: Redis measures idle time on the wall clock, which a VM may step)
    busy, idle = _broker(name, group, 600.0), _broker(name, group, 600.0)
    await busy.startup()
    await idle.startup()
    await client.xadd(name, {b"data": b"in progress"})
    working = busy.listen()
    try:
        await _next(working, 5)
        # the other worker asks for a message for 1.5 s, one blocking read (200 ms) at a
        # time: cancelling redis-py mid-read (wait_for on listen()) sometimes never returns
        idle.consumer_name = consumer_name()
        async with Redis(connection_pool=idle.connection_pool) as conn:
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                stolen = await asyncio.wait_for(idle._next_message(conn, 600.0), 5)
                assert stolen is None, f"taken while its consumer works on it: {stolen.data!r}"
        assert await _pending_by_consumer(client, name, group) == {busy.consumer_name: 1}
    finally:
        await working.aclose()
        await busy.shutdown()
        await idle.shutdown()
