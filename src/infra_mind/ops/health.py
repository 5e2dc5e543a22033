"""What a deployment's parts say: ``infra-mind health-check``, ``check-llm`` and
``check-api-rates``.

Each check answers ``ok``, ``warn`` (works; something to look at, never a failure: a
stale price catalog), ``degraded`` (works, but something needs attention) or ``down``
with a one-line detail; none raises. The API is asked over HTTP; the database, Redis, the
broker, the LLM providers and the catalog are asked directly with this machine's settings,
so the command works on a host where the API is not (yet) running. Workers and API call
rates come from what each process publishes in the shared cache
(:mod:`infra_mind.kit.presence`): with ``REDIS_URL`` unset, the cache is each process's own
memory and this command cannot see the processes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy import text

from infra_mind.config import LLMSettings, Settings
from infra_mind.config.integrations import IntegrationsConfig, load_integrations_config
from infra_mind.kit import http as kit_http
from infra_mind.kit.cache import Cache, make_cache
from infra_mind.kit.db import make_engine
from infra_mind.kit.http import parse_retry_after
from infra_mind.kit.migrate import state
from infra_mind.kit.presence import (
    PRESENCE_TTL_S,
    published_api_calls,
    seen_processes,
    summarize_api_calls,
)
from infra_mind.worker.queue import CONSUMER_GROUP, task_stream

Status = Literal["ok", "warn", "degraded", "down"]


@dataclass
class Check:
    """One component's answer; ``data`` adds fields to the JSON form."""

    name: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{self.status:<9} {self.name:<10} {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, **self.data}


def overall(checks: list[Check]) -> Status:
    """The worst status of any check: down, then degraded, then warn, else ok."""
    statuses = {c.status for c in checks}
    return next((s for s in ("down", "degraded", "warn") if s in statuses), "ok")


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


async def _bounded(name: str, check: Awaitable[Check], timeout_s: float) -> Check:
    """``check`` within ``timeout_s``; a timeout or an unexpected error is ``down``."""
    try:
        return await asyncio.wait_for(check, timeout_s)
    except TimeoutError:
        return Check(name, "down", f"no answer within {timeout_s:g} s")
    except Exception as exc:
        return Check(name, "down", _why(exc))


