"""The cache writes cached reads rely on (``repositories.assessment_cache``): ``add`` (SET
NX) and ``set_if_higher``, the same in memory and on Redis; the memory cache's bound on
what it holds; and, on Redis, the writes owed during an outage, sent once it answers.

The Redis tests use $INFRA_MIND_TEST_REDIS (default DB 15) under a fresh key prefix and
delete their keys; the outage is a TCP relay to that Redis, cut and restored.
"""

from __future__ import annotations

import contextlib
import uuid

import pytest

from infra_mind.kit.cache import MemoryCache, RedisCache
from tests.kit.relay import Relay
from tests.platform_fixtures import redis_cache_or_skip


@pytest.fixture(params=["memory", "redis"])
async def cache(request):
    if request.param == "memory":
        yield MemoryCache()
        return
    c = await redis_cache_or_skip()
    yield c
    for key in await c.items(""):
        await c.delete(key)
    await c.close()


async def test_add_sets_only_where_nothing_is(cache):
    assert await cache.add("k", "first", 60)
    assert not await cache.add("k", "second", 60)
    assert await cache.get("k") == "first"
    await cache.delete("k")
    assert await cache.add("k", "third", 60)
    assert await cache.get("k") == "third"


async def test_set_if_higher_keeps_the_higher_rank(cache):
    assert await cache.set_if_higher("k", "2 two", 60)
    assert not await cache.set_if_higher("k", "1 one", 60)
    assert not await cache.set_if_higher("k", "2 again", 60)  # the same rank: kept
    assert await cache.get("k") == "2 two"
    assert await cache.set_if_higher("k", "10 ten", 60)  # numbers, not strings, compared
    assert await cache.get("k") == "10 ten"
    assert not await cache.add("k", "0 reader", 60)
    assert await cache.set_if_higher("n", "1000000000000000 gone", 60)
    assert not await cache.set_if_higher("n", "999 late", 60)
    assert await cache.get("n") == "1000000000000000 gone"


async def test_set_if_higher_refuses_a_value_without_a_rank(cache):
    with pytest.raises(ValueError):
        await cache.set_if_higher("k", "no rank", 60)


async def test_memory_holds_a_bounded_number_of_characters():
    cache = MemoryCache()
    cache.max_chars = 100
    for i in range(5):
        await cache.set(f"k{i}", "x" * 30, 60)
    assert [await cache.get(f"k{i}") for i in range(5)] == [None, None, *["x" * 30] * 3]
    await cache.set("k4", "y", 60)  # replacing a value gives its characters back
    await cache.set("k5", "z" * 60, 60)
    assert await cache.get("k2") is None and await cache.get("k3") == "x" * 30


async def test_writes_owed_during_an_outage_reach_redis_when_it_answers():
    prefix = f"test:{uuid.uuid4().hex}:"
    direct = await redis_cache_or_skip(prefix=prefix)  # another process, which reaches Redis
    host, port = direct._redis.connection_pool.connection_kwargs["host"], \
        direct._redis.connection_pool.connection_kwargs["port"]
    database = direct._redis.connection_pool.connection_kwargs.get("db", 0)
    relay = Relay(host, port)
    await relay.start()
    writer = RedisCache(f"redis://127.0.0.1:{relay.port}/{database}", prefix=prefix)
    writer.retry_after_s = 0  # ask Redis again at once (no waiting in a test)
    try:
        await direct.set("cached", "1 old", 60)
        await direct.set("filled", "old", 60)
        assert await writer.get("cached") == "1 old" and writer.shared
        await relay.cut()
        assert await writer.set_if_higher("cached", "1000 gone", 60)  # in its memory
        await writer.delete("filled")
        await writer.set("fill", "not owed", 60)
        assert not writer.shared
        assert await direct.get("cached") == "1 old"  # not yet: the writer cannot reach it
        await relay.start()
        assert await writer.get("unrelated") is None  # answers: what was owed goes first
        assert writer.shared
        assert await direct.get("cached") == "1000 gone"
        assert await direct.get("filled") is None
        assert await direct.get("fill") is None  # a fill is not owed
    finally:
        with contextlib.suppress(Exception):
            await relay.cut()
        for key in await direct.items(""):
            await direct.delete(key)
        await writer.close()
        await direct.close()
