"""Messages to every process that listens: Redis pub/sub with ``REDIS_URL``, else memory.

A ``Channel`` carries small JSON messages (an assessment's new status, say) from the
process that made a change to every process subscribed, at most once: a message sent
while Redis is away, or while a subscriber is reconnecting, is lost. Subscribers
therefore keep a slow re-read of the truth (the database) and are told, with a ``None``
message, whenever messages may have been lost (the subscription broke or came back), so
they re-read at once.

- ``MemoryChannel``: this process only (the embedded default, one API process that also
  runs the tasks). ``reaches_other_processes`` is False: with several API processes and
  no Redis, a subscriber must not count on it.
- ``RedisChannel``: ``PUBLISH`` to a channel named after the Redis database (pub/sub
  ignores the database number; naming it keeps deployments that share a server on
  different databases apart). Publishing never blocks the caller: messages go out in
  order from one task, and if Redis refuses one, this process's own subscribers still
  get it. One subscription per process, kept a while after the last subscriber leaves
  (``LINGER_S``), so streams that come and go do not reconnect each time.

``publish_on_commit`` sends a message once the session's transaction commits, and drops
it if the transaction rolls back: a subscriber never hears of a change that did not
happen, nor before it is visible to the re-read. ``on_commit`` does the same for async
work (the cache writes that keep cached reads true, ``repositories.assessment_cache``):
it starts when the transaction commits, the session's messages go out once it is done (a
subscriber told of a change finds the cache saying so too), and ``committed(session)``
waits for both, so a request answers only after them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from infra_mind.kit.platform import Platform
from infra_mind.kit.slots import Slot

log = logging.getLogger("infra_mind.pubsub")

Message = dict[str, Any]
#: Called with each message, or with None when messages may have been lost.
Handler = Callable[[Message | None], None]

#: While Redis is away the subscription is tried again after this long, doubling to the max.
RECONNECT_S = 0.5
RECONNECT_MAX_S = 5.0
#: A new subscriber waits at most this long for the subscription to be confirmed.
SUBSCRIBE_WAIT_S = 2.0
#: The subscription outlives its last subscriber by this long.
LINGER_S = 30.0
#: ``close`` waits this long at most for the messages still waiting to be published.
CLOSE_WAIT_S = 2.0
#: Messages waiting to be published, at most (past that they are dropped, and logged).
OUTBOX_MAX = 10_000


class Channel(Protocol):
    #: Whether a message published in another process reaches this one.
    reaches_other_processes: bool

    @property
    def live(self) -> bool:
        """Whether the subscription is up (messages are being received)."""

    def publish(self, message: Message) -> None:
        """Send ``message`` to every subscriber (returns at once; call on the loop)."""

    def subscribe(self, handler: Handler) -> None:
        """Add ``handler`` (call on the loop); messages reach it once ``ready``."""

    async def ready(self) -> None:
        """Returns once the subscription is up, or has failed (then at once)."""

    def unsubscribe(self, handler: Handler) -> None: ...

    async def close(self) -> None: ...


def _deliver(handlers: list[Handler], message: Message | None) -> None:
    for handler in list(handlers):
        try:
            handler(message)
        except Exception:  # one subscriber's bug must not starve the others
            log.exception("pub/sub handler failed")


class MemoryChannel:
    """This process's subscribers only."""

    reaches_other_processes = False
    live = True

    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def publish(self, message: Message) -> None:
        _deliver(self._handlers, message)

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    async def ready(self) -> None:
        return None

    def unsubscribe(self, handler: Handler) -> None:
        with contextlib.suppress(ValueError):
            self._handlers.remove(handler)

    async def close(self) -> None:
        self._handlers.clear()