def where(database_url: str) -> str:
    """A database URL without its credentials: the SQLite path, or host:port/name."""
    if database_url.startswith("sqlite"):
        return database_url.split(":///", 1)[-1]
    parts = urlsplit(database_url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


# --- the checks -----------------------------------------------------------------------------


async def check_liveness(http: httpx.AsyncClient, url: str) -> Check:
    started = time.perf_counter()
    try:
        response = await http.get(f"{url}/health")
    except httpx.HTTPError as exc:
        return Check("api", "down", f"no answer from {url}/health ({_why(exc)})")
    ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        return Check("api", "down", f"{url}/health answered HTTP {response.status_code}")
    version = response.json().get("version", "?")
    return Check("api", "ok", f"{url}/health: alive, version {version} ({ms:.0f} ms)",
                 {"latency_ms": round(ms, 1), "version": version})


async def check_readiness(http: httpx.AsyncClient, url: str) -> Check:
    try:
        response = await http.get(f"{url}/health/ready")
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return Check("api-ready", "down", f"no answer from {url}/health/ready ({_why(exc)})")
    checks = body.get("checks", {}) if isinstance(body, dict) else {}
    detail = ", ".join(f"{name} {state}" for name, state in checks.items()) or "no checks"
    if response.status_code == 200:
        # ready; a check that is not "ok" then is a warning (a stale catalog), not a failure
        warned = any(state != "ok" for state in checks.values())
        return Check("api-ready", "warn" if warned else "ok", f"ready: {detail}",
                     {"checks": checks})
    # the database answering (body "degraded") still serves reads: degraded, else down
    status: Status = "degraded" if body.get("status") == "degraded" else "down"
    return Check("api-ready", status, f"HTTP {response.status_code} {body.get('status')}: "
                 f"{detail}", {"checks": checks})


async def check_database(database_url: str) -> Check:
    """Connect, ``SELECT 1``, and compare the migrations applied with this version's head."""
    place = where(database_url)
    if database_url.startswith("sqlite") and place != ":memory:" and not Path(place).is_file():
        return Check("database", "down", f"no SQLite file at {place}: run `infra-mind migrate`")
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return Check("database", "down", f"{place}: {_why(exc)}")
    finally:
        await engine.dispose()
    ms = (time.perf_counter() - started) * 1000
    migrations = await asyncio.to_thread(state, database_url)
    data = {"latency_ms": round(ms, 1), "migration": migrations.current,
            "head": migrations.head, "pending": migrations.pending}
    if migrations.current is None:
        return Check("database", "down", f"{place}: answers, but no tables: run "
                     "`infra-mind migrate`", data)
    if migrations.pending:
        return Check("database", "degraded", f"{place}: at migration {migrations.current}, "
                     f"head {migrations.head} ({len(migrations.pending)} pending: run "
                     "`infra-mind migrate`)", data)
    return Check("database", "ok", f"{place}: connect + SELECT 1 in {ms:.0f} ms, at migration "
                 f"{migrations.current} (head)", data)


async def check_redis(redis_url: str | None) -> Check:
    if not redis_url:
        return Check("redis", "ok", "skipped: REDIS_URL not set (in-process cache and queue)")
    started = time.perf_counter()
    async with Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5) as redis:
        try:
            await redis.ping()
        except Exception as exc:
            return Check("redis", "down", f"{urlsplit(redis_url).hostname}: {_why(exc)}")
    ms = (time.perf_counter() - started) * 1000
    return Check("redis", "ok", f"{urlsplit(redis_url).hostname}: PING in {ms:.1f} ms",
                 {"latency_ms": round(ms, 1)})


async def check_broker(redis_url: str | None, namespace: str = "") -> Check:
    """The task stream and its consumer group: messages, pending (taken, not acknowledged)
    and lag (not yet taken)."""
    if not redis_url:
        return Check("broker", "ok", "in-process: the API process runs tasks itself")
    stream = task_stream(namespace)
    async with Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5) as redis:
        try:
            length = await redis.xlen(stream)
            groups = await redis.xinfo_groups(stream)
        except ResponseError:  # no such key: nothing ever started on this Redis
            return Check("broker", "degraded", f"no task stream {stream} yet: no API or "
                         "worker has started on this Redis")
        except Exception as exc:
            return Check("broker", "down", _why(exc))
    group = next((g for g in groups if _text(g.get("name")) == CONSUMER_GROUP), None)
    if group is None:
        return Check("broker", "degraded", f"stream {stream} has no consumer group "
                     f"{CONSUMER_GROUP}: no worker has started")
    pending, lag = int(group.get("pending") or 0), group.get("lag")
    data = {"stream": stream, "messages": length, "pending": pending,
            "lag": None if lag is None else int(lag)}
    return Check("broker", "ok", f"stream {stream}: {length} message(s) kept, {pending} "
                 f"being run, {'?' if lag is None else lag} waiting", data)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def check_workers(cache: Cache, shared: bool, within_s: float = PRESENCE_TTL_S) -> Check:
    """Processes that run tasks and beat within ``within_s`` (``shared``: the cache is Redis,
    so every process's record is visible)."""
    now = time.time()
    workers = await seen_processes(cache, within_s, workers_only=True)
    data = {"workers": [{"id": w["id"], "role": w["role"],
                         "seen_s_ago": round(now - w["seen_at"], 1)} for w in workers]}
    if not workers:
        if not shared:
            return Check("workers", "ok", "skipped: REDIS_URL not set: the API process runs "
                         "tasks itself, and its presence is in its own memory", data)
        return Check("workers", "down", f"no worker seen in the last {within_s:g} s: start "
                     "`infra-mind worker`", data)
    names = ", ".join(f"{w['id']} ({w['role']}, {now - w['seen_at']:.0f} s ago)"
                      for w in workers)
    return Check("workers", "ok", f"{len(workers)} seen in the last {within_s:g} s: {names}",
                 data)


