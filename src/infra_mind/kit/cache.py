"""A small cache and counter store: in memory by default, Redis in production.

Used for rate limits, login throttling and hot reads. Both implementations have the
same semantics: ``incr`` counts within a window that starts at the first hit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

log = logging.getLogger("infra_mind.cache")
_T = TypeVar("_T")


class Cache(Protocol):
    name: str

    async def incr(self, key: str, window_s: int) -> tuple[int, int]:
        """Count one hit; returns (hits in the window, seconds until the window ends)."""

    async def get(self, key: str) -> str | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """The values of ``keys``, in order (None where absent): one round trip on Redis."""

    async def set(self, key: str, value: str, ttl_s: int) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def items(self, prefix: str) -> dict[str, str]:
        """Every live value whose key starts with ``prefix`` (few keys: not for hot paths)."""

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

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        return [await self.get(key) for key in keys]

    async def set(self, key: str, value: str, ttl_s: int) -> None:
        self._values.pop(key, None)  # re-inserted last: dicts keep insertion order
        self._values[key] = (value, self._clock() + ttl_s)
        while len(self._values) > self.max_entries:
            self._values.pop(next(iter(self._values)))

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)
        self._counters.pop(key, None)

    async def items(self, prefix: str) -> dict[str, str]:
        now = self._clock()
        return {k: v for k, (v, ends) in list(self._values.items())
                if k.startswith(prefix) and ends > now}

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class RedisCache:
    """Shared by every API and worker process.

    While Redis cannot be reached, each call falls back to this process's
    ``MemoryCache`` rather than failing the request: cached results are read again from
    the database, and rate limits and login throttling count per process until Redis is
    back. After a failure Redis is not asked again for ``retry_after_s``, so an
    unreachable (not refusing) Redis costs one connect timeout now and then, not one per
    call.
    """

    name = "redis"
    retry_after_s = 2.0

    def __init__(self, url: str, prefix: str = "im:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._fallback = MemoryCache()
        self._down_until: float | None = None  # None: Redis answered last time

    async def _call(self, redis_op: Callable[[], Awaitable[_T]],
                    fallback_op: Callable[[], Awaitable[_T]]) -> _T:
        from redis.exceptions import RedisError

        if self._down_until is not None and time.monotonic() < self._down_until:
            return await fallback_op()
        try:
            result = await redis_op()
        except (RedisError, OSError) as exc:
            if self._down_until is None:
                log.warning("Redis cache unreachable (%s: %s); using this process's memory "
                            "until it answers", type(exc).__name__, exc)
            self._down_until = time.monotonic() + self.retry_after_s
            return await fallback_op()
        if self._down_until is not None:
            log.warning("Redis cache answers again")
            self._down_until = None
        return result

    async def incr(self, key: str, window_s: int) -> tuple[int, int]:
        k = self._prefix + key

        async def shared() -> tuple[int, int]:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(k)
                pipe.expire(k, window_s, nx=True)
                pipe.ttl(k)
                count, _, ttl = await pipe.execute()
            return int(count), max(1, int(ttl))

        return await self._call(shared, lambda: self._fallback.incr(key, window_s))

    async def get(self, key: str) -> str | None:
        async def shared() -> str | None:
            value = await self._redis.get(self._prefix + key)
            return value.decode() if value is not None else None

        return await self._call(shared, lambda: self._fallback.get(key))

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []

        async def shared() -> list[str | None]:
            values = await self._redis.mget([self._prefix + key for key in keys])
            return [v.decode() if v is not None else None for v in values]

        return await self._call(shared, lambda: self._fallback.get_many(keys))

    async def set(self, key: str, value: str, ttl_s: int) -> None:
        await self._call(lambda: self._redis.set(self._prefix + key, value, ex=ttl_s),
                         lambda: self._fallback.set(key, value, ttl_s))

    async def delete(self, key: str) -> None:
        await self._call(lambda: self._redis.delete(self._prefix + key),
                         lambda: self._fallback.delete(key))

    async def items(self, prefix: str) -> dict[str, str]:
        async def shared() -> dict[str, str]:
            keys = [k async for k in self._redis.scan_iter(match=self._prefix + prefix + "*",
                                                             count=500)]
            values = await self._redis.mget(keys) if keys else []
            cut = len(self._prefix)
            return {k.decode()[cut:]: v.decode() for k, v in zip(keys, values, strict=True)
                    if v is not None}

        return await self._call(shared, lambda: self._fallback.items(prefix))

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def make_cache(redis_url: str | None) -> Cache:
    return RedisCache(redis_url) if redis_url else MemoryCache()
