"""Values read from Redis kept in this process, dropped the moment Redis says they changed.

Redis's client-side caching (``CLIENT TRACKING``, Redis 6+) in broadcasting mode: one
connection per process asks Redis to tell it of every change to a key under the cache's
prefix, and listens (RESP2: the invalidations arrive as messages on
``__redis__:invalidate``, redirected to the same connection). Redis queues a change's
invalidation before it answers the write that made it, so by the time a writer (another
API process, a worker) knows its write is done, the message is already on its way here:
a request that follows a sign-out everywhere, a revocation or a new result is not answered
from an old value. What could make a kept value outlive its key:

- the listening connection is lost: everything kept is dropped at once and nothing is
  kept until it listens again (``ready`` is False meanwhile: every read goes to Redis);
- a read of the old value still in flight when the change arrives: a key that changes
  while being read is not kept from that read (``begin`` / ``end``);
- this process's own writes: dropped before and after the write (``forget``), so a read
  that raced the write is not kept either;
- a connection that stays open but goes silent: a PING every ``ping_every_s``, and no
  answer in as long again counts as lost; and every value is kept at most ``ttl_s``.

Absence is kept too (most reads of a revocation key find none). Values are bounded by
count and characters, the oldest kept dropped first (``MemoryCache``'s store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Sequence

import hiredis

log = logging.getLogger("infra_mind.cache")

#: The channel Redis sends invalidations on to a RESP2 connection.
INVALIDATE_CHANNEL = b"__redis__:invalidate"
#: Kept for a key Redis holds no value for (compared by identity, never by content).
_ABSENT = "<absent>"
#: What ``lookup`` gives for a key not kept.
MISS = object()


class NearCache:
    """Redis values under ``prefix`` kept in this process (see the module docstring).

    ``start()`` runs the listener on the running event loop; until it has subscribed
    ``ready`` is False and callers read Redis. ``lookup`` / ``begin`` / ``end`` /
    ``forget`` are what ``RedisCache`` calls around its reads and writes.
    """

    max_entries = 10_000
    max_chars = 16 * 1024 * 1024
    ping_every_s = 5.0
    #: the wait before listening again, doubled after each failure up to ``retry_max_s``
    retry_after_s = 1.0
    retry_max_s = 30.0
    connect_timeout_s = 2.0

    def __init__(self, url: str, prefix: str, ttl_s: float) -> None:
        from redis.asyncio.connection import SSLConnection, parse_url

        from infra_mind.kit.cache import MemoryCache

        # one connection of its own (RESP2), never pooled: the tracking belongs to it
        self._address = parse_url(url)
        self._tls = self._address.get("connection_class") is SSLConnection
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._store = MemoryCache()
        self._store.max_entries = self.max_entries
        self._store.max_chars = self.max_chars
        #: key -> reads of it in flight; a key in ``_changed`` changed during one of them
        self._reading: dict[str, int] = {}
        self._changed: set[str] = set()
        #: bumped whenever everything kept is dropped: a read begun before is not kept
        self._epoch = 0
        self._task: asyncio.Task[None] | None = None
        self._listening = False
        #: the listening connection's id on the Redis server (CLIENT ID), once known
        self.client_id: int | None = None
        self.hits = 0
        self.misses = 0

    def stats(self) -> tuple[int, int, bool]:
        """(reads answered here, reads sent to Redis, listening now), for the metrics."""
        return self.hits, self.misses, self._listening

    # -- the readers' side ---------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether kept values may be used now: the listener is subscribed, on this loop."""
        task = self._task
        if task is None or task.done():
            return False
        try:
            return self._listening and task.get_loop() is asyncio.get_running_loop()
        except RuntimeError:
            return False

    def start(self) -> None:
        """Listen on the running loop, unless already listening there."""
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() \
                and self._task.get_loop() is loop:
            return
        self._drop_all()
        self._task = loop.create_task(self._listen(), name="near-cache listener")

    def lookup(self, keys: Sequence[str]) -> list[object]:
        """Each key's kept value (None: kept as absent), or ``MISS``."""
        found: list[object] = []
        for key in keys:
            value = self._store.live(key)
            if value is None:
                self.misses += 1
                found.append(MISS)
            else:
                self.hits += 1
                found.append(None if value is _ABSENT else value)
        return found

    def begin(self, keys: Sequence[str]) -> int:
        """A read of ``keys`` from Redis starts; returns the token ``end`` takes."""
        for key in keys:
            self._reading[key] = self._reading.get(key, 0) + 1
        return self._epoch

    def end(self, token: int, keys: Sequence[str], values: Sequence[str | None] | None
            ) -> None:
        """The read ended with ``values`` from Redis (None: it did not answer): kept,
        except keys that changed meanwhile or when everything was dropped since."""
        keep = values is not None and token == self._epoch and self._listening
        for i, key in enumerate(keys):
            left = self._reading.get(key, 1) - 1
            if keep and key not in self._changed:
                value = values[i]  # type: ignore[index]
                self._store.put(key, _ABSENT if value is None else value, self._ttl_s)
            if left > 0:
                self._reading[key] = left
            else:
                self._reading.pop(key, None)
                self._changed.discard(key)

    def forget(self, key: str) -> None:
        """``key`` changes (a write of this process, or Redis said so)."""
        self._store.drop(key)
        if key in self._reading:
            self._changed.add(key)

    # -- the listener ---------------------------------------------------------------------

    def apply(self, message: object) -> None:
        """One message of the listening connection: an invalidation (a list of keys, or
        None when the database was flushed); anything else is ignored."""
        if not isinstance(message, list) or len(message) != 3 or message[0] != b"message" \
                or message[1] != INVALIDATE_CHANNEL:
            return
        changed = message[2]
        if changed is None:
            self._drop_all()
            return
        cut = len(self._prefix)
        for raw in changed:
            key = raw.decode(errors="replace")
            if key.startswith(self._prefix):
                self.forget(key[cut:])

    def _drop_all(self) -> None:
        self._epoch += 1
        self._store.clear()
        self._changed.update(self._reading)

    def _subscribed(self) -> None:
        self._drop_all()
        self._listening = True

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        failed = False
        wait_s = self.retry_after_s
        while True:
            protocol = _Listener(self, self._address.get("username"),
                                 self._address.get("password"))
            transport: asyncio.BaseTransport | None = None
            try:
                async with asyncio.timeout(self.connect_timeout_s):
                    transport, _ = await self._connect(loop, protocol)
                    await protocol.subscribed
                if failed:
                    log.warning("near cache: listening to Redis again")
                    failed = False
                wait_s = self.retry_after_s
                while True:  # a PING every ping_every_s; no answer by the next: lost
                    await asyncio.wait([protocol.lost], timeout=self.ping_every_s)
                    if protocol.lost.done():
                        protocol.lost.result()
                    if protocol.awaiting_pong:
                        raise TimeoutError(f"no answer to PING in {self.ping_every_s:g} s")
                    protocol.ping()
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, ListenerError) as exc:
                if not failed:
                    log.warning("near cache: lost Redis's invalidations (%s: %s); every read "
                                "goes to Redis until they are back", type(exc).__name__, exc)
                failed = True
            finally:
                self._listening = False
                self._drop_all()
                protocol.detach()
                if transport is not None:
                    transport.abort()
            await asyncio.sleep(wait_s)
            wait_s = min(wait_s * 2, self.retry_max_s)

    async def _connect(self, loop: asyncio.AbstractEventLoop, protocol: _Listener
                       ) -> tuple[asyncio.BaseTransport, asyncio.BaseProtocol]:
        address = self._address
        if "path" in address:
            return await loop.create_unix_connection(lambda: protocol, address["path"])
        context = None
        if self._tls:
            context = ssl.create_default_context()
            if address.get("ssl_cert_reqs") in ("none", ssl.CERT_NONE):
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        return await loop.create_connection(lambda: protocol, address.get("host", "localhost"),
                                            address.get("port", 6379), ssl=context)

    async def close(self) -> None:
        """Stop listening (on this loop; a listener left on a loop that has ended went with
        it) and forget everything kept."""
        task, self._task = self._task, None
        self._listening = False
        if task is not None and not task.done() \
                and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._drop_all()


