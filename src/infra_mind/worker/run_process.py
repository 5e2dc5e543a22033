"""The run process: where an API process without ``REDIS_URL`` runs its runs.

Why a process of its own: a run loads the agents' graph (LangGraph with LangChain and
LangSmith: some 790 modules and 37 MiB) and does its orchestration, database writes and
JSON on an event loop. In the API process that meant 145 MiB of memory for good after the
first run (98 before it, ``bench/api_load.py``) and requests waiting behind the runs'
Python. Here the API process sends each run to a child process it started, which runs it
as an ``infra-mind worker`` would (``worker.tasks.run_assessment``; its CPU-bound steps in
a thread, as its loop serves no request: ``worker.tasks.COMPUTE_IN_THREADS``), and stops
once no run has come for ``run_process_idle_s``: an idle API process holds none of it.
``RUN_PROCESS=false`` runs them on the API's own event loop
(``worker.queue.InProcessQueue``), as before.

The child shares the API process's database, and through it everything a run writes.
What lives in the API process's memory, it reaches over one socket pair: the cache (each
call answered by the API's ``MemoryCache``, so cached reads stay true), the channels
(``STATUS_CHANNEL``: the event streams hear of its runs), the metrics (the API's
``/metrics`` counts its runs and model calls) and the queue (a run handed back is sent
again). Frames are a 4-byte length then JSON, in order, so a cache write made before a
status message is applied before that message is delivered; the first frame, from the
API process, is its ``Settings`` (pickled: the child is this same code).

Lifetime: the API process starts the child with the first run, and asks it to stop when
no run is pending for ``run_process_idle_s`` or at shutdown (after its runs end, as the
in-process queue waits for them). The child ignores SIGINT and SIGTERM (its API process
decides) and ends at once if that process goes (the socket closes): its runs stop where
they are, as they would have in the API process, and the sweeper of the next API process
requeues them. If the child dies on its own (killed, out of memory), the API process
sends its pending runs to a new one: those not yet started run there, and those it had
started are requeued by the sweeper once stale (``stale_after_s``), which counts their
attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import pickle
import signal
import socket
import struct
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any, cast

from prometheus_client.metrics import MetricWrapperBase

from infra_mind.config import Settings
from infra_mind.kit.platform import Platform
from infra_mind.kit.pubsub import CHANNEL_MAKER, MemoryChannel, channel_of
from infra_mind.observability.logging import event
from infra_mind.observability.metrics import Metrics

log = logging.getLogger("infra_mind.worker")

#: A frame's length, before it.
_LENGTH = struct.Struct(">I")
#: The largest frame either side reads (a cached result is some 40-100 KB).
MAX_FRAME = 64 * 1024 * 1024
#: How long the API process waits for a child asked to stop before it kills it.
STOP_WAIT_S = 30.0
#: How long a new child has to say it started (it imports the worker's modules: ~1 s).
START_WAIT_S = 60.0
#: The cache calls the child may make, and the metric operations it may forward.
CACHE_CALLS = frozenset({"incr", "get", "get_many", "set", "add", "set_if_higher",
                         "delete", "items", "ping"})
METRIC_CALLS = frozenset({"inc", "dec", "set", "observe"})


class LinkClosed(ConnectionError):
    """The other process is gone."""


class RunProcessFailed(RuntimeError):
    """A run process did not start."""


class Link:
    """One side of the socket pair: frames out (``send``, in order, at once) and in
    (``receive``), and calls answered by the other side (``call``)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._next_call = 0
        self.closed = False

    def send_raw(self, payload: bytes) -> None:
        if self.closed or self._writer.is_closing():
            raise LinkClosed("the other process is gone")
        self._writer.write(_LENGTH.pack(len(payload)) + payload)

    def send(self, message: dict[str, Any]) -> None:
        self.send_raw(json.dumps(message, separators=(",", ":")).encode())

    async def receive_raw(self) -> bytes | None:
        """The next frame, or None once the other side closed its end."""
        try:
            head = await self._reader.readexactly(_LENGTH.size)
            (size,) = _LENGTH.unpack(head)
            if size > MAX_FRAME:
                raise ValueError(f"a frame of {size} bytes (at most {MAX_FRAME})")
            return await self._reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.lost()
            return None

    async def receive(self) -> dict[str, Any] | None:
        payload = await self.receive_raw()
        return None if payload is None else cast("dict[str, Any]", json.loads(payload))

    async def call(self, name: str, *args: Any) -> Any:
        """Ask the other side to run ``name(*args)``; its answer (``answered``)."""
        self._next_call += 1
        number = self._next_call
        future = self._calls[number] = asyncio.get_running_loop().create_future()
        try:
            self.send({"op": "call", "n": number, "name": name, "args": list(args)})
            return await future
        finally:
            self._calls.pop(number, None)

    def answered(self, message: dict[str, Any]) -> None:
        future = self._calls.get(message["n"])
        if future is None or future.done():
            return
        if "error" in message:
            future.set_exception(RuntimeError(message["error"]))
        else:
            future.set_result(message.get("value"))

    def lost(self) -> None:
        self.closed = True
        for future in self._calls.values():
            if not future.done():
                future.set_exception(LinkClosed("the other process is gone"))

    async def close(self) -> None:
        self.lost()
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