def check_catalog(max_age_days: int, today: date | None = None,
                  snapshot: Path | None = None) -> Check:
    """The age of the oldest price the engine designs with (``catalog.coverage.staleness``):
    ``warn`` past ``max_age_days``, never a failure. The oldest, not the newest: a refresh
    renews machine prices only, and a total is as old as the oldest price in it.
    ``snapshot``: the ``INFRA_MIND_CATALOG`` setting (``catalog.store.active_snapshot_path``)."""
    from infra_mind.catalog.coverage import describe, staleness
    from infra_mind.catalog.store import default_catalog

    # loaded once per process and file: a second check (a loop, a test) does not pay the
    # load again, which under load can outlast a short --timeout
    catalog = default_catalog(snapshot)
    today = today or date.today()
    stale = staleness(catalog, max_age_days, today)
    newest = catalog.stats().newest_as_of
    newest_days = (today - newest).days
    data: dict[str, Any] = {"snapshot": str(catalog.path), "max_age_days": max_age_days,
                            "newest_as_of": newest.isoformat(), "newest_age_days": newest_days,
                            "oldest_as_of": None, "age_days": None, "oldest_price": None}
    if stale.oldest is None:
        return Check("catalog", "warn", f"{catalog.path}: no price of a kind the engine "
                     "designs with", data)
    data.update(oldest_as_of=stale.oldest.as_of.isoformat(), age_days=stale.age_days,
                oldest_price=describe(stale.oldest))
    detail = (f"{catalog.path}: oldest price the engine designs with {stale.age_days} days old "
              f"(limit {max_age_days}): {describe(stale.oldest)}; newest {newest} "
              f"({newest_days} days)")
    if stale.stale:
        return Check("catalog", "warn", f"{detail}; `infra-mind catalog refresh` renews machine "
                     "prices, the others come with a newer snapshot", data)
    return Check("catalog", "ok", detail, data)


# --- LLM providers --------------------------------------------------------------------------


@dataclass
class Probe:
    """One provider asked for its model list (no tokens spent)."""

    provider: str
    base_url: str
    status: Status
    detail: str
    reachable: bool
    auth_ok: bool | None
    http_status: int | None = None
    latency_ms: float | None = None


def _models_request(provider: str, base_url: str, key: str | None
                    ) -> tuple[str, dict[str, str]]:
    if provider == "anthropic":
        from infra_mind.agents.llm.anthropic import API_VERSION

        headers = {"anthropic-version": API_VERSION}
        if key:
            headers["x-api-key"] = key
        return f"{base_url}/v1/models", headers
    return f"{base_url}/models", {"authorization": f"Bearer {key}"} if key else {}


async def probe_provider(http: httpx.AsyncClient, provider: str, base_url: str,
                         key: str | None) -> Probe:
    """``GET /models`` (OpenAI-compatible) or ``GET /v1/models`` (Anthropic) with the key:
    reachable, authenticated, and how long it took. The key never appears in the result."""
    url, headers = _models_request(provider, base_url, key)
    started = time.perf_counter()
    try:
        response = await http.get(url, headers=headers)
    except httpx.HTTPError as exc:
        return Probe(provider, base_url, "down", f"unreachable ({type(exc).__name__})",
                     reachable=False, auth_ok=None)
    ms = round((time.perf_counter() - started) * 1000, 1)
    code = response.status_code

    def probe(status: Status, detail: str, auth_ok: bool | None) -> Probe:
        return Probe(provider, base_url, status, f"{detail} ({ms:.0f} ms)", True, auth_ok,
                     code, ms)

    if code in (401, 403):
        return probe("down", f"reachable, authentication failed (HTTP {code})", False)
    if code == 429:
        wait = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
        after = f", Retry-After {wait:g} s" if wait is not None else ""
        return probe("degraded", f"reachable, auth ok, rate limited (HTTP 429{after})", True)
    if code >= 400:
        return probe("degraded", f"reachable, GET {urlsplit(url).path} answered HTTP {code}: "
                     "auth not confirmed", None)
    return probe("ok", "reachable, auth ok", True)


