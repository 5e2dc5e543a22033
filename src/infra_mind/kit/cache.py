"""A small cache and counter store: in memory by default, Redis in production.

Used for rate limits, login throttling and hot reads. Both implementations have the
same semantics: ``incr`` counts within a window that starts at the first hit; ``add`` sets
a value only where none is (SET NX); ``set_if_higher`` keeps whichever of two ranked values
ranks higher, so a late write of older news never replaces newer news.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from infra_mind.kit.near_cache import MISS, NearCache

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

    async def add(self, key: str, value: str, ttl_s: int) -> bool:
        """Set ``key`` only if it holds no value (SET NX); whether it was set."""

    async def set_if_higher(self, key: str, value: str, ttl_s: int) -> bool:
        """Set ``key`` unless it holds a value of the same or a higher rank (each value
        starts with its rank: a decimal integer, then a space); whether it was set."""

    async def delete(self, key: str) -> None: ...

    @property
    def shared(self) -> bool:
        """Whether a value set now is seen by every process using this cache (Redis that
        answers), not only by this one."""

    async def items(self, prefix: str) -> dict[str, str]:
        """Every live value whose key starts with ``prefix`` (few keys: not for hot paths)."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


def rank_of(value: str) -> int:
    """The rank a ``set_if_higher`` value starts with."""
    return int(value.split(" ", 1)[0])


class MemoryCache:
    """One process's cache: fine for the embedded default, not shared between processes.

    Holds at most ``max_entries`` values and ``max_chars`` characters of them; past either
    the oldest-set value goes first.
    """

    name = "memory"
    shared = False
    max_entries = 10_000
    max_chars = 64 * 1024 * 1024

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[str, float]] = {}
        self._chars = 0
        self._counters: dict[str, tuple[int, float]] = {}

    async def incr(self, key: str, window_s: int) -> tuple[int, int]:
        now = self._clock()
        count, ends = self._counters.get(key, (0, now + window_s))
        if now >= ends:
            count, ends = 0, now + window_s
        count += 1
        self._counters[key] = (count, ends)
        return count, max(1, int(ends - now + 0.999))

    def live(self, key: str) -> str | None:
        """The value kept for ``key`` (None: none, or its time is up)."""
        item = self._values.get(key)
        if item is None:
            return None
        if item[1] <= self._clock():
            self.drop(key)
            return None
        return item[0]

    def drop(self, key: str) -> None:
        item = self._values.pop(key, None)
        if item is not None:
            self._chars -= len(item[0])

    def put(self, key: str, value: str, ttl_s: float) -> None:
        self.drop(key)  # re-inserted last: dicts keep insertion order
        self._values[key] = (value, self._clock() + ttl_s)
        self._chars += len(value)
        while len(self._values) > self.max_entries or (
                self._chars > self.max_chars and len(self._values) > 1):
            self.drop(next(iter(self._values)))

    def clear(self) -> None:
        """Forget every value (the counters stay)."""
        self._values.clear()
        self._chars = 0

    async def get(self, key: str) -> str | None:
        return self.live(key)

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        return [self.live(key) for key in keys]

    async def set(self, key: str, value: str, ttl_s: int) -> None:
        self.put(key, value, ttl_s)

    async def add(self, key: str, value: str, ttl_s: int) -> bool:
        if self.live(key) is not None:
            return False
        self.put(key, value, ttl_s)
        return True

    async def set_if_higher(self, key: str, value: str, ttl_s: int) -> bool:
        rank = rank_of(value)
        current = self.live(key)
        if current is not None and rank_of(current) >= rank:
            return False
        self.put(key, value, ttl_s)
        return True

    async def delete(self, key: str) -> None:
        self.drop(key)
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
    call. ``shared`` is False meanwhile.

    The writes that make what others cached out of date (``delete``, ``set_if_higher``)
    are owed while Redis is away and sent once it answers, before anything else is asked
    of it (at most ``max_owed``, the oldest dropped first, and each only while its TTL
    lasts): a change made during an outage is not lost on the processes that cached the
    old value in Redis before it. A write that succeeds cancels what this process owed
    for its key. Writes that only fill the cache (``set``, ``add``) are not owed.

    With ``near_ttl_s`` > 0, what ``get`` and ``get_many`` read is also kept in this
    process and answered from there while Redis has not said it changed
    (``kit.near_cache``): a hot read (a request's token state, an assessment's access
    entry) then costs no round trip.
    """

    name = "redis"
    retry_after_s = 2.0
    max_owed = 10_000
    #: SET unless the value there ranks the same or higher: atomic, as one script. Ranks
    #: are compared as numbers (Lua's string order follows the server's locale).
    _SET_IF_HIGHER = """