# -- the API process's side ----------------------------------------------------------------


class _Child:
    def __init__(self, popen: subprocess.Popen[bytes], link: Link) -> None:
        self.popen = popen
        self.link = link
        self.ready = asyncio.Event()  # it said it started
        self.stopping = False  # asked to stop: its end is no crash
        self.ended = asyncio.Event()  # its end of the socket closed
        self.serving: asyncio.Task[None] | None = None


class RunProcess:
    """The API process's side: sends runs to its child, starting one when none is
    running, and answers the child's calls on the API's cache, channels and metrics."""

    #: What a child runs (this module, with the socket's descriptor after it).
    command: Sequence[str] = (sys.executable, "-m", "infra_mind.worker.run_process")

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._lock = asyncio.Lock()  # one start or stop at a time
        self._child: _Child | None = None
        #: runs sent and not reported done, by id (a run handed back is sent again
        #: before its first sending is done)
        self._pending: Counter[str] = Counter()
        self._settled = asyncio.Event()  # nothing pending
        self._settled.set()
        self._idle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: children started so far (``/api/v1/admin/status`` says nothing of them; logs do)
        self.started = 0

    @property
    def pid(self) -> int | None:
        """The running child's process id, if one is running."""
        child = self._child
        return child.popen.pid if child is not None and not child.ended.is_set() else None

    async def send(self, assessment_id: str) -> None:
        self._expect(assessment_id)
        try:
            await self._deliver(assessment_id)
        except BaseException:
            self._done(assessment_id)
            raise

    async def _deliver(self, assessment_id: str) -> None:
        async with self._lock:
            self._cancel_idle_stop()
            child = self._child
            if child is None or child.ended.is_set() or child.stopping:
                child = self._child = await self._start()
            child.link.send({"op": "run", "id": assessment_id})

    def _expect(self, assessment_id: str) -> None:
        """One more sending of ``assessment_id`` pending until its child says it is done."""
        self._pending[assessment_id] += 1
        self._settled.clear()

    def _done(self, assessment_id: str) -> None:
        self._pending[assessment_id] -= 1
        if self._pending[assessment_id] <= 0:
            del self._pending[assessment_id]
        if not self._pending:
            self._settled.set()
            self._schedule_idle_stop()

    async def _start(self) -> _Child:
        settings = self._platform.settings
        ours, theirs = socket.socketpair()
        try:
            popen = subprocess.Popen([*self.command, str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        reader, writer = await asyncio.open_connection(sock=ours, limit=MAX_FRAME)
        child = _Child(popen, Link(reader, writer))
        child.link.send_raw(pickle.dumps(settings))
        # its own context: its lines (and the idle stop it schedules) belong to no request
        child.serving = asyncio.create_task(self._serve(child), name="run process link",
                                            context=contextvars.Context())
        ready = asyncio.create_task(child.ready.wait())
        await asyncio.wait({ready, child.serving}, timeout=START_WAIT_S,
                           return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if not child.ready.is_set():
            # a broken install, say: the send fails, and the sweeper sends the run again
            # (``worker.tasks.resend_unsent``), which tries a new child
            child.stopping = True
            if popen.poll() is None:
                popen.kill()
            code = await asyncio.to_thread(popen.wait)
            await child.link.close()
            await child.serving
            raise RunProcessFailed(f"the run process did not start (exit code {code}; "
                                   "its lines are above)")
        self.started += 1
        event(log, "run_process.start", child_pid=popen.pid)
        return child

    async def _serve(self, child: _Child) -> None:
        try:
            while (message := await child.link.receive()) is not None:
                try:
                    await self._handle(child, message)
                except Exception:  # one bad message must not cut the child off
                    log.exception("run process %d: message %r not handled",
                                  child.popen.pid, message.get("op"))
        finally:
            child.link.lost()
            child.ended.set()
            await self._ended(child)

    async def _handle(self, child: _Child, message: dict[str, Any]) -> None:
        op = message["op"]
        if op == "call":
            try:
                value = await self._cache_call(message["name"], message["args"])
            except Exception as exc:
                child.link.send({"op": "answer", "n": message["n"],
                                 "error": f"{type(exc).__name__}: {exc}"})
            else:
                child.link.send({"op": "answer", "n": message["n"], "value": value})
        elif op == "publish":
            channel_of(self._platform, message["channel"]).publish(message["message"])
        elif op == "metric":
            self._metric(message)
        elif op == "external":
            from infra_mind.observability.metrics import record_external_call

            record_external_call(message["target"], message["outcome"],
                                 float(message["duration_s"]))
        elif op == "send":  # a run handed back: pending again before its first end
            self._expect(message["id"])
            self._later(self._deliver_or_drop(message["id"]))
        elif op == "done":
            self._done(message["id"])
        elif op == "ready":
            child.ready.set()
        else:
            raise ValueError(f"unknown message {op!r}")

    async def _cache_call(self, name: str, args: list[Any]) -> Any:
        if name not in CACHE_CALLS:
            raise ValueError(f"no cache call {name!r}")
        return await getattr(self._platform.cache, name)(*args)

    def _metric(self, message: dict[str, Any]) -> None:
        metric = getattr(self._platform.metrics, message["name"], None)
        if not isinstance(metric, MetricWrapperBase) or message["call"] not in METRIC_CALLS:
            raise ValueError(f"no metric {message['name']!r}.{message['call']}")
        if message["args"] or message["kwargs"]:
            metric = metric.labels(*message["args"], **message["kwargs"])
        getattr(metric, message["call"])(*message["value"])

    async def _deliver_or_drop(self, assessment_id: str) -> None:
        try:
            await self._deliver(assessment_id)
        except Exception as exc:  # the run stays queued: the sweeper has it
            log.warning("could not send assessment.run for %s to a run process (%s: %s)",
                        assessment_id, type(exc).__name__, exc)
            self._done(assessment_id)

    def _later(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ended(self, child: _Child) -> None:
        """The child's end of the socket closed: a stop we asked for, or a crash (one
        before it said it started is the starter's to report: ``_start``)."""
        if child.stopping or not child.ready.is_set():
            return
        if self._child is child:
            self._child = None
        try:  # its socket closed as it ended: its exit code follows
            code: int | str = await asyncio.wait_for(asyncio.to_thread(child.popen.wait),
                                                     STOP_WAIT_S)
        except TimeoutError:  # it closed the socket, but lives on: no use to anyone
            child.popen.kill()
            code = "none: killed, as it had closed its link"
        pending = sorted(self._pending)
        if not pending:
            return
        log.warning("the run process %d ended (exit code %s) with %d run(s) pending; "
                    "sending them to a new one (those it had started are requeued once "
                    "stale)", child.popen.pid, code, len(pending))
        self._pending.clear()
        for assessment_id in pending:
            self._expect(assessment_id)
            self._later(self._deliver_or_drop(assessment_id))

    def _schedule_idle_stop(self) -> None:
        self._cancel_idle_stop()
        if self._child is None:
            return
        delay = self._platform.settings.run_process_idle_s
        self._idle = asyncio.get_running_loop().call_later(
            delay, lambda: self._later(self._stop_if_idle()))

    def _cancel_idle_stop(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    async def _stop_if_idle(self) -> None:
        async with self._lock:
            child = self._child
            if child is None or self._pending:
                return
            self._child = None
            await self._stop_child(child, "idle")

    async def _stop_child(self, child: _Child, why: str) -> None:
        child.stopping = True
        with contextlib.suppress(LinkClosed):
            child.link.send({"op": "stop"})
        try:
            await asyncio.wait_for(child.ended.wait(), STOP_WAIT_S)
            await asyncio.wait_for(asyncio.to_thread(child.popen.wait), STOP_WAIT_S)
        except TimeoutError:
            log.warning("run process %d did not stop in %.0f s; killed", child.popen.pid,
                        STOP_WAIT_S)
            child.popen.kill()
            await asyncio.to_thread(child.popen.wait)
        await child.link.close()
        if child.serving is not None:
            await child.serving
        event(log, "run_process.stop", child_pid=child.popen.pid, reason=why,
              exit_code=child.popen.returncode)

    async def stop(self) -> None:
        """Wait for every run sent (and any sent again meanwhile), then stop the child."""
        self._cancel_idle_stop()
        while self._pending or self._tasks:
            if self._pending:
                await self._settled.wait()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
        self._cancel_idle_stop()
        async with self._lock:
            child, self._child = self._child, None
            if child is not None and not child.ended.is_set():
                await self._stop_child(child, "shutdown")


# -- the child's side ----------------------------------------------------------------------


class LinkedCache:
    """The API process's cache, each call a round trip over the link."""

    name = "memory"
    shared = False  # as the memory cache it stands for: only its own process sees it

    def __init__(self, link: Link) -> None:
        self._link = link

    async def incr(self, key: str, window_s: int) -> tuple[int, int]:
        hits, left = await self._link.call("incr", key, window_s)
        return int(hits), int(left)

    async def get(self, key: str) -> str | None:
        return cast("str | None", await self._link.call("get", key))

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        return cast("list[str | None]", await self._link.call("get_many", list(keys)))

    async def set(self, key: str, value: str, ttl_s: int) -> None:
        await self._link.call("set", key, value, ttl_s)

    async def add(self, key: str, value: str, ttl_s: int) -> bool:
        return bool(await self._link.call("add", key, value, ttl_s))

    async def set_if_higher(self, key: str, value: str, ttl_s: int) -> bool:
        return bool(await self._link.call("set_if_higher", key, value, ttl_s))

    async def delete(self, key: str) -> None:
        await self._link.call("delete", key)

    async def items(self, prefix: str) -> dict[str, str]:
        return cast("dict[str, str]", await self._link.call("items", prefix))

    async def ping(self) -> bool:
        try:
            return bool(await self._link.call("ping"))
        except LinkClosed:
            return False

    async def close(self) -> None:
        return None


class _LinkedSeries:
    """One metric (and its labels) of the API process's ``Metrics``."""

    def __init__(self, link: Link, name: str, args: tuple[Any, ...] = (),
                 kwargs: dict[str, Any] | None = None) -> None:
        self._link, self._name, self._args, self._kwargs = link, name, args, kwargs or {}

    def labels(self, *args: Any, **kwargs: Any) -> _LinkedSeries:
        return _LinkedSeries(self._link, self._name, args, kwargs)

    def _forward(self, call: str, *value: float) -> None:
        with contextlib.suppress(LinkClosed):  # the API process is gone: nobody counts
            self._link.send({"op": "metric", "name": self._name, "args": list(self._args),
                             "kwargs": self._kwargs, "call": call, "value": list(value)})

    def inc(self, amount: float = 1) -> None:
        self._forward("inc", amount)

    def dec(self, amount: float = 1) -> None:
        self._forward("dec", amount)

    def set(self, value: float) -> None:
        self._forward("set", value)

    def observe(self, value: float) -> None:
        self._forward("observe", value)


class LinkedMetrics:
    """Stands for the API process's ``Metrics``: every counter, gauge and histogram by the
    same attribute, its updates sent there."""

    def __init__(self, link: Link) -> None:
        self._link = link

    def __getattr__(self, name: str) -> _LinkedSeries:
        if name.startswith("_"):
            raise AttributeError(name)
        return _LinkedSeries(self._link, name)


class LinkedChannel(MemoryChannel):
    """This process's subscribers, and the API process's through the link."""

    def __init__(self, link: Link, name: str) -> None:
        super().__init__()
        self._link, self._name = link, name

    def publish(self, message: dict[str, Any]) -> None:
        super().publish(message)
        with contextlib.suppress(LinkClosed):
            self._link.send({"op": "publish", "channel": self._name, "message": message})


class LinkedQueue:
    """The child's ``worker.queue.runs``: a run handed back goes to the API process,
    which sends it again."""

    kind = "RunProcess"
    runs_tasks = True

    def __init__(self, link: Link) -> None:
        self._link = link

    async def start(self, platform: Platform) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, assessment_id: str) -> None:
        self._link.send({"op": "send", "id": assessment_id})

    async def ready(self) -> str:
        return "down: the API process is gone" if self._link.closed else "ok"

    async def lost_its_data(self) -> bool:
        return False


def linked_platform(settings: Settings, link: Link) -> Platform:
    """The child's platform: its own database engine, its runs computing in threads; the API
    process's cache, channels and metrics."""
    from infra_mind.kit.db import make_engine, make_sessionmaker
    from infra_mind.worker.tasks import COMPUTE_IN_THREADS

    engine = make_engine(settings.database_url, settings.db_pool_size,
                         settings.db_max_overflow)
    platform = Platform(settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                        cache=LinkedCache(link), metrics=cast(Metrics, LinkedMetrics(link)))
    platform[CHANNEL_MAKER] = lambda name: LinkedChannel(link, name)
    platform[COMPUTE_IN_THREADS] = True  # its loop serves runs alone
    return platform


async def serve_parent(fd: int) -> None:
    """The child's life: read its settings, start, run what it is sent, MAX_CONCURRENT_RUNS
    at a time, until it is asked to stop (after its runs) or its API process goes
    (at once)."""
    from infra_mind.observability.logging import configure_logging
    from infra_mind.observability.metrics import send_external_calls_to
    from infra_mind.worker import queue
    from infra_mind.worker.tasks import run_assessment

    reader, writer = await asyncio.open_connection(sock=socket.socket(fileno=fd),
                                                   limit=MAX_FRAME)
    link = Link(reader, writer)
    first = await link.receive_raw()
    if first is None:
        return
    settings: Settings = pickle.loads(first)
    configure_logging(settings.log_level)
    platform = linked_platform(settings, link)
    queue.runs = LinkedQueue(link)
    await queue.start_queue(platform)
    send_external_calls_to(lambda target, outcome, duration_s: link.send(
        {"op": "external", "target": target, "outcome": outcome, "duration_s": duration_s}))

    async def run(assessment_id: str) -> None:
        try:
            await run_assessment(assessment_id)
        finally:
            with contextlib.suppress(LinkClosed):
                link.send({"op": "done", "id": assessment_id})

    # MAX_CONCURRENT_RUNS at a time, the rest in order, a run that raises logged
    runner = queue.InProcessQueue(run)
    await runner.start(platform)
    stop_asked = asyncio.Event()

    async def read() -> None:  # until the API process goes
        while (message := await link.receive()) is not None:
            op = message["op"]
            if op == "run":
                await runner.send(message["id"])
            elif op == "answer":
                link.answered(message)
            elif op == "stop":
                stop_asked.set()

    reading = asyncio.create_task(read(), name="API process link")
    waiting = asyncio.create_task(stop_asked.wait())
    link.send({"op": "ready"})
    try:
        await asyncio.wait({reading, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if stop_asked.is_set():
            # asked once nothing is pending; a run still here finishes first (while the
            # link answers its calls), unless the API process goes meanwhile
            waiting = asyncio.create_task(runner.stop())
            await asyncio.wait({reading, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
        runner.cancel()  # the API process is gone: the runs stop where they are
        await runner.stop()
        await queue.stop_queue(platform)  # its channels
        await platform.close()
        await link.close()
        reading.cancel()
        await asyncio.gather(reading, waiting, return_exceptions=True)


def main(argv: list[str]) -> int:
    # its API process decides when it ends; a terminal's Ctrl-C reaches that one too
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    asyncio.run(serve_parent(int(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
