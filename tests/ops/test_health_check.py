"""``infra-mind health-check`` against nothing, against a real ``infra-mind serve`` (SQLite;
then with Redis and an ``infra-mind worker``), its checks one by one, and worker presence."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from types import SimpleNamespace

import httpx
import pytest
from alembic import command

from infra_mind.cli.main import main
from infra_mind.kit.cache import MemoryCache
from infra_mind.kit.migrate import alembic_config, upgrade
from infra_mind.kit.presence import Presence, process_id, seen_processes, start_presence
from infra_mind.ops.health import check_catalog, check_database, check_workers
from tests.integration.procs import (
    base_env,
    free_port,
    group_name,
    logs_on_failure,
    pid_of_worker_id,
    redis_namespace,
    serve,
    start,
    wait_ready,
)
from tests.platform_fixtures import fresh_pg_database, redis_cache_or_skip

CHECKS = ["api", "api-ready", "database", "redis", "broker", "workers", "llm", "catalog"]
#: The bundled catalog's prices age with the calendar: not what most of these tests check
#: (the health check's own limit, and a served API's)
ANY_AGE = ["--catalog-max-age-days", "100000"]
SERVED_ANY_AGE = {"CATALOG_MAX_AGE_DAYS": "36500"}
#: Settings the health check reads: none may come from the developer's shell.
_READS = ("DATABASE_URL", "REDIS_URL", "REDIS_NAMESPACE", "OPENAI_API_KEY", "OPENAI_BASE_URL",
          "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "LLM_PROVIDER_ORDER", "CONFIG_DIR",
          "AGENTS_CONFIG", "ENVIRONMENT", "JWT_SECRET_KEY", "CATALOG_MAX_AGE_DAYS")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in _READS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_log_handlers_left_by_other_tests(monkeypatch):
    """A test that configured logging (``configure_logging``) leaves a handler on a stream
    pytest has closed since; these tests read stderr, so they start without one."""
    monkeypatch.setattr(logging.getLogger(), "handlers", [])


def run(capsys, *argv):
    code = main(["health-check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def ready(apis, watch, **kwargs) -> None:
    async with httpx.AsyncClient() as http:
        await wait_ready(http, apis, watch, **kwargs)


# --- nothing listening ----------------------------------------------------------------------


def test_nothing_listening_is_down_one_line_each_without_a_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/none.db"}
    done = subprocess.run([sys.executable, "-m", "infra_mind", "health-check", "--url",
                           f"http://127.0.0.1:{free_port()}", "--timeout", "3", *ANY_AGE],
                          capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert done.returncode == 1 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == CHECKS
    assert [line.split()[0] for line in lines[:-1]] == [
        "down", "down", "down", "ok", "ok", "ok", "ok", "ok"]
    assert lines[0].startswith("down      api        no answer from http://127.0.0.1:")
    assert lines[2] == (f"down      database   no SQLite file at {tmp_path}/none.db: run "
                        "`infra-mind migrate`")
    assert lines[-1] == "down: api, api-ready, database"
    assert not (tmp_path / "none.db").exists()  # a health check creates nothing


def test_json_document(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/none.db")
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = run(capsys, "--url", url, "--json", *ANY_AGE)
    doc = json.loads(out)
    assert (code, err) == (1, "")
    assert set(doc) == {"status", "url", "checked_at", "checks"}
    assert doc["status"] == "down" and doc["url"] == url
    assert [c["name"] for c in doc["checks"]] == CHECKS
    for check in doc["checks"]:
        assert check["status"] in ("ok", "warn", "degraded", "down") and check["detail"]
    catalog = doc["checks"][-1]
    assert {"snapshot", "oldest_as_of", "newest_as_of", "age_days", "max_age_days",
            "oldest_price"} <= set(catalog)
    assert catalog["max_age_days"] == 100000


# --- a real server --------------------------------------------------------------------------


def test_healthy_against_a_real_serve_then_down_when_it_stops(tmp_path, monkeypatch, capsys):
    url = f"sqlite+aiosqlite:///{tmp_path}/hc.db"
    api = serve("api", base_env(url, **SERVED_ANY_AGE), tmp_path)
    with logs_on_failure([api]):
        try:
            asyncio.run(ready([api], [api]))
            monkeypatch.setenv("DATABASE_URL", url)
            code, out, err = run(capsys, "--url", api.url, *ANY_AGE)
            assert (code, err) == (0, ""), out
            lines = out.splitlines()
            assert all(line.startswith("ok ") for line in lines[:-1]) and lines[-1] == "healthy"
            assert lines[1] == ("ok        api-ready  ready: database ok, cache (memory) ok, "
                                "broker ok, catalog ok")
            assert "at migration" in lines[2] and "(head)" in lines[2]
            # a stale catalog is a warning: exit 0, said on its line and on the last
            code, out, err = run(capsys, "--url", api.url, "--catalog-max-age-days", "1")
            assert (code, err) == (0, ""), out
            lines = out.splitlines()
            assert lines[-1] == "warn: catalog"
            assert lines[-2].startswith("warn      catalog    ")
            assert "(limit 1)" in lines[-2] and "dated " in lines[-2]
        finally:
            api.stop()
        code, out, _ = run(capsys, "--url", api.url, "--timeout", "2", *ANY_AGE)
        assert code == 1 and out.splitlines()[-1] == "down: api, api-ready"


def test_redis_workers_and_broker_against_real_processes(tmp_path, monkeypatch, capsys):
    with redis_namespace() as space:
        url = f"sqlite+aiosqlite:///{tmp_path}/hc.db"
        env = base_env(url, space, **SERVED_ANY_AGE)
        api = serve("api", env, tmp_path)
        procs = [api]
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("REDIS_URL", space.url)
        monkeypatch.setenv("REDIS_NAMESPACE", space.prefix)
        try:
            with logs_on_failure(procs):
                asyncio.run(ready([api], procs))
                procs.append(start("worker", ["worker"], env, tmp_path))
                asyncio.run(ready([api], procs, redis_url=space.url, readers=1))
                code, out, _ = run(capsys, "--url", api.url, *ANY_AGE)
                assert code == 0, out
                by_name = {line.split()[1]: line for line in out.splitlines()[:-1]}
                assert by_name["redis"].startswith("ok        redis      127.0.0.1: PING in")
                assert space.stream == f"{space.prefix}infra-mind:tasks"
                assert by_name["broker"].startswith("ok        broker     stream "
                                                    f"{space.stream}: ")
                assert by_name["workers"].startswith("ok        workers    1 seen in the last "
                                                     "120 s: ")
                code, out, _ = run(capsys, "--url", api.url, "--json", *ANY_AGE)
                workers = next(c for c in json.loads(out)["checks"] if c["name"] == "workers")
                # taskiq's worker process, a child of the `infra-mind worker` process
                assert [group_name(pid_of_worker_id(w["id"] + ":x"), procs)
                        for w in workers["workers"]] == ["worker"]
                procs[1].stop()  # a clean stop removes the worker's record at once
                code, out, _ = run(capsys, "--url", api.url, *ANY_AGE)
                assert code == 1 and out.splitlines()[-1] == "down: workers"
                assert "no worker seen in the last 120 s: start `infra-mind worker`" in out
        finally:
            for proc in procs:
                proc.stop()


# --- the checks -----------------------------------------------------------------------------


async def test_database_sqlite_missing_empty_behind_and_current(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/db.sqlite"
    assert (await check_database(url)).status == "down"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0001")
    behind = await check_database(url)
    assert behind.status == "degraded"
    assert behind.detail.startswith(f"{tmp_path}/db.sqlite: at migration 0001, head ")
    assert behind.detail.endswith("pending: run `infra-mind migrate`)")
    await asyncio.to_thread(upgrade, url)
    current = await check_database(url)
    assert current.status == "ok" and current.data["pending"] == []
    assert current.data["migration"] == current.data["head"]


def test_database_postgresql_empty_then_current():
    with fresh_pg_database("im_health") as url:
        empty = asyncio.run(check_database(url))
        assert empty.status == "down" and empty.detail.endswith(
            "answers, but no tables: run `infra-mind migrate`")
        assert "postgres@" not in empty.detail  # no credentials in the line
        upgrade(url)
        assert asyncio.run(check_database(url)).status == "ok"
    gone = asyncio.run(check_database("postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    assert gone.status == "down" and gone.detail.startswith("127.0.0.1:1/none: ")


def test_catalog_age_is_the_oldest_price_the_engine_designs_with():
    from infra_mind.catalog.coverage import describe, staleness
    from infra_mind.catalog.store import Catalog

    oldest = staleness(Catalog.load(), 400).oldest
    assert oldest is not None
    at_limit = check_catalog(400, today=oldest.as_of + timedelta(days=400))
    assert at_limit.status == "ok" and at_limit.data["age_days"] == 400
    stale = check_catalog(400, today=oldest.as_of + timedelta(days=401))
    assert stale.status == "warn" and stale.data["age_days"] == 401
    assert stale.data["oldest_as_of"] == oldest.as_of.isoformat()
    assert stale.data["oldest_price"] == describe(oldest)
    assert "oldest price the engine designs with 401 days old (limit 400): " in stale.detail
    assert describe(oldest) in stale.detail  # which price is the oldest
    assert stale.detail.endswith("`infra-mind catalog refresh` renews machine prices, the "
                                 "others come with a newer snapshot")
    # a fresh newest price does not hide an old one (it did: "ok" at 1,337 days)
    newest = date.fromisoformat(stale.data["newest_as_of"])
    assert newest > oldest.as_of + timedelta(days=400)
    assert check_catalog(400, today=newest).status == "warn"


def test_a_warning_is_not_a_failure():
    from infra_mind.ops.health import Check, overall

    ok, warn = Check("a", "ok", "x"), Check("b", "warn", "y")
    assert overall([ok, warn]) == "warn"
    assert overall([warn, Check("c", "degraded", "z")]) == "degraded"
    assert overall([warn, Check("d", "down", "z")]) == "down"
    assert overall([ok]) == "ok"


def test_the_setting_sets_the_default_limit(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/none.db")
    monkeypatch.setenv("CATALOG_MAX_AGE_DAYS", "36500")
    _, out, _ = run(capsys, "--url", f"http://127.0.0.1:{free_port()}", "--json")
    catalog = json.loads(out)["checks"][-1]
    assert (catalog["status"], catalog["max_age_days"]) == ("ok", 36500)
    monkeypatch.setenv("CATALOG_MAX_AGE_DAYS", "1")
    code, out, _ = run(capsys, "--url", f"http://127.0.0.1:{free_port()}", "--json")
    catalog = json.loads(out)["checks"][-1]
    assert (catalog["status"], catalog["max_age_days"]) == ("warn", 1)
    # nothing listens and there is no database: a warning never hides a failure
    assert (code, json.loads(out)["status"]) == (1, "down")


# --- worker presence ------------------------------------------------------------------------


async def test_an_in_process_app_is_seen_as_a_worker_until_it_stops(settings):
    from infra_mind.api.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        cache = app.state.platform.cache
        seen = await seen_processes(cache)
        assert [(r["id"], r["role"], r["runs_tasks"], r["pid"]) for r in seen] == [
            (process_id(), "api", True, os.getpid())]
        check = await check_workers(cache, shared=False)
        assert check.status == "ok"
        assert check.detail.startswith(f"1 seen in the last 120 s: {process_id()} (api, ")
    assert await seen_processes(cache) == []  # removed on shutdown


async def test_a_record_expires_after_its_ttl():
    clock = Clock()
    cache = MemoryCache(clock=clock)
    presence = Presence(SimpleNamespace(cache=cache, agents=None), "worker",  # type: ignore[arg-type]
                        runs_tasks=True, ttl_s=120)
    await presence.beat()
    assert [r["role"] for r in await seen_processes(cache)] == ["worker"]
    clock.now += 121  # the process died without a word
    assert await seen_processes(cache) == []
    check = await check_workers(cache, shared=True)
    assert (check.status, check.detail) == (
        "down", "no worker seen in the last 120 s: start `infra-mind worker`")


async def test_the_heartbeat_repeats_and_publishes_circuits():
    from infra_mind.agents.llm import CircuitBreaker

    breaker = CircuitBreaker(failure_threshold=1)
    breaker.record_failure()
    platform = SimpleNamespace(cache=MemoryCache(), agents=SimpleNamespace(
        breakers={"openai": breaker}))
    presence = await start_presence(platform, "worker", interval_s=0.05)  # type: ignore[arg-type]
    try:
        first = (await seen_processes(platform.cache))[0]["seen_at"]
        await asyncio.sleep(0.2)
        again = (await seen_processes(platform.cache))[0]
        assert again["seen_at"] > first and again["circuits"] == {"openai": "open"}
    finally:
        await presence.stop()


async def test_records_expire_on_redis():
    cache = await redis_cache_or_skip()  # its keys are deleted after the test
    try:
        presence = Presence(SimpleNamespace(cache=cache, agents=None), "worker",  # type: ignore[arg-type]
                            runs_tasks=True, ttl_s=1)
        await presence.beat()
        assert [r["id"] for r in await seen_processes(cache)] == [presence.id]
        deadline = time.monotonic() + 5
        while await seen_processes(cache) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert await seen_processes(cache) == []
    finally:
        await cache.close()