local current = redis.call('GET', KEYS[1])
local rank = current and tonumber(string.match(current, '^%d+'))
if rank and rank >= tonumber(ARGV[2]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""

    def __init__(self, url: str, prefix: str = "im:", near_ttl_s: float = 0) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        #: values read kept in this process while Redis says they have not changed
        #: (``kit.near_cache``); None: every read asks Redis
        self._near = NearCache(url, prefix, near_ttl_s) if near_ttl_s > 0 else None
        self._prefix = prefix
        self._fallback = MemoryCache()
        self._down_until: float | None = None  # None: Redis answered last time
        self._set_if_higher = self._redis.register_script(self._SET_IF_HIGHER)
        #: key -> the write to send once Redis answers (it takes the time left to live)
        self._owed: dict[str, Callable[[], Awaitable[object]]] = {}

    @property
    def shared(self) -> bool:
        return self._down_until is None

    @property
    def near(self) -> NearCache | None:
        """The values kept in this process (``kit.near_cache``), if any."""
        return self._near

    async def _call(self, redis_op: Callable[[], Awaitable[_T]],
                    fallback_op: Callable[[], Awaitable[_T]],
                    owed: tuple[str, Callable[[], Awaitable[object]]] | None = None,
                    changes: str | None = None) -> _T:
        """``redis_op``, or ``fallback_op`` while Redis does not answer. ``changes``: the
        key the call writes, dropped from the near cache before and after it (a read
        that raced the write keeps nothing)."""
        if changes is not None and self._near is not None:
            self._near.forget(changes)
            try:
                return await self._call(redis_op, fallback_op, owed)
            finally:
                self._near.forget(changes)
        from redis.exceptions import RedisError

        if self._down_until is not None and time.monotonic() < self._down_until:
            if owed is not None:
                self._owe(*owed)
            return await fallback_op()
        try:
            if self._owed:
                await self._pay()
            result = await redis_op()
        except (RedisError, OSError) as exc:
            if self._down_until is None:
                log.warning("Redis cache unreachable (%s: %s); using this process's memory "
                            "until it answers", type(exc).__name__, exc)
            self._down_until = time.monotonic() + self.retry_after_s
            if owed is not None:
                self._owe(*owed)
            return await fallback_op()
        if owed is not None:
            self._owed.pop(owed[0], None)
        if self._down_until is not None:
            log.warning("Redis cache answers again")
            self._down_until = None
        return result

    def _owe(self, key: str, write: Callable[[], Awaitable[object]]) -> None:
        self._owed.pop(key, None)  # re-inserted last: sent in the order they were made
        self._owed[key] = write
        if len(self._owed) > self.max_owed:
            self._owed.pop(next(iter(self._owed)))
            log.warning("Redis cache: more than %d writes owed; dropped the oldest (its "
                        "key expires on its own)", self.max_owed)

    async def _pay(self) -> None:
        """Send the owed writes, oldest first; a failure leaves the rest owed (raised)."""
        while self._owed:
            key = next(iter(self._owed))
            write = self._owed.pop(key)
            try:
                await write()
            except BaseException:
                self._owed.setdefault(key, write)  # unless a newer write is owed now
                raise

    def _owed_write(self, key: str, ttl_s: int | None,
                    write: Callable[[int], Awaitable[object]]
                    ) -> tuple[str, Callable[[], Awaitable[object]]]:
        """``write(seconds left)`` as owed, unless its TTL (None: none) has run out."""
        ends = None if ttl_s is None else time.monotonic() + ttl_s

        async def later() -> None:
            left = 0 if ends is None else int(ends - time.monotonic())
            if ends is None or left > 0:
                await write(left)

        return key, later

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
        if self._near is not None:
            return (await self.get_many([key]))[0]

        async def shared() -> str | None:
            value = await self._redis.get(self._prefix + key)
            return value.decode() if value is not None else None

        return await self._call(shared, lambda: self._fallback.get(key))

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        near = self._near
        if near is None:
            return await self._read(keys)
        near.start()
        if not near.ready or self._down_until is not None:
            return await self._read(keys)
        found = near.lookup(keys)
        missing = [key for key, value in zip(keys, found, strict=True) if value is MISS]
        if missing:
            token = near.begin(missing)
            answered = None
            try:
                values = await self._read(missing)
                if self._down_until is None:  # Redis's answer, not this process's memory
                    answered = values
            finally:
                near.end(token, missing, answered)
            fresh = iter(values)
            found = [next(fresh) if value is MISS else value for value in found]
        return found  # type: ignore[return-value]

    async def _read(self, keys: Sequence[str]) -> list[str | None]:
        async def shared() -> list[str | None]:
            values = await self._redis.mget([self._prefix + key for key in keys])
            return [v.decode() if v is not None else None for v in values]

        return await self._call(shared, lambda: self._fallback.get_many(keys))

    async def set(self, key: str, value: str, ttl_s: int) -> None:
        await self._call(lambda: self._redis.set(self._prefix + key, value, ex=ttl_s),
                         lambda: self._fallback.set(key, value, ttl_s), changes=key)

    async def add(self, key: str, value: str, ttl_s: int) -> bool:
        async def shared() -> bool:
            return bool(await self._redis.set(self._prefix + key, value, ex=ttl_s, nx=True))

        return await self._call(shared, lambda: self._fallback.add(key, value, ttl_s),
                                changes=key)

    async def set_if_higher(self, key: str, value: str, ttl_s: int) -> bool:
        rank = rank_of(value)  # a value without a rank fails here, not in the script

        async def shared(seconds: int = ttl_s) -> bool:
            return bool(await self._set_if_higher(keys=[self._prefix + key],
                                                  args=[value, rank, seconds]))

        return await self._call(shared, lambda: self._fallback.set_if_higher(key, value, ttl_s),
                                owed=self._owed_write(key, ttl_s, shared), changes=key)

    async def delete(self, key: str) -> None:
        async def shared(_seconds: int = 0) -> object:
            return await self._redis.delete(self._prefix + key)

        await self._call(shared, lambda: self._fallback.delete(key),
                         owed=self._owed_write(key, None, shared), changes=key)

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
        if self._near is not None:
            await self._near.close()
        await self._redis.aclose()


def make_cache(redis_url: str | None, namespace: str = "", near_ttl_s: float = 0) -> Cache:
    """Redis with a URL (keys under ``namespace`` + ``im:``; ``near_ttl_s`` > 0: values
    read also kept in this process, ``kit.near_cache``), else memory."""
    if not redis_url:
        return MemoryCache()
    return RedisCache(redis_url, prefix=f"{namespace}im:", near_ttl_s=near_ttl_s)