class ListenerError(Exception):
    """Redis refused a step of the listener's set-up."""


class _Listener(asyncio.Protocol):
    """The listening connection. Every reply is handled in ``data_received``, in the
    event loop's turn that received it: an invalidation is applied before any task that
    the same turn woke (a writer's acknowledgement, an HTTP request) runs."""

    def __init__(self, near: NearCache, username: str | None, password: str | None) -> None:
        self._near = near
        self._reader = hiredis.Reader()
        self._auth = (username, password) if password else None
        self._transport: asyncio.Transport | None = None
        #: the set-up's replies still to come, each with what to do on it
        self._steps: list[str] = []
        loop = asyncio.get_running_loop()
        self.subscribed: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.awaiting_pong = False
        self._detached = False

    def _send(self, *parts: str | bytes) -> None:
        assert self._transport is not None
        self._transport.write(hiredis.pack_command(parts))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        if self._auth is not None:
            username, password = self._auth
            self._send("AUTH", *([username] if username else []), password or "")
            self._steps.append("auth")
        self._send("CLIENT", "ID")
        self._steps.append("id")

    def data_received(self, data: bytes) -> None:
        if self._detached:
            return
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            if isinstance(reply, Exception):
                step = self._steps[0] if self._steps else "reply"
                self._fail(ListenerError(f"{step}: {reply} (client-side caching needs Redis "
                                         "6 or later and the CLIENT command; "
                                         "CACHE_NEAR_TTL_S=0 turns it off)"))
                return
            if self._steps:
                self._step(self._steps.pop(0), reply)
            elif isinstance(reply, list) and reply and reply[0] == b"pong":
                self.awaiting_pong = False
            else:
                self._near.apply(reply)

    def _step(self, step: str, reply: object) -> None:
        if step == "id":
            self._near.client_id = int(reply)  # type: ignore[call-overload]
            self._send("CLIENT", "TRACKING", "ON", "REDIRECT", str(reply), "BCAST", "PREFIX",
                       self._near._prefix)
            self._send("SUBSCRIBE", INVALIDATE_CHANNEL)
            self._steps += ["tracking", "subscribe"]
        elif step == "subscribe":
            self._near._subscribed()
            if not self.subscribed.done():
                self.subscribed.set_result(None)

    def ping(self) -> None:
        self._send("PING")
        self.awaiting_pong = True

    def _fail(self, exc: BaseException) -> None:
        for future in (self.subscribed, self.lost):
            if not future.done():
                future.set_exception(exc)
        if self._transport is not None:
            self._transport.abort()

    def detach(self) -> None:
        """The listener is done with this connection: nothing it says counts any more."""
        self._detached = True
        for future in (self.subscribed, self.lost):
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # seen (the listener logged it): asyncio says nothing

    def eof_received(self) -> bool:
        if not self._detached:
            self._near._listening = False  # in this turn: connection_lost comes in the next
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._detached:
            return
        self._near._listening = False  # at once: no read is answered from what is kept
        self._near._drop_all()
        self._fail(exc or ConnectionResetError("Redis closed the connection"))
