"""The task broker: taskiq's in-process broker by default, its Redis stream broker with
``REDIS_URL``. The API enqueues; ``infra-mind worker`` processes (or, embedded, the API
process itself) run the tasks.

taskiq's worker command imports ``broker`` from this module, so it is built at import
from the environment. The process's ``Platform`` is attached by ``start_broker``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncGenerator

from taskiq import AckableMessage, AsyncBroker, InMemoryBroker, TaskiqEvents, TaskiqState

from infra_mind.kit.platform import Platform

#: Runs one process executes at once. Each run holds a database connection at times;
#: with the pool's 30 connections shared with requests, 30 concurrent runs starved
#: requests and runs alike under load (QueuePool timeouts), so a process runs a few.
MAX_CONCURRENT_RUNS = 4
#: The task stream is trimmed (approximately) to this many messages, so Redis memory
#: stays bounded; acknowledged messages are not needed again.
STREAM_MAXLEN = 100_000
#: The Redis stream tasks go through, and the consumer group of the workers reading it.
TASK_STREAM = "infra-mind:tasks"
CONSUMER_GROUP = "infra-mind-workers"
#: While Redis is away a worker tries again after this long, doubling up to the maximum.
RECONNECT_S = 0.5
RECONNECT_MAX_S = 5.0

log = logging.getLogger("infra_mind.worker")


def _build() -> AsyncBroker:
    url = os.environ.get("REDIS_URL")
    if url:
        # consumer_id "0": a consumer group created after messages were added (Redis
        # restarted empty and the API sent first) still gets them; a duplicate is harmless,
        # as claims are atomic
        return _stream_broker()(url=url, queue_name=TASK_STREAM,
                                consumer_group_name=CONSUMER_GROUP, consumer_id="0",
                                maxlen=STREAM_MAXLEN, approximate=True)
    # await_inplace=False: .kiq() returns at once and the task runs in the background
    return InMemoryBroker(await_inplace=False, max_async_tasks=MAX_CONCURRENT_RUNS)


def _stream_broker() -> type[AsyncBroker]:
    from redis.exceptions import ConnectionError, ResponseError, TimeoutError
    from taskiq_redis import RedisStreamBroker

    class ReconnectingStreamBroker(RedisStreamBroker):
        """taskiq's stream broker, whose worker outlives a Redis outage.

        taskiq's ``listen`` raises when Redis goes away; the worker process then shuts
        down (closing its database pools under the runs still going, which fail) and is
        restarted in a loop until Redis is back. Here the worker waits for Redis instead,
        its runs go on (they need only the database), and when Redis comes back empty
        the consumer group is declared again (NOGROUP).
        """

        async def listen(self) -> AsyncGenerator[AckableMessage, None]:
            delay_s = RECONNECT_S
            while True:
                try:
                    async with contextlib.aclosing(super().listen()) as messages:
                        async for message in messages:
                            delay_s = RECONNECT_S
                            yield message
                    return
                except (ConnectionError, TimeoutError, OSError) as exc:
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

    return ReconnectingStreamBroker


broker: AsyncBroker = _build()
_state: dict[str, Platform] = {}


def current_platform() -> Platform:
    """The platform of this process (set when the broker started)."""
    try:
        return _state["platform"]
    except KeyError:
        raise RuntimeError("the broker was not started in this process") from None


async def start_broker(platform: Platform) -> None:
    _state["platform"] = platform
    platform.extras["broker"] = broker
    await broker.startup()


async def stop_broker(platform: Platform) -> None:
    if isinstance(broker, InMemoryBroker):
        await broker.wait_all()  # let in-process runs finish writing before we close
    await broker.shutdown()
    if _state.get("platform") is platform:
        _state.pop("platform")


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def _worker_startup(state: TaskiqState) -> None:
    """In an ``infra-mind worker`` process: build this process's platform."""
    from infra_mind.config import settings
    from infra_mind.observability.logging import configure_logging

    configure_logging(settings().log_level)
    if "platform" not in _state:
        _state["platform"] = Platform.build(settings())
    from infra_mind.ops.presence import start_presence

    state.presence = await start_presence(_state["platform"], "worker")
    serve_worker_metrics(_state["platform"])


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
    platform = _state.pop("platform", None)
    if platform is not None:
        await platform.close()


async def broker_ready(platform: Platform) -> str:
    """'ok', or why the broker cannot take work."""
    if isinstance(broker, InMemoryBroker):
        return "ok"
    try:
        redis = broker.connection_pool  # type: ignore[attr-defined]
        from redis.asyncio import Redis

        async with Redis(connection_pool=redis) as conn:
            await conn.ping()
        return "ok"
    except Exception as exc:
        return f"down: {type(exc).__name__}"
