"""A small cache and counter store: in memory by default, Redis in production.

Used for rate limits, login throttling and hot reads. Both implementations have the
same semantics: ``incr`` counts within a window that starts at the first hit.
"""

from __future__ import annotations

import time
from typing import Protocol


class Cache(Protocol):
    name: str

    async def incr(self, key: str, window_s: int) -> tuple[int, int]:
        """Count one hit; returns (hits in the window, seconds until the window ends)."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl_s: int) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class MemoryCache:
    """One process's cache: fine for the embedded default, not shared between processes.

    Holds at most ``max_entries`` values; past that the oldest-set value goes first.
    """

    name = "memory"
    max_entries = 10_000

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[str, float]] = {}
        self._counters: dict[str, tuple[int, float]] = {}

    async def incr(self, key: str, window_s: int) -> tuple[int, int]:
        now = self._clock()
        count, ends = self._counters.get(key, (0, now + window_s))
        if now >= ends:
            count, ends = 0, now + window_s
        count += 1
        self._counters[key] = (count, ends)
        return count, max(1, int(ends - now + 0.999))

    async def get(self, key: str) -> str | None:
        item = self._values.get(key)
        if item is None or item[1] <= self._clock():
            self._values.pop(key, None)
            return None
        return item[0]

    async def set(self, key: str, value: str, ttl_s: int) -> None:
        self._values.pop(key, None)  # re-inserted last: dicts keep insertion order
        self._values[key] = (value, self._clock() + ttl_s)
        while len(self._values) > self.max_entries:
            self._values.pop(next(iter(self._values)))

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)
        self._counters.pop(key, None)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class RedisCache:
    """Shared by every API and worker process."""

    name = "redis"

    def __init__(self, url: str, prefix: str = "im:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix

    async def incr(self, key: str, window_s: int) -> tuple[int, int]:
        k = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(k)
            pipe.expire(k, window_s, nx=True)
            pipe.ttl(k)
            count, _, ttl = await pipe.execute()
        return int(count), max(1, int(ttl))

    async def get(self, key: str) -> str | None:
        value = await self._redis.get(self._prefix + key)
        return value.decode() if value is not None else None

    async def set(self, key: str, value: str, ttl_s: int) -> None:
        await self._redis.set(self._prefix + key, value, ex=ttl_s)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def make_cache(redis_url: str | None) -> Cache:
    return RedisCache(redis_url) if redis_url else MemoryCache()
