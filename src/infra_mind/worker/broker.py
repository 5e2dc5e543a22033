"""The task broker: taskiq's in-process broker by default, its Redis stream broker with
``REDIS_URL``. The API enqueues; ``infra-mind worker`` processes (or, embedded, the API
process itself) run the tasks.

taskiq's worker command imports ``broker`` from this module, so it is built at import
from the environment. The process's ``Platform`` is attached by ``start_broker``.
"""

from __future__ import annotations

import os

from taskiq import AsyncBroker, InMemoryBroker, TaskiqEvents, TaskiqState

from infra_mind.kit.platform import Platform

#: Runs one process executes at once. Each run holds a database connection at times;
#: with the pool's 30 connections shared with requests, 30 concurrent runs starved
#: requests and runs alike under load (QueuePool timeouts), so a process runs a few.
MAX_CONCURRENT_RUNS = 4
#: The task stream is trimmed (approximately) to this many messages, so Redis memory
#: stays bounded; acknowledged messages are not needed again.
STREAM_MAXLEN = 100_000


def _build() -> AsyncBroker:
    url = os.environ.get("REDIS_URL")
    if url:
        from taskiq_redis import RedisStreamBroker

        return RedisStreamBroker(url=url, queue_name="infra-mind:tasks",
                                 consumer_group_name="infra-mind-workers",
                                 maxlen=STREAM_MAXLEN, approximate=True)
    # await_inplace=False: .kiq() returns at once and the task runs in the background
    return InMemoryBroker(await_inplace=False, max_async_tasks=MAX_CONCURRENT_RUNS)


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


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def _worker_shutdown(state: TaskiqState) -> None:
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
