"""Process presence: every API and worker process says, every few seconds, that it is alive.

Each ``infra-mind worker`` process, and each API process, writes a record to the platform
cache: ``worker:<host>:<pid>`` for a process that runs tasks (a worker, or an API process
running them in-process without ``REDIS_URL``), ``api:<host>:<pid>`` for an API process
that hands them to workers. The record holds the host, pid, role, start and last-seen
times and this process's LLM circuit breakers; it expires ``PRESENCE_TTL_S`` after the last
beat, so a process that dies disappears by itself, and a clean stop deletes it at once.
Beside it, ``apicalls:<host>:<pid>`` holds the process's calls to outside APIs
(:data:`infra_mind.kit.http.API_CALLS`) for an hour.

With ``REDIS_URL`` the cache is shared, so ``infra-mind health-check``, ``check-llm`` and
``check-api-rates`` see every process. Without it the cache is the process's own memory:
only the process itself can read its records.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from infra_mind.kit import http as kit_http
from infra_mind.kit.cache import Cache
from infra_mind.kit.http import CALL_LOG_MINUTES
from infra_mind.kit.platform import Platform

log = logging.getLogger("infra_mind.presence")

#: Seconds between beats.
PRESENCE_INTERVAL_S = 15.0
#: A record outlives its last beat by this much; ``health-check`` lists workers seen within it.
PRESENCE_TTL_S = 120
#: API call counts of a process stay readable this long after its last beat.
API_CALLS_TTL_S = CALL_LOG_MINUTES * 60
WORKER_PREFIX = "worker:"
API_PREFIX = "api:"
API_CALLS_PREFIX = "apicalls:"


def process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def circuit_states(platform: Platform) -> dict[str, str]:
    """This process's LLM circuit breakers by provider (none before its agents start)."""
    breakers = platform.agents.breakers if platform.agents is not None else {}
    return {name: breaker.state for name, breaker in breakers.items()}


@dataclass
class Presence:
    """One process's heartbeat; built and started by :func:`start_presence`."""

    platform: Platform
    role: str  # "api" or "worker"
    runs_tasks: bool
    interval_s: float = PRESENCE_INTERVAL_S
    ttl_s: int = PRESENCE_TTL_S
    id: str = field(default_factory=process_id)
    started_at: float = field(default_factory=time.time)
    task: asyncio.Task[None] | None = None

    @property
    def key(self) -> str:
        return (WORKER_PREFIX if self.runs_tasks else API_PREFIX) + self.id

    def record(self) -> dict[str, Any]:
        host, pid = self.id.rsplit(":", 1)
        return {"id": self.id, "role": self.role, "runs_tasks": self.runs_tasks, "host": host,
                "pid": int(pid), "started_at": self.started_at, "seen_at": time.time(),
                "circuits": circuit_states(self.platform)}

    async def beat(self) -> None:
        cache = self.platform.cache
        await cache.set(self.key, json.dumps(self.record()), self.ttl_s)
        calls = kit_http.API_CALLS.snapshot()
        if calls:
            await cache.set(API_CALLS_PREFIX + self.id, json.dumps(calls), API_CALLS_TTL_S)

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.beat()
            except Exception as exc:  # the cache is down: try again next time
                log.warning("presence beat failed (%s: %s)", type(exc).__name__, exc)

    async def stop(self) -> None:
        """Stop beating and remove the record (the API call counts stay for the hour)."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        try:
            calls = kit_http.API_CALLS.snapshot()
            if calls:
                await self.platform.cache.set(API_CALLS_PREFIX + self.id, json.dumps(calls),
                                              API_CALLS_TTL_S)
            await self.platform.cache.delete(self.key)
        except Exception as exc:
            log.warning("presence record not removed (%s: %s)", type(exc).__name__, exc)


async def start_presence(platform: Platform, role: str, *, runs_tasks: bool = False,
                         interval_s: float = PRESENCE_INTERVAL_S,
                         ttl_s: int = PRESENCE_TTL_S) -> Presence:
    """Write this process's record now, then every ``interval_s`` until ``stop``.

    A worker runs tasks; an API process does when its broker runs them in-process
    (``runs_tasks``: ``worker.queue.runs_tasks_in_process()``, asked by the caller, as
    this module sits below the worker)."""
    presence = Presence(platform, role, role == "worker" or runs_tasks,
                        interval_s=interval_s, ttl_s=ttl_s)
    try:
        await presence.beat()
    except Exception as exc:  # a cache that is down must not stop the process starting
        log.warning("presence beat failed (%s: %s)", type(exc).__name__, exc)
    presence.task = asyncio.create_task(presence._forever())
    return presence


# --- reading it back ------------------------------------------------------------------------


async def _records(cache: Cache, prefix: str) -> list[dict[str, Any]]:
    found = []
    for value in (await cache.items(prefix)).values():
        with contextlib.suppress(ValueError):
            record = json.loads(value)
            if isinstance(record, dict):
                found.append(record)
    return found


async def seen_processes(cache: Cache, within_s: float = PRESENCE_TTL_S,
                         workers_only: bool = False) -> list[dict[str, Any]]:
    """Processes whose last beat is at most ``within_s`` old, most recent first."""
    prefixes = (WORKER_PREFIX,) if workers_only else (WORKER_PREFIX, API_PREFIX)
    now = time.time()
    found = [r for prefix in prefixes for r in await _records(cache, prefix)
             if now - float(r.get("seen_at", 0)) <= within_s]
    return sorted(found, key=lambda r: -float(r["seen_at"]))


async def published_api_calls(cache: Cache) -> list[dict[str, Any]]:
    """Every process's published API call log (see :class:`~infra_mind.kit.http.ApiCallLog`)."""
    return await _records(cache, API_CALLS_PREFIX)