def llm_endpoints(settings: LLMSettings) -> list[tuple[str, str, str | None]]:
    """(provider, base URL, key) of each configured provider, in fallback order
    (:func:`infra_mind.agents.providers.configured_providers`)."""
    from infra_mind.agents.config import load_agents_config
    from infra_mind.agents.providers import configured_providers, server_keys

    keys = server_keys(settings)
    providers = configured_providers(load_agents_config(settings=settings), settings, keys=keys)
    return [(name, p.base_url, keys.get(name))  # type: ignore[attr-defined]
            for name, p in providers.items()]


async def probe_all(http: httpx.AsyncClient, endpoints: list[tuple[str, str, str | None]]
                    ) -> list[Probe]:
    return list(await asyncio.gather(*(probe_provider(http, *e) for e in endpoints)))


async def check_llm(http: httpx.AsyncClient, endpoints: list[tuple[str, str, str | None]]
                    ) -> Check:
    """Every configured provider probed; any failing is ``degraded``, not down: the next
    provider, and at last the offline writer, still answer."""
    if not endpoints:
        return Check("llm", "ok", "skipped: offline writer only (no LLM provider configured)")
    probes = await probe_all(http, endpoints)
    detail = "; ".join(f"{p.provider} {p.detail}" for p in probes)
    worst: Status = "ok" if all(p.status == "ok" for p in probes) else "degraded"
    return Check("llm", worst, detail, {"providers": [asdict(p) for p in probes]})


# --- all of them ----------------------------------------------------------------------------


async def _down(name: str, exc: Exception) -> Check:
    return Check(name, "down", _why(exc))


async def health_report(settings: Settings, url: str, timeout_s: float,
                        catalog_max_age_days: int | None = None) -> list[Check]:
    """Every check, run at once, each within ``timeout_s``; the catalog's age limit is
    ``catalog_max_age_days``, default the setting ``CATALOG_MAX_AGE_DAYS``."""
    max_age_days = catalog_max_age_days or settings.catalog_max_age_days
    url = url.rstrip("/")
    cache = make_cache(settings.redis_url, settings.redis_namespace)
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            # the API first, alone: its latency is not to include this process's other work
            results = list(await asyncio.gather(
                _bounded("api", check_liveness(http, url), timeout_s),
                _bounded("api-ready", check_readiness(http, url), timeout_s)))
            llm: Awaitable[Check]
            try:  # before the next checks are timed: it imports the agents (seconds of CPU)
                llm = check_llm(http, llm_endpoints(settings))
            except Exception as exc:  # agents.yaml or LLM_PROVIDER_ORDER unusable
                llm = _down("llm", exc)
            checks = [
                _bounded("database", check_database(settings.database_url), timeout_s),
                _bounded("redis", check_redis(settings.redis_url), timeout_s),
                _bounded("broker", check_broker(settings.redis_url, settings.redis_namespace),
                         timeout_s),
                _bounded("workers", check_workers(cache, shared=bool(settings.redis_url)),
                         timeout_s),
                _bounded("llm", llm, timeout_s),
            ]
            results += await asyncio.gather(*checks)
        # last: loading the catalog holds the interpreter, which would skew the latencies
        results.append(await _bounded(
            "catalog", asyncio.to_thread(check_catalog, max_age_days, None,
                                         settings.infra_mind_catalog), timeout_s))
    finally:
        await cache.close()
    return results


