"""CPU-bound work (the engine's what-ifs, the pure steps of runs) in engine processes.

Why processes: the engine is pure Python. Run in a thread, it holds the GIL the event
loop needs, and every request of every user waits for it: one engine thread pushed a
5-query request from 0.3 ms to 115 ms here, and 60 what-ifs took another user's GET
median from 12 ms to 729 ms (issue #10, item 6). In a separate process it costs a core,
not the event loop.

Why bounded: ``processes`` computations run at once and at most ``queue`` more wait;
past that ``EngineBusy`` (503 with Retry-After), rather than a queue that grows with
the load and answers everyone late. A slot is held until the computation ends, even if
the request that asked gave up, so the bound is true of the work, not of the requests.

Runs use the same pool (``EngineBudget.run``): a run's engine call and number-guard
figures (``agents.compute``) are computed there, so a process running runs (a worker, or
the API process without ``REDIS_URL``) keeps its event loop for I/O, and N worker
processes use N cores rather than sharing one GIL each. Runs wait for a slot rather than
being refused: their concurrency is bounded already (``worker.queue.MAX_CONCURRENT_RUNS``
per process), and a what-if queues behind at most that many of their computations.

One budget per OS process (``engine_budget``): the pool is started on first use with
the ``spawn`` method (forking a process that runs an event loop, database pools and
threads is unsafe) and stopped at exit. Engine processes start with this process's
environment and working directory, so their default catalog is this process's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from infra_mind.kit.errors import DomainError
from infra_mind.observability.logging import configure_logging, current_log_context, log_context

log = logging.getLogger("infra_mind.compute")
_T = TypeVar("_T")

#: How often an engine process checks that its parent is still there.
PARENT_CHECK_S = 2.0
#: What a client is told to wait before asking again when the engine is busy.
BUSY_RETRY_AFTER_S = 2


class EngineBusy(DomainError):
    """Every engine slot of this process is taken: 503, try again shortly."""

    status_code = 503

    def __init__(self, message: str, retry_after_s: int = BUSY_RETRY_AFTER_S) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after_s))})


class EngineBudget:
    """At most ``processes`` computations at once, in worker processes, and ``queue``
    more waiting; ``admitted()`` raises ``EngineBusy`` past that."""

    def __init__(self, processes: int, queue: int) -> None:
        self.processes = processes
        self.capacity = processes + queue
        self._lock = threading.Lock()  # done-callbacks run on the pool's thread
        self._in_flight = 0
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"),
                initializer=_engine_process_start,
                initargs=(logging.getLogger().getEffectiveLevel(), os.getpid()))
        return self._pool

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[Ticket]:
        """A slot for one request's computations (``Ticket.run``), or ``EngineBusy``."""
        with self._lock:
            if self._in_flight >= self.capacity:
                raise EngineBusy("the engine is busy with other requests; try again shortly")
            self._in_flight += 1
        ticket = Ticket(self)
        try:
            yield ticket
        finally:
            ticket.close()

    def submit(self, fn: Callable[..., _T], *args: Any) -> concurrent.futures.Future[_T]:
        context = current_log_context()  # its lines belong to the caller's request or run
        try:
            return self._executor().submit(_call, fn, args, context)
        except BrokenProcessPool:  # a worker process died (killed, out of memory): anew
            log.warning("engine process pool broken; starting a new one")
            self._pool = None
            return self._executor().submit(_call, fn, args, context)

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """``fn(*args)`` in an engine process (both must pickle), waiting for a free one as
        long as it takes: for work bounded by its caller (a process's runs), which must
        not be refused. Not counted in ``in_flight`` (what-if admission)."""
        return await asyncio.wrap_future(self.submit(fn, *args))

    def shutdown(self, wait: bool = False) -> None:
        """Stop the engine processes (a later computation starts new ones); ``wait`` for
        them to end, which also releases the pool's semaphores at once."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None


class Ticket:
    """One admitted request's computations; its slot is freed once the request is done
    and none of its computations is still running."""

    def __init__(self, budget: EngineBudget) -> None:
        self._budget = budget
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """``fn(*args)`` in an engine process (both must pickle)."""
        future = self._budget.submit(fn, *args)
        with self._lock:
            self._pending += 1
        future.add_done_callback(self._done)
        return await asyncio.wrap_future(future)

    def _done(self, _future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._pending -= 1
            free = self._closed and self._pending == 0
        if free:
            self._budget._release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            free = self._pending == 0
        if free:
            self._budget._release()


def _call(fn: Callable[..., _T], args: tuple[Any, ...], context: dict[str, str]) -> _T:
    """In an engine process: ``fn(*args)``, logging with the caller's ``context``, with an
    error that cannot travel back (its pickled form does not load) replaced by a
    ``RuntimeError`` naming it. Such an error would otherwise break the pool, failing
    every computation in it."""
    try:
        with log_context(**context):
            return fn(*args)
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            lines = str(exc).strip().splitlines()
            raise RuntimeError(f"{type(exc).__name__}: {lines[0] if lines else ''}"
                               .rstrip(": ")) from None
        raise


def _engine_process_start(log_level: int = logging.INFO, parent: int | None = None) -> None:
    """In each engine process: JSON log lines at the parent's level (a spawned process
    starts with no logging set up, and would print warnings as plain text); Ctrl-C is the
    parent's to handle (it stops the pool), not a traceback per engine process; and the
    process ends with its parent. A pool's process outlives a parent killed with SIGKILL
    (the OOM killer, ``kill -9`` of one pid), waiting on its queue for ever; every worker
    process has one. ``parent`` is the pid of the process that started it, passed along:
    one that died while this one was still starting (spawning takes a second) has left
    it to init already, and asked here, init would have been the parent to wait for."""
    configure_logging(log_level)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid() if parent is None else parent

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch_parent, name="parent watch", daemon=True).start()


_budget: EngineBudget | None = None


def stop_engine_processes() -> None:
    """At a process's shutdown (blocking: call it in a thread), once nothing computes:
    stop this process's engine processes and wait for them. A process that then dies of
    the signal that stopped it (uvicorn re-raises SIGTERM) runs no exit handlers, and
    multiprocessing's resource tracker would clean the pool's semaphores up with a
    plain-text warning among the JSON log lines."""
    if _budget is not None:
        _budget.shutdown(wait=True)


def engine_budget(processes: int, queue: int) -> EngineBudget:
    """This process's budget (made on first use, from the first caller's settings: an
    API process serves one platform)."""
    global _budget
    if _budget is None:
        _budget = EngineBudget(processes, queue)
    return _budget
