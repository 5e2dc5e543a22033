"""Leases: "at most N of these at once per key", shared by every process through Redis.

A lease is held while something runs (an open event stream, a what-if) and expires on
its own ``ttl_s`` after the last renewal, so a process that crashes (or a generator that
is never closed) leaks no slot for longer than that. ``MemoryLeases`` counts in this
process; ``RedisLeases`` keeps one sorted set per key (member: lease id, score: expiry in
the Redis server's clock, so hosts' clocks do not matter) and falls back to this
process's memory while Redis is unreachable, as ``kit.cache.RedisCache`` does: limits
then count per process until Redis answers.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Protocol

log = logging.getLogger("infra_mind.leases")


class Leases(Protocol):
    async def acquire(self, key: str, limit: int, ttl_s: float) -> str | None:
        """A new lease on ``key``, or None when ``limit`` live leases are held."""

    async def renew(self, key: str, lease_id: str, ttl_s: float) -> None:
        """Keep a lease for another ``ttl_s``."""

    async def release(self, key: str, lease_id: str) -> None: ...

    async def close(self) -> None: ...


class MemoryLeases:
    """One process's leases."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, dict[str, float]] = {}

    def _live(self, key: str) -> dict[str, float]:
        now = self._clock()
        held = {lease: ends for lease, ends in self._held.get(key, {}).items() if ends > now}
        if held:
            self._held[key] = held
        else:
            self._held.pop(key, None)
        return held

    async def acquire(self, key: str, limit: int, ttl_s: float) -> str | None:
        held = self._live(key)
        if len(held) >= limit:
            return None
        lease_id = uuid.uuid4().hex
        self._held.setdefault(key, {})[lease_id] = self._clock() + ttl_s
        return lease_id

    async def renew(self, key: str, lease_id: str, ttl_s: float) -> None:
        held = self._held.get(key)
        if held is not None and lease_id in held:
            held[lease_id] = self._clock() + ttl_s

    async def release(self, key: str, lease_id: str) -> None:
        held = self._held.get(key)
        if held is not None:
            held.pop(lease_id, None)
            if not held:
                self._held.pop(key, None)

    async def close(self) -> None:
        return None


#: Drop expired leases, then add one unless ``limit`` are live; 1 when added. KEYS[1]: the
#: set; ARGV: lease id, limit, ttl in ms. Time is the server's (TIME), in ms.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
#: Push a held lease's expiry (and the set's) ``ttl`` ms past now; nothing if it is gone.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  end
end
return 1
"""


class RedisLeases:
    """Leases shared by every process using the same Redis."""

    retry_after_s = 2.0

    def __init__(self, url: str, prefix: str = "im:lease:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._fallback = MemoryLeases()
        self._down_until: float | None = None
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._renew = self._redis.register_script(_RENEW)

    def _shared(self) -> bool:
        return self._down_until is None or time.monotonic() >= self._down_until

    def _failed(self, exc: BaseException) -> None:
        if self._down_until is None:
            log.warning("Redis unreachable for leases (%s); counting in this process until "
                        "it answers", type(exc).__name__)
        self._down_until = time.monotonic() + self.retry_after_s

    def _answered(self) -> None:
        if self._down_until is not None:
            log.warning("Redis answers again: leases are shared again")
            self._down_until = None

    async def acquire(self, key: str, limit: int, ttl_s: float) -> str | None:
        from redis.exceptions import RedisError

        if self._shared():
            lease_id = "r" + uuid.uuid4().hex
            try:
                added = await self._acquire(keys=[self._prefix + key],
                                            args=[lease_id, limit, int(ttl_s * 1000)])
            except (RedisError, OSError) as exc:
                self._failed(exc)
            else:
                self._answered()
                return lease_id if int(added) == 1 else None
        return await self._fallback.acquire(key, limit, ttl_s)

    async def renew(self, key: str, lease_id: str, ttl_s: float) -> None:
        from redis.exceptions import RedisError

        if not lease_id.startswith("r"):  # taken while Redis was away
            await self._fallback.renew(key, lease_id, ttl_s)
            return
        try:
            await self._renew(keys=[self._prefix + key], args=[lease_id, int(ttl_s * 1000)])
        except (RedisError, OSError) as exc:
            self._failed(exc)  # it expires on its own; nothing else to do

    async def release(self, key: str, lease_id: str) -> None:
        from redis.exceptions import RedisError

        if not lease_id.startswith("r"):
            await self._fallback.release(key, lease_id)
            return
        try:
            await self._redis.zrem(self._prefix + key, lease_id)
        except (RedisError, OSError) as exc:
            self._failed(exc)  # it expires on its own

    async def close(self) -> None:
        await self._redis.aclose()


def make_leases(redis_url: str | None, namespace: str = "") -> Leases:
    """Redis with a URL (keys under ``namespace`` + ``im:lease:``), else memory."""
    return RedisLeases(redis_url, prefix=f"{namespace}im:lease:") if redis_url \
        else MemoryLeases()