# --- check-llm and check-api-rates ----------------------------------------------------------


async def llm_status(settings: Settings, timeout_s: float) -> list[dict[str, Any]]:
    """Per configured provider: the probe, and the circuit breaker of each API and worker
    process seen in the shared cache (a breaker is per process: there is no global one)."""
    endpoints = llm_endpoints(settings)
    cache = make_cache(settings.redis_url, settings.redis_namespace)
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            probes = await probe_all(http, endpoints)
        processes = await seen_processes(cache) if settings.redis_url else []
    finally:
        await cache.close()
    report = []
    for probe in probes:
        circuits = {p["id"]: p["circuits"][probe.provider] for p in processes
                    if probe.provider in p.get("circuits", {})}
        report.append({**asdict(probe), "circuits": circuits})
    return report


def circuit_line(circuits: dict[str, str], shared: bool) -> str:
    """The breakers other processes published, or this process's view when none is seen."""
    if circuits:
        return "circuit: " + ", ".join(f"{state} in {pid}" for pid, state in circuits.items())
    if shared:
        why = f"no API or worker process published one in the last {PRESENCE_TTL_S} s"
    else:
        why = "REDIS_URL not set, so other processes' breakers cannot be seen"
    return f"circuit: closed in this process's view ({why}; each process keeps its own)"


#: The outside APIs whose calls are counted, shown even before their first call.
KNOWN_APIS = ("aws-pricing", "azure-pricing", "gcp-pricing", "openai", "anthropic")


async def api_rates(settings: Settings, now: float | None = None,
                    integrations: IntegrationsConfig | None = None) -> list[dict[str, Any]]:
    """Per outside API, over every process that published its calls (and this one): calls
    in the last 1, 15 and 60 minutes, 429s, failures, the last ``Retry-After``, whether it
    still runs, and the request budget from integrations.yaml (default: the one in
    ``CONFIG_DIR``) where there is one."""
    integrations = integrations or load_integrations_config(config_dir=settings.config_dir)
    budgets = {f"{name}-pricing": api.max_requests_per_minute
               for name, api in integrations.price_apis}
    cache = make_cache(settings.redis_url, settings.redis_namespace)
    try:
        logs = await published_api_calls(cache) if settings.redis_url else []
    finally:
        await cache.close()
    now = time.time() if now is None else now
    summary = summarize_api_calls([*logs, kit_http.API_CALLS.snapshot()], now,
                                  include=KNOWN_APIS)
    rows = []
    for api in [*KNOWN_APIS, *sorted(set(summary) - set(KNOWN_APIS))]:
        row: dict[str, Any] = {"api": api, **summary[api],
                               "limit_per_minute": budgets.get(api)}
        if row["limited_until"]:
            row["state"] = "limited"
        elif row["limit_per_minute"] and row["calls_1m"] > row["limit_per_minute"]:
            row["state"] = "over budget"
        else:
            row["state"] = "ok" if row["calls_60m"] else "idle"
        rows.append(row)
    return rows


def _clock(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S UTC") if epoch else "-"


def rate_line(row: dict[str, Any]) -> str:
    """One API's row as one line."""
    parts = [f"calls this min/15 min/60 min {row['calls_1m']}/{row['calls_15m']}/"
             f"{row['calls_60m']}",
             f"429s {row['rate_limited_60m']}", f"errors {row['errors_60m']}"]
    if row["last_rate_limited_at"]:
        wait = row["last_retry_after_s"]
        parts.append(f"last 429 at {_clock(row['last_rate_limited_at'])}" +
                     (f" (Retry-After {wait:g} s)" if wait is not None else ""))
    if row["limited_until"]:
        parts.append(f"limited until {_clock(row['limited_until'])}")
    if row["limit_per_minute"]:
        parts.append(f"budget {row['limit_per_minute']}/min")
    return f"{row['state']:<12} {row['api']:<14} " + ", ".join(parts)
