"""Where an API process sends runs: its run process by default (``worker.run_process``; its
own event loop with ``RUN_PROCESS=false``), the Redis task stream that ``infra-mind
worker`` processes read with ``REDIS_URL``.

An API process only sends ``assessment.run`` messages; it does not import taskiq, which
the workers run (``worker.broker``). taskiq and taskiq-redis with the aiohttp that
taskiq's admin middleware imports are 171 modules and some 11 MiB in every API process
that never needed them (``bench/api_load.py`` prints the idle memory). A message is the
one taskiq's JSON formatter writes for ``run_assessment.kiq(id)``, added to the stream as
taskiq-redis adds it (``XADD <stream> MAXLEN ~ N * data <json>``); tests/worker/
test_queue.py checks that taskiq's worker reads it back as the task it would have sent.

Which one a process uses is decided at import from ``REDIS_URL`` (``QueueSettings``), as
the broker of the workers is: ``runs``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from infra_mind.config import QueueSettings
from infra_mind.kit.platform import Platform

if TYPE_CHECKING:
    from infra_mind.worker.run_process import RunProcess

#: Runs one process executes at once. Each run holds a database connection at times;
#: with the pool's 30 connections shared with requests, 30 concurrent runs starved
#: requests and runs alike under load (QueuePool timeouts), so a process runs a few.
MAX_CONCURRENT_RUNS = 4
#: The task stream is trimmed (approximately) to this many messages, so Redis memory
#: stays bounded; acknowledged messages are not needed again.
STREAM_MAXLEN = 100_000
#: The Redis stream tasks go through (after ``REDIS_NAMESPACE``: ``task_stream``), and the
#: consumer group of the workers reading it.
TASK_STREAM = "infra-mind:tasks"
CONSUMER_GROUP = "infra-mind-workers"
#: Set in the broker's Redis once (after the stream's name: ``<stream>:epoch``); its
#: absence means Redis lost its data (restarted without persistence, flushed) and the
#: messages in the stream with it.
STREAM_EPOCH_SUFFIX = ":epoch"
#: The task's name in taskiq (``worker.broker`` registers ``tasks.run_assessment`` under it).
RUN_TASK = "assessment.run"

log = logging.getLogger("infra_mind.worker")


def task_stream(namespace: str = "") -> str:
    """The task stream's name in a deployment's Redis namespace (``REDIS_NAMESPACE``)."""
    return namespace + TASK_STREAM


def run_message(assessment_id: str) -> bytes:
    """``assessment.run`` for one id, as taskiq's JSON formatter writes it (a fresh task id
    each time, as ``kiq`` gives one)."""
    return json.dumps({"task_id": uuid.uuid4().hex, "task_name": RUN_TASK, "labels": {},
                       "labels_types": {}, "args": [assessment_id], "kwargs": {}}).encode()


class RunQueue(Protocol):
    #: What the admin status calls it (``/api/v1/admin/status``: ``broker.kind``).
    kind: str
    #: Whether this process runs what it sends.
    runs_tasks: bool

    async def start(self, platform: Platform) -> None: ...
    async def stop(self) -> None: ...
    async def send(self, assessment_id: str) -> None: ...
    async def ready(self) -> str: ...
    async def lost_its_data(self) -> bool: ...


_state: dict[str, Platform] = {}


def current_platform() -> Platform:
    """The platform of this process, given to ``start_queue``: the API's or, in an
    ``infra-mind worker`` process, the one its start-up built (``worker.broker``)."""
    try:
        return _state["platform"]
    except KeyError:
        raise RuntimeError("the broker was not started in this process") from None


class InProcessQueue:
    """Runs go to this process's run process (``worker.run_process``; the platform's
    ``run_process`` setting, on by default) or, without one, to this process's event
    loop; ``MAX_CONCURRENT_RUNS`` at a time, the rest waiting their turn in order.
    ``stop`` waits for every one sent."""

    kind = "InMemoryBroker"  # the name the admin status has always given it
    runs_tasks = True

    def __init__(self, run: Callable[[str], Awaitable[object]] | None = None) -> None:
        self._run = run
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_RUNS)
        self._tasks: set[asyncio.Task[None]] = set()
        self.process: RunProcess | None = None

    async def start(self, platform: Platform) -> None:
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_RUNS)  # of this event loop
        self.process = None
        if self._run is None and platform.settings.run_process:
            from infra_mind.worker.run_process import RunProcess

            self.process = RunProcess(platform)

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()
        while self._tasks:  # a run may send another (a hand-back): wait for that one too
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def cancel(self) -> None:
        """Cancel the runs on this loop (their process is ending: they stop where they
        are, and the sweeper requeues them); ``stop`` then waits for them to unwind."""
        for task in self._tasks:
            task.cancel()

    async def send(self, assessment_id: str) -> None:
        if self.process is not None:
            await self.process.send(assessment_id)
            return
        task = asyncio.create_task(self._execute(assessment_id),
                                   name=f"{RUN_TASK} {assessment_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, assessment_id: str) -> None:
        run = self._run
        if run is None:  # the worker layer, imported when the first run starts
            from infra_mind.worker.tasks import run_assessment as run
        async with self._slots:
            try:
                await run(assessment_id)
            except Exception:  # as a worker would: logged, and the sweeper has the run
                log.exception("%s %s raised", RUN_TASK, assessment_id)

    async def ready(self) -> str:
        return "ok"

    async def lost_its_data(self) -> bool:
        return False


class StreamQueue:
    """Runs go to the Redis task stream, for ``infra-mind worker`` processes."""

    kind = "ReconnectingStreamBroker"  # the broker the workers read it with
    runs_tasks = False

    def __init__(self, url: str, stream: str = TASK_STREAM) -> None:
        from redis.asyncio import Redis

        self.stream = stream
        # a send that Redis does not take fails within seconds: the run stays queued in
        # the database and the sweeper sends it again (``worker.tasks.resend_unsent``)
        self._redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)

    async def start(self, platform: Platform) -> None:
        """Name the stream in the process's namespace, and declare the workers' group on
        it (as taskiq-redis did at start-up), so messages sent before any worker started
        wait in it. Raises when Redis is unreachable."""
        from redis.exceptions import ResponseError

        self.stream = task_stream(platform.settings.redis_namespace)
        try:
            # id "0": a group declared after messages were added (Redis restarted empty
            # and the API sent first) still gets them
            await self._redis.xgroup_create(self.stream, CONSUMER_GROUP, id="0",
                                            mkstream=True)
        except ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):
                raise

    async def stop(self) -> None:
        await self._redis.aclose()

    async def send(self, assessment_id: str) -> None:
        await self._redis.xadd(self.stream, {b"data": run_message(assessment_id)},
                               maxlen=STREAM_MAXLEN, approximate=True)

    async def ready(self) -> str:
        try:
            await self._redis.ping()
        except Exception as exc:
            return f"down: {type(exc).__name__}"
        return "ok"

    async def lost_its_data(self) -> bool:
        """Whether Redis lost its data since any process last asked (restarted without
        persistence, flushed), taking the messages in the stream with it; also True the
        first time ever. False while Redis is unreachable.

        Several API processes ask; one of them gets True (``SET NX``) and re-sends every
        queued run, so runs sent before such a restart wait seconds, not
        ``job_timeout_s``."""
        from redis.exceptions import RedisError

        try:
            return bool(await self._redis.set(self.stream + STREAM_EPOCH_SUFFIX, "1",
                                              nx=True))
        except (RedisError, OSError):
            return False


def build_queue(url: str | None) -> RunQueue:
    """The stream queue on Redis at ``url``; without one, the in-process queue."""
    return StreamQueue(url) if url else InProcessQueue()


#: This process's queue.
runs: RunQueue = build_queue(QueueSettings().redis_url)


def runs_tasks_in_process() -> bool:
    """Whether this process runs the runs it sends (no ``REDIS_URL``)."""
    return runs.runs_tasks


async def start_queue(platform: Platform) -> None:
    _state["platform"] = platform
    await runs.start(platform)


async def stop_queue(platform: Platform) -> None:
    """Let the runs this process runs finish writing, then close what they used."""
    await runs.stop()
    from infra_mind.kit.compute import stop_engine_processes
    from infra_mind.kit.pubsub import close_channels

    await close_channels(platform)  # what the runs announced has been sent
    await asyncio.to_thread(stop_engine_processes)  # the runs' and what-ifs' are done
    if _state.get("platform") is platform:
        del _state["platform"]
