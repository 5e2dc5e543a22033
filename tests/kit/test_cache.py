"""The cache and counter store: the same behaviour in memory and on Redis."""


import pytest

from infra_mind.kit.cache import MemoryCache
from tests.platform_fixtures import redis_cache_or_skip


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def cache(request):
    if request.param == "memory":
        yield MemoryCache()
        return
    c = await redis_cache_or_skip()
    yield c
    await c.close()


async def test_counter_counts_within_a_window(cache):
    assert (await cache.incr("k", 60))[0] == 1
    count, left = await cache.incr("k", 60)
    assert count == 2 and 1 <= left <= 60
    await cache.delete("k")
    assert (await cache.incr("k", 60))[0] == 1


async def test_values_expire_and_delete(cache):
    await cache.set("v", "hello", 60)
    assert await cache.get("v") == "hello"
    await cache.delete("v")
    assert await cache.get("v") is None


async def test_memory_window_restarts_after_it_ends():
    clock = Clock()
    c = MemoryCache(clock=clock)
    await c.incr("k", 10)
    clock.now += 11
    assert (await c.incr("k", 10))[0] == 1
    await c.set("v", "x", 5)
    clock.now += 6
    assert await c.get("v") is None


async def test_memory_cache_is_bounded():
    c = MemoryCache()
    c.max_entries = 3
    for i in range(5):
        await c.set(f"k{i}", str(i), 60)
    assert [await c.get(f"k{i}") for i in range(5)] == [None, None, "2", "3", "4"]
