"""Leases (``kit.leases``) in memory and in Redis: the same semantics.

The Redis tests use $INFRA_MIND_TEST_REDIS (default DB 15) under a fresh key prefix and
skip when Redis is unreachable (fail under INFRA_MIND_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from infra_mind.kit.leases import MemoryLeases, RedisLeases

REDIS_URL = os.environ.get("INFRA_MIND_TEST_REDIS", "redis://127.0.0.1:6379/15")
REQUIRE = os.environ.get("INFRA_MIND_REQUIRE_SERVICES") == "1"


async def _redis_or_skip() -> Redis:
    client = Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        if REQUIRE:
            pytest.fail(f"Redis unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    return client


async def _clean(client: Redis, prefix: str) -> None:
    keys = [k async for k in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture()
async def prefix() -> AsyncIterator[str]:
    """A fresh key prefix in the test Redis, its keys deleted afterwards."""
    client = await _redis_or_skip()
    name = f"test:{uuid.uuid4().hex}:lease:"
    try:
        yield name
    finally:
        await _clean(client, name)


@pytest.fixture(params=["memory", "redis"])
async def leases(request) -> AsyncIterator[MemoryLeases | RedisLeases]:
    if request.param == "memory":
        yield MemoryLeases()
        return
    client = await _redis_or_skip()
    name = f"test:{uuid.uuid4().hex}:lease:"
    store = RedisLeases(REDIS_URL, prefix=name)
    try:
        yield store
    finally:
        await store.close()
        await _clean(client, name)


async def test_at_most_limit_leases_and_a_release_frees_one(leases):
    first = await leases.acquire("streams:u1", 2, 30)
    second = await leases.acquire("streams:u1", 2, 30)
    assert first and second and first != second
    assert await leases.acquire("streams:u1", 2, 30) is None
    assert await leases.acquire("streams:u2", 2, 30) is not None  # per key
    await leases.release("streams:u1", first)
    assert await leases.acquire("streams:u1", 2, 30) is not None


async def test_a_lease_not_renewed_expires_and_a_renewed_one_lives(leases):
    kept = await leases.acquire("what-if:u1", 2, 0.6)
    lost = await leases.acquire("what-if:u1", 2, 0.6)
    assert kept and lost
    await asyncio.sleep(0.4)
    await leases.renew("what-if:u1", kept, 0.6)
    await asyncio.sleep(0.4)  # ``lost`` is past its time, ``kept`` is not
    assert await leases.acquire("what-if:u1", 2, 0.6) is not None
    assert await leases.acquire("what-if:u1", 2, 0.6) is None


async def test_two_processes_share_the_limit_through_redis(prefix):
    """Two API processes (two stores on one Redis): the cap holds across them."""
    one, two = RedisLeases(REDIS_URL, prefix=prefix), RedisLeases(REDIS_URL, prefix=prefix)
    try:
        lease = await one.acquire("event-streams:u1", 1, 30)
        assert lease is not None
        assert await two.acquire("event-streams:u1", 1, 30) is None
        await one.release("event-streams:u1", lease)
        assert await two.acquire("event-streams:u1", 1, 30) is not None
    finally:
        await one.close()
        await two.close()


async def test_an_unreachable_redis_counts_in_the_process():
    store = RedisLeases("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        lease = await store.acquire("event-streams:u1", 1, 30)
        assert lease is not None  # the limit still holds, per process
        assert await store.acquire("event-streams:u1", 1, 30) is None
        await store.renew("event-streams:u1", lease, 30)
        await store.release("event-streams:u1", lease)
        assert await store.acquire("event-streams:u1", 1, 30) is not None
    finally:
        await store.close()