def _no_calls() -> dict[str, Any]:
    return {"calls_1m": 0, "calls_15m": 0, "calls_60m": 0, "rate_limited_60m": 0,
            "errors_60m": 0, "last_call_at": None, "last_rate_limited_at": None,
            "last_retry_after_s": None, "limited_until": None}


def summarize_api_calls(logs: list[dict[str, Any]], now: float | None = None,
                        include: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """Per API (those in the logs, and ``include``), over every process's log: calls in the
    last 1, 15 and 60 minutes, 429s and other failures in the last 60, the last call, the
    last 429 and its ``Retry-After``, and ``limited_until`` (epoch s) while that
    ``Retry-After`` still runs."""
    now = time.time() if now is None else now
    this_minute = int(now // 60)
    out: dict[str, dict[str, Any]] = {api: _no_calls() for api in include}
    for process_log in logs:
        for api, entry in process_log.items():
            totals = out.setdefault(api, _no_calls())
            for minute, (calls, limited, errors) in entry.get("minutes", {}).items():
                age_min = this_minute - int(minute)
                if not 0 <= age_min < CALL_LOG_MINUTES:
                    continue
                totals["calls_60m"] += calls
                totals["rate_limited_60m"] += limited
                totals["errors_60m"] += errors
                totals["calls_15m"] += calls if age_min < 15 else 0
                totals["calls_1m"] += calls if age_min < 1 else 0
            if (entry.get("last_call_at") or 0) > (totals["last_call_at"] or 0):
                totals["last_call_at"] = entry["last_call_at"]
            limited_at = entry.get("last_rate_limited_at")
            if limited_at and limited_at > (totals["last_rate_limited_at"] or 0):
                totals["last_rate_limited_at"] = limited_at
                totals["last_retry_after_s"] = entry.get("last_retry_after_s")
    for totals in out.values():
        wait_s = totals["last_retry_after_s"]
        if totals["last_rate_limited_at"] and wait_s is not None \
                and totals["last_rate_limited_at"] + wait_s > now:
            totals["limited_until"] = totals["last_rate_limited_at"] + wait_s
    return out
