"""The workers' task broker: taskiq's Redis stream broker, read by ``infra-mind worker``
processes. API processes send to the same stream without taskiq (``worker.queue``), and
run their runs themselves when there is no ``REDIS_URL``; only a worker imports this.

taskiq's worker command imports ``broker`` from this module, so it is built at import,
from the ``REDIS_URL`` setting (``QueueSettings``: that part alone, so importing this
module needs no other setting). Without one (``infra-mind worker`` refuses to start
then) it is taskiq's in-process broker, for tests that import this module. The task it
runs, ``assessment.run``, is ``worker.tasks.run_assessment``; the process's ``Platform``
is built when the worker starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncGenerator

from taskiq import AckableMessage, AsyncBroker, InMemoryBroker, TaskiqEvents, TaskiqState

from infra_mind.config import QueueSettings
from infra_mind.kit.platform import Platform
from infra_mind.kit.presence import start_presence
from infra_mind.worker.queue import (
    CONSUMER_GROUP,
    MAX_CONCURRENT_RUNS,
    RUN_TASK,
    STREAM_MAXLEN,
    TASK_STREAM,
    start_queue,
    stop_queue,
    task_stream,
)
from infra_mind.worker.tasks import run_assessment, warm_up

#: While Redis is away a worker tries again after this long, doubling up to the maximum.
RECONNECT_S = 0.5
RECONNECT_MAX_S = 5.0
#: Consumers idle this long with nothing pending (their process is gone) are deleted.
CONSUMER_FORGET_S = 3600.0

log = logging.getLogger("infra_mind.worker")


def _build(url: str | None) -> AsyncBroker:
    """The stream broker on Redis at ``url``; without one, taskiq's in-process broker
    (nothing runs on it: ``infra-mind worker`` needs REDIS_URL, and an API process runs
    its runs on ``worker.queue.InProcessQueue``)."""
    if url:
        # consumer_id "0": a consumer group created after messages were added (Redis
        # restarted empty and the API sent first) still gets them; a duplicate is harmless,
        # as claims are atomic
        return _stream_broker()(url=url, queue_name=TASK_STREAM,
                                consumer_group_name=CONSUMER_GROUP, consumer_id="0",
                                maxlen=STREAM_MAXLEN, approximate=True)
    return InMemoryBroker(await_inplace=False, max_async_tasks=MAX_CONCURRENT_RUNS)


def _stream_broker() -> type[AsyncBroker]:
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError, ResponseError, TimeoutError
    from taskiq_redis import RedisStreamBroker

    class ReconnectingStreamBroker(RedisStreamBroker):
        """taskiq's stream broker, reading one message per free slot, reclaiming a dead
        worker's messages, and outliving a Redis outage.

        - **No prefetch.** taskiq-redis reads up to 100 messages per ``XREADGROUP``; they
          are then pending on this consumer while the process runs 4, and a SIGKILL left
          them there until ``XAUTOCLAIM``'s 10-minute idle time (41 runs waited 658 s
          while the other worker idled; healthy workers split 50 runs 44/6). taskiq's
          receiver asks ``listen`` for a message only when it has a free slot
          (``--max-async-tasks``, ``--max-prefetch 0``), so reading ``COUNT 1`` per
          request means a worker holds only the messages it is running.
        - **Reclaim.** A message pending for ``task_reclaim_after_s`` (its worker died, or
          it is a long run's) is claimed by a worker with a free slot. A long run that is
          still going is not run twice: the database claim is atomic, the second one
          returns "skipped" and acknowledges the copy; the run's heartbeats keep the
          sweeper away.
        - **One consumer per process,** named ``host:pid:random`` when it starts
          listening (not at import, which a fork could share), so ``XINFO CONSUMERS``
          and ``XPENDING`` say which process holds what.
        - **Redis away.** taskiq's ``listen`` raises; the worker process then shut down
          (closing its database pools under the runs still going) and was restarted in a
          loop. Here it waits with backoff, its runs go on, and a consumer group lost
          with Redis's data (``NOGROUP``) is declared again.
        """

        #: Seconds a message stays unacknowledged before another consumer takes it
        #: (None: ``task_reclaim_after_s`` from the settings, read when listening starts).
        reclaim_after_s: float | None = None
        _reclaim_due: float = 0.0
        _consumers_checked: float = 0.0

        async def listen(self) -> AsyncGenerator[AckableMessage, None]:
            if self.reclaim_after_s is None:
                from infra_mind.config import settings

                self.reclaim_after_s = settings().task_reclaim_after_s
            reclaim_after_s = self.reclaim_after_s
            self.consumer_name = consumer_name()
            delay_s = RECONNECT_S
            while True:
                try:
                    async with Redis(connection_pool=self.connection_pool) as conn:
                        while True:
                            message = await self._next_message(conn, reclaim_after_s)
                            if message is not None:
                                delay_s = RECONNECT_S
                                yield message
                except (ConnectionError, TimeoutError, OSError) as exc:
                    if _being_cancelled():
                        # redis-py turns a read cancelled mid-flight into "Connection
                        # closed": retrying would swallow the cancel, and whoever cancelled
                        # (taskiq's shutdown, a timeout) would wait forever
                        raise asyncio.CancelledError from exc
                    log.warning("task stream unreachable (%s: %s); retrying in %.1f s",
                                type(exc).__name__, exc, delay_s)
                except ResponseError as exc:
                    if not str(exc).startswith("NOGROUP"):
                        raise
                    log.warning("task stream or consumer group gone (Redis restarted "
                                "empty?); declaring it again")
                await asyncio.sleep(delay_s)
                delay_s = min(2 * delay_s, RECONNECT_MAX_S)
                with contextlib.suppress(ConnectionError, TimeoutError, OSError):
                    await self._declare_consumer_group()

        async def _next_message(self, conn: Redis, reclaim_after_s: float
                                ) -> AckableMessage | None:
            """One message: a reclaimed one if any is due, else a new one (waiting up to
            ``xread_block`` ms); None when none came."""
            now = time.monotonic()
            if now >= self._reclaim_due:
                claimed = await self._reclaim_one(conn, reclaim_after_s)
                if claimed is not None:
                    return claimed
            fetched = await conn.xreadgroup(self.consumer_group_name, self.consumer_name,
                                            {self.queue_name: ">"}, count=1,
                                            block=self.block, noack=False)
            for stream, entries in fetched or ():
                for message_id, fields in entries:
                    return self._ackable(stream, message_id, fields)
            return None

        async def _reclaim_one(self, conn: Redis, reclaim_after_s: float
                               ) -> AckableMessage | None:
            """Claim the oldest message unacknowledged for ``reclaim_after_s``, if any;
            when there is none, look again after a quarter of that (5 s at most)."""
            idle_ms = int(reclaim_after_s * 1000)
            oldest = await conn.xpending_range(self.queue_name, self.consumer_group_name,
                                               min="-", max="+", count=1, idle=idle_ms)
            if not oldest:
                self._reclaim_due = time.monotonic() + min(5.0, reclaim_after_s / 4)
                await self._forget_dead_consumers(conn)
                return None
            message_id = oldest[0]["message_id"]
            # XCLAIM checks the idle time again: of two workers, one gets it
            for claimed_id, fields in await conn.xclaim(
                    self.queue_name, self.consumer_group_name, self.consumer_name,
                    min_idle_time=idle_ms, message_ids=[message_id]):
                if fields:  # empty: trimmed from the stream meanwhile
                    log.warning("reclaimed task message %s from %s, unacknowledged for "
                                "over %g s (its worker died, or its run is long)",
                                _text(claimed_id), _text(oldest[0]["consumer"]),
                                reclaim_after_s)
                    return self._ackable(self.queue_name, claimed_id, fields)
            return None

        async def _forget_dead_consumers(self, conn: Redis) -> None:
            """Every ``CONSUMER_FORGET_S``: delete consumers idle that long with nothing
            pending (processes gone); a live one is created again by its next read."""
            now = time.monotonic()
            if now - self._consumers_checked < CONSUMER_FORGET_S:
                return
            self._consumers_checked = now
            for consumer in await conn.xinfo_consumers(self.queue_name,
                                                       self.consumer_group_name):
                name = _text(consumer["name"])
                if (name != self.consumer_name and int(consumer["pending"]) == 0
                        and int(consumer["idle"]) > CONSUMER_FORGET_S * 1000):
                    await conn.xgroup_delconsumer(self.queue_name, self.consumer_group_name,
                                                  name)

        def _ackable(self, stream: bytes | str, message_id: bytes | str,
                     fields: dict[bytes, bytes]) -> AckableMessage:
            async def ack() -> None:
                try:
                    async with Redis(connection_pool=self.connection_pool) as conn:
                        await conn.xack(stream, self.consumer_group_name, message_id)
                except (ConnectionError, TimeoutError, OSError) as exc:
                    # the run's state is in the database: a copy reclaimed later is skipped
                    log.warning("could not acknowledge task message %s (%s); it will be "
                                "reclaimed and skipped", _text(message_id),
                                type(exc).__name__)

            return AckableMessage(data=fields[b"data"], ack=ack)

    return ReconnectingStreamBroker


def _name_stream(platform: Platform) -> None:
    """Name the stream after the process's settings, before the broker first uses it:
    the broker is built at import, its settings are known once the platform is."""
    if not isinstance(broker, InMemoryBroker):
        broker.queue_name = task_stream(platform.settings.redis_namespace)  # type: ignore[attr-defined]


def _being_cancelled() -> bool:
    """Whether the running task has been asked to stop (``Task.cancel``)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def consumer_name() -> str:
    """This process's name in the consumer group: host, pid and a random suffix (a pid
    can come back after a restart; the suffix keeps the names apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


broker: AsyncBroker = _build(QueueSettings().redis_url)
broker.register_task(run_assessment, task_name=RUN_TASK)


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def _worker_startup(state: TaskiqState) -> None:
    """In an ``infra-mind worker`` process: build this process's platform, and start the
    queue its runs send to when they hand a run back (``worker.queue``: the same stream,
    in this deployment's namespace)."""
    from infra_mind.config import settings
    from infra_mind.observability.logging import configure_logging

    configure_logging(settings().log_level)
    platform = Platform.build(settings())
    state.platform = platform
    _name_stream(platform)  # taskiq-redis declares the group once this returns
    await start_queue(platform)
    await warm_up(platform)  # taskiq reads the queue once start-up returns
    state.presence = await start_presence(platform, "worker")
    serve_worker_metrics(platform)


#: Ports tried after METRICS_PORT when it is taken (by a sibling worker process).
METRICS_PORT_TRIES = 16


def serve_worker_metrics(platform: Platform) -> int | None:
    """Serve this worker process's metrics over HTTP on ``METRICS_PORT`` (or the next free
    port, for the second, third... process of ``--workers N``); the port, or None."""
    port = platform.settings.metrics_port
    if port is None:
        return None
    from prometheus_client import start_http_server

    for candidate in range(port, min(port + METRICS_PORT_TRIES, 65536)):
        try:
            start_http_server(candidate, registry=platform.metrics.registry)
        except OSError:
            continue
        log.info("worker metrics on port %d", candidate)
        return candidate
    log.warning("worker metrics not served: ports %d-%d are taken", port,
                port + METRICS_PORT_TRIES - 1)
    return None


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def _worker_shutdown(state: TaskiqState) -> None:
    presence = getattr(state, "presence", None)
    if presence is not None:
        await presence.stop()
    platform = getattr(state, "platform", None)
    if platform is not None:  # taskiq has finished its runs
        await stop_queue(platform)  # their announcements sent, their engine processes gone
        await platform.close()