class RedisChannel:
    """A Redis pub/sub channel shared by every process on the same Redis database."""

    reaches_other_processes = True

    def __init__(self, url: str, name: str, namespace: str = "") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        database = self._redis.connection_pool.connection_kwargs.get("db", 0)
        self.name = f"{namespace}infra-mind:{database}:{name}"
        self._handlers: list[Handler] = []
        self._outbox: asyncio.Queue[str] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._failing = False  # the subscription broke and is not back yet
        self._publish_failing = False
        self._idle_since = time.monotonic()

    @property
    def live(self) -> bool:
        return self._subscribed.is_set()

    # -- publishing --------------------------------------------------------------------

    def publish(self, message: Message) -> None:
        if self._outbox is None:
            self._outbox = asyncio.Queue(OUTBOX_MAX)
        try:
            self._outbox.put_nowait(json.dumps(message, separators=(",", ":")))
        except asyncio.QueueFull:
            log.warning("pub/sub %s: %d messages waiting; dropped one (subscribers re-read)",
                        self.name, OUTBOX_MAX)
            return
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(
                self._send(), name=f"publish {self.name}")

    async def _send(self) -> None:
        """Publish what waits, in order; ends when nothing does (``publish`` starts it)."""
        from redis.exceptions import RedisError

        assert self._outbox is not None
        while not self._outbox.empty():
            data = self._outbox.get_nowait()
            try:
                await self._redis.publish(self.name, data)
            except (RedisError, OSError) as exc:
                if not self._publish_failing:
                    log.warning("pub/sub %s: publish failed (%s); this process's subscribers "
                                "still get messages, other processes re-read", self.name,
                                type(exc).__name__)
                self._publish_failing = True
                _deliver(self._handlers, json.loads(data))
            else:
                if self._publish_failing:
                    log.warning("pub/sub %s: publishing works again", self.name)
                self._publish_failing = False

    # -- subscribing -------------------------------------------------------------------

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)
        if self._listener is None or self._listener.done():
            self._failing = False
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(), name=f"subscribe {self.name}")

    async def ready(self) -> None:
        if self._listener is None or self._failing:
            return  # not asked for, or known to be down: the subscriber re-reads instead
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), SUBSCRIBE_WAIT_S)

    def unsubscribe(self, handler: Handler) -> None:
        with contextlib.suppress(ValueError):
            self._handlers.remove(handler)
        if not self._handlers:
            self._idle_since = time.monotonic()

    def _lingered(self) -> bool:
        return not self._handlers and time.monotonic() - self._idle_since >= LINGER_S

    async def _listen(self) -> None:
        from redis.exceptions import RedisError

        delay_s = RECONNECT_S
        broke = False  # a subscription after a break: messages may have been lost
        while not self._lingered():
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self.name)
                while not self._lingered():
                    received = await pubsub.get_message(timeout=1.0)
                    if received is None:
                        continue
                    if received["type"] == "subscribe":
                        self._subscribed.set()
                        if broke:
                            log.warning("pub/sub %s: subscribed again", self.name)
                            _deliver(self._handlers, None)
                        broke, self._failing, delay_s = False, False, RECONNECT_S
                    elif received["type"] == "message":
                        self._received(received["data"])
            except (RedisError, OSError) as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # redis-py turns a read cancelled mid-flight into a ConnectionError:
                    # retrying would swallow the cancel (``close`` would wait for ever)
                    raise asyncio.CancelledError from exc
                if not broke:
                    log.warning("pub/sub %s: subscription lost (%s: %s); retrying",
                                self.name, type(exc).__name__, exc)
                    _deliver(self._handlers, None)
                broke, self._failing = True, True
            finally:
                self._subscribed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            if broke:
                await asyncio.sleep(delay_s)
                delay_s = min(2 * delay_s, RECONNECT_MAX_S)

    def _received(self, data: bytes | str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            log.warning("pub/sub %s: ignored a message that is not JSON", self.name)
            return
        if isinstance(message, dict):
            _deliver(self._handlers, message)

    async def close(self) -> None:
        """Send what waits (for ``CLOSE_WAIT_S`` at most), then stop."""
        self._handlers.clear()
        if self._sender is not None and not self._sender.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._sender), CLOSE_WAIT_S)
        for task in (self._listener, self._sender):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._redis.aclose()


#: The platform's channels by name (``channel_of``).
CHANNELS: Slot[dict[str, Channel]] = Slot("channels")
#: Where a process whose channels lead to another process makes them (the run process:
#: to its API process, ``worker.run_process``); absent, Redis or memory.
CHANNEL_MAKER: Slot[Callable[[str], Channel]] = Slot("channel maker")


def channel_of(platform: Platform, name: str) -> Channel:
    """The platform's channel ``name``: Redis with ``REDIS_URL``, else memory, unless the
    platform has a ``CHANNEL_MAKER`` (made on first use; ``close_channels`` closes them)."""
    channels = platform.get(CHANNELS)
    if channels is None:
        channels = platform[CHANNELS] = {}
    channel = channels.get(name)
    if channel is None:
        url, namespace = platform.settings.redis_url, platform.settings.redis_namespace
        maker = platform.get(CHANNEL_MAKER)
        channel = channels[name] = (maker(name) if maker is not None
                                    else RedisChannel(url, name, namespace) if url
                                    else MemoryChannel())
    return channel


async def close_channels(platform: Platform) -> None:
    for channel in (platform.pop(CHANNELS) or {}).values():
        await channel.close()


# -- after commit ----------------------------------------------------------------------

_PENDING = "infra_mind.pubsub.pending"
_WORK = "infra_mind.pubsub.work"
_STARTED = "infra_mind.pubsub.started"
#: Work started on commit, held until done (a task nobody references may be collected).
_running: set[asyncio.Task[None]] = set()


def publish_on_commit(session: AsyncSession | Session, channel: Channel,
                      message: Message) -> None:
    """Publish ``message`` on ``channel`` when ``session``'s transaction commits; if it
    rolls back instead, never. Call it after the statement that made the change (so
    within its transaction)."""
    info = session.info  # an AsyncSession's is its sync session's
    info.setdefault(_PENDING, []).append((channel, message))


def on_commit(session: AsyncSession | Session, work: Callable[[], Awaitable[object]]) -> None:
    """Start ``work()`` when ``session``'s transaction commits (in order with the session's
    other work, before its messages go out); if it rolls back instead, never. A failure
    of the work is logged, not raised: the change is committed already."""
    session.info.setdefault(_WORK, []).append(work)


async def committed(session: AsyncSession | Session) -> None:
    """Wait until the work and messages of ``session``'s commits so far are done."""
    started = session.info.pop(_STARTED, None)
    if started:
        await asyncio.gather(*started)


@event.listens_for(Session, "after_commit")
def _publish_pending(session: Session) -> None:
    messages = session.info.pop(_PENDING, ())
    work = session.info.pop(_WORK, ())
    if not work:
        for channel, message in messages:
            channel.publish(message)
        return
    task = asyncio.get_running_loop().create_task(_after_commit(work, messages))
    _running.add(task)
    task.add_done_callback(_running.discard)
    session.info.setdefault(_STARTED, []).append(task)


async def _after_commit(work: list[Callable[[], Awaitable[object]]],
                        messages: list[tuple[Channel, Message]]) -> None:
    for step in work:
        try:
            await step()
        except Exception:  # committed already: the caches' own TTLs bound what is missed
            log.exception("work after commit failed")
    for channel, message in messages:
        channel.publish(message)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:  # a savepoint's rollback leaves the rest to commit
        session.info.pop(_PENDING, None)
        session.info.pop(_WORK, None)
