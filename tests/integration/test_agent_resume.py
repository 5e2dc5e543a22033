"""A process running an assessment is SIGKILLed mid-run; the run resumes from its
checkpoint in another process and completes once.

The agents' model is the fake OpenAI server of ``tests/fake_llm.py`` (in this test's
process), slow for the CTO's sections (``CTO_DELAY_S``), so the run sits in ``cto`` long
enough to be killed there with the CTO's requests in flight. With ``JOB_TIMEOUT_S=10`` the
sweeper of ``infra-mind serve`` requeues the silent run 10-15 s after the kill, and the next
claim runs the graph again under the same thread id: research, cloud_engineer and
compliance come from the checkpoint, cto and report_writer are run.

1. PostgreSQL + Redis: one ``serve`` (the sweeper) and two ``worker``; the worker running
   the run is killed (its whole process group) and the other one finishes it.
2. SQLite, tasks in-process: the ``serve`` running the run is killed, a new ``serve`` on the
   same database file finishes it from the checkpoint file beside the database.

The PostgreSQL case skips, with the reason, when PostgreSQL ($INFRA_MIND_TEST_PG) or Redis
($INFRA_MIND_TEST_REDIS_BROKER, default DB 14, flushed) is unreachable, unless
INFRA_MIND_REQUIRE_SERVICES=1 (CI), which makes it fail instead.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from infra_mind.agents.narrative import SECTIONS
from tests.fake_llm import FakeLLMServer, echo_facts, section_of, serve_fake
from tests.integration.procs import (
    WEB_SERVICE,
    Proc,
    RedisSpace,
    base_env,
    create_pg_database,
    drop_pg_database,
    group_name,
    logs_on_failure,
    migrate,
    ok,
    pid_of_worker_id,
    redis_namespace,
    serve,
    sign_up,
    start,
    unavailable,
    wait_ready,
)

JOB_TIMEOUT_S = 10
#: Each CTO section's answer takes this long; the others take ``OTHER_DELAY_S``.
CTO_DELAY_S = 4.0
OTHER_DELAY_S = 0.2
READY_TIMEOUT_S = 60.0
#: From the run request until the CTO's requests are all in flight.
IN_CTO_TIMEOUT_S = 60.0
#: From the kill until the run is completed.
COMPLETE_TIMEOUT_S = 90.0

#: Agents run for non-ML requirements (``mlops`` only runs for ML workloads).
AGENTS = [agent for agent in SECTIONS if agent != "mlops"]
TITLES = {title: agent for agent, sections in SECTIONS.items() for title in sections.values()}
#: Checkpointed before the kill: never asked again.
BEFORE_CTO = ("research", "cloud_engineer", "compliance")


def _slow_cto(body: dict[str, Any]) -> str:
    agent = TITLES.get(section_of(body))
    time.sleep(CTO_DELAY_S if agent == "cto" else OTHER_DELAY_S)
    return echo_facts(body)


@dataclass
class Stage:
    """The processes of one test and the fake model they ask."""

    fake: FakeLLMServer
    database_url: str
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)

    def add(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()


def _env(database_url: str, fake: FakeLLMServer, redis: RedisSpace | None) -> dict[str, str]:
    env = base_env(database_url, redis, JOB_TIMEOUT_S=str(JOB_TIMEOUT_S),
                   OPENAI_BASE_URL=fake.base_url_openai, LLM_PROVIDER_ORDER="openai,offline")
    assert len(env["JWT_SECRET_KEY"]) == 48 and "OPENAI_API_KEY" not in env
    return env


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture()
def pg_stage(tmp_path: Path) -> Iterator[Stage]:
    with redis_namespace() as space:
        try:
            name, database_url = create_pg_database("im_resume")
        except (OSError, asyncpg.PostgresError) as exc:
            unavailable("PostgreSQL", exc)
        with serve_fake(responder=_slow_cto) as fake:
            stage = Stage(fake, database_url, tmp_path, _env(database_url, fake, space))
            try:
                migrate(stage.env)
                yield stage
            finally:
                stage.stop_all()
                drop_pg_database(name)


@pytest.fixture()
def sqlite_stage(tmp_path: Path) -> Iterator[Stage]:
    database_url = f"sqlite+aiosqlite:///{tmp_path}/resume.db"
    with serve_fake(responder=_slow_cto) as fake:
        stage = Stage(fake, database_url, tmp_path, _env(database_url, fake, None))
        try:
            yield stage
        finally:
            stage.stop_all()


# -- the run ---------------------------------------------------------------------------


async def _start_run(http: httpx.AsyncClient, api: Proc, headers: dict[str, str]) -> str:
    created = ok(await http.post(f"{api.url}/api/v1/assessments", headers=headers,
                                 json={"title": "Resume me", "requirements": WEB_SERVICE}),
                 201)
    ok(await http.post(f"{api.url}/api/v1/assessments/{created['id']}/run",
                       headers=headers), 202)
    return created["id"]


def _requested(fake: FakeLLMServer) -> Counter[tuple[str, str]]:
    """(agent, section title) -> requests the fake received."""
    with fake.lock:
        titles = [section_of(r.body) for r in fake.requests]
    return Counter((TITLES.get(t, "?"), t) for t in titles)


async def _wait_in_cto(http: httpx.AsyncClient, api: Proc, headers: dict[str, str],
                       assessment_id: str, fake: FakeLLMServer) -> dict[str, Any]:
    """Until ``current_step`` names cto and every CTO section has been asked for (so the
    kill lands with the CTO's requests in flight); the assessment then."""
    deadline = time.monotonic() + IN_CTO_TIMEOUT_S
    cto = len(SECTIONS["cto"])
    while True:
        row = ok(await http.get(f"{api.url}/api/v1/assessments/{assessment_id}",
                                headers=headers), 200)
        assert row["status"] in ("queued", "running"), row
        asked = sum(n for (agent, _), n in _requested(fake).items() if agent == "cto")
        if "cto" in (row["current_step"] or "") and asked == cto:
            return row
        assert time.monotonic() < deadline, (
            f"not in cto after {IN_CTO_TIMEOUT_S} s: {row['status']} "
            f"{row['current_step']!r}, {asked} of {cto} cto sections asked")
        await asyncio.sleep(0.05)


async def _wait_completed(http: httpx.AsyncClient, api: Proc, headers: dict[str, str],
                          assessment_id: str, watch: list[Proc]) -> dict[str, Any]:
    deadline = time.monotonic() + COMPLETE_TIMEOUT_S
    while True:
        row = ok(await http.get(f"{api.url}/api/v1/assessments/{assessment_id}",
                                headers=headers), 200)
        if row["status"] == "completed":
            return row
        assert row["status"] in ("queued", "running"), row
        for proc in watch:
            assert proc.popen.poll() is None, f"{proc.name} exited with {proc.popen.poll()}"
        assert time.monotonic() < deadline, (
            f"not completed {COMPLETE_TIMEOUT_S} s after the kill: {row['status']} "
            f"{row['current_step']!r} attempts {row['attempts']} error {row['error']!r}")
        await asyncio.sleep(0.25)


def _check_result(result: dict[str, Any], fake: FakeLLMServer) -> None:
    """The stored advice is whole and written by the fake model, and the agents that
    finished before the kill were not asked again."""
    narrative = result["narrative"]
    # a set: PostgreSQL stores the result as jsonb, which does not keep the key order
    assert set(narrative) == set(AGENTS), list(narrative)
    for agent in AGENTS:
        assert set(narrative[agent]) == set(SECTIONS[agent]), (agent, list(narrative[agent]))
        for key, section in narrative[agent].items():
            assert section["author"].startswith("openai/"), (agent, key, section)
            assert section["number_check"] == "passed", (agent, key, section)

    requested = _requested(fake)
    expected = Counter()
    for agent in AGENTS:
        for title in SECTIONS[agent].values():
            # checkpointed agents once; cto twice (in flight at the kill, then again:
            # _wait_in_cto waited until all of its requests were sent); report_writer once
            expected[(agent, title)] = 2 if agent == "cto" else 1
    assert requested == expected, {k: (requested[k], expected[k])
                                   for k in requested.keys() | expected.keys()
                                   if requested[k] != expected[k]}
    assert all(requested[(agent, t)] == 1 for agent in BEFORE_CTO
               for t in SECTIONS[agent].values())

    # llm_usage comes from the call records in the graph's state: a node's records join
    # the state only when the node finishes, so the killed cto attempt's 6 requests (sent,
    # never answered to a live process) are in no checkpoint and not counted. Each section
    # was answered once by a live process: one request each.
    sections = sum(len(SECTIONS[agent]) for agent in AGENTS)
    usage = result["llm_usage"]
    assert usage["total"]["requests"] == sections, usage["total"]
    assert usage["total"]["failures"] == 0, usage["total"]
    assert usage["agents"]["cto"]["requests"] == len(SECTIONS["cto"]), usage["agents"]
    assert len(fake.requests) == sections + len(SECTIONS["cto"])


# -- PostgreSQL + Redis ----------------------------------------------------------------


async def test_worker_killed_in_cto_resumes_on_the_other_worker(pg_stage: Stage):
    with logs_on_failure(pg_stage.procs):
        await _worker_killed(pg_stage)


async def _worker_killed(stage: Stage) -> None:
    api = stage.add(serve("api", stage.env, stage.log_dir))
    workers = [stage.add(start(f"worker{i}", ["worker", "--workers", "1"], stage.env,
                               stage.log_dir)) for i in (1, 2)]
    pg = stage.database_url.replace("+asyncpg", "")
    async with httpx.AsyncClient(timeout=30) as http:
        await wait_ready(http, [api], stage.procs, READY_TIMEOUT_S, stage.env["REDIS_URL"],
                         readers=len(workers))
        headers = await sign_up(http, api.url)
        started = time.monotonic()
        assessment_id = await _start_run(http, api, headers)
        await _wait_in_cto(http, api, headers, assessment_id, stage.fake)

        first_worker_id = await _pg_value(pg, "SELECT worker_id FROM assessments "
                                              "WHERE id = $1", assessment_id)
        victim_name = group_name(pid_of_worker_id(first_worker_id), stage.procs)
        victim = next((w for w in workers if w.name == victim_name), None)
        assert victim is not None, f"run {first_worker_id} is in {victim_name}, not a worker"
        victim.kill()
        killed = time.monotonic()
        survivor = next(w for w in workers if w is not victim)

        row = await _wait_completed(http, api, headers, assessment_id, [api, survivor])
        completed = time.monotonic()
        result = ok(await http.get(f"{api.url}/api/v1/assessments/{assessment_id}/result",
                                   headers=headers), 200)

    print(f"\nPostgreSQL: killed {victim.name} {killed - started:.1f} s after the run "
          f"request; completed {completed - killed:.1f} s after the kill")
    assert row["attempts"] == 2, row
    assert result["version"] == 1
    conn = await asyncpg.connect(pg, timeout=5)
    try:
        facts = await conn.fetchrow(
            "SELECT a.status, a.attempts, a.worker_id, "
            "  (SELECT array_agg(version) FROM assessment_results r "
            "   WHERE r.assessment_id = a.id) AS versions, "
            "  (SELECT count(*) FROM checkpoints c WHERE c.thread_id LIKE a.id || ':%') "
            "   AS checkpoints "
            "FROM assessments a WHERE a.id = $1", assessment_id)
    finally:
        await conn.close()
    assert facts["status"] == "completed" and facts["attempts"] == 2, dict(facts)
    assert list(facts["versions"]) == [1], dict(facts)
    # the other worker finished it (the victim's processes are gone)
    assert group_name(pid_of_worker_id(facts["worker_id"]), stage.procs) == survivor.name
    # the stored result makes the checkpoints useless: they are deleted
    assert facts["checkpoints"] == 0, dict(facts)
    _check_result(result["result"], stage.fake)


async def _pg_value(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


# -- SQLite, in-process ----------------------------------------------------------------


async def test_serve_killed_in_cto_resumes_in_the_next_serve(sqlite_stage: Stage):
    with logs_on_failure(sqlite_stage.procs):
        await _serve_killed(sqlite_stage)


async def _serve_killed(stage: Stage) -> None:
    database = Path(stage.database_url.split(":///", 1)[1])
    first = stage.add(serve("serve1", stage.env, stage.log_dir))
    async with httpx.AsyncClient(timeout=30) as http:
        await wait_ready(http, [first], stage.procs, READY_TIMEOUT_S)
        headers = await sign_up(http, first.url)
        started = time.monotonic()
        assessment_id = await _start_run(http, first, headers)
        await _wait_in_cto(http, first, headers, assessment_id, stage.fake)
        first.kill()
        killed = time.monotonic()
        # the checkpoint file beside the database holds the run's state so far
        assert database.with_name("resume.checkpoints.db").is_file()

        second = stage.add(serve("serve2", stage.env, stage.log_dir))
        await wait_ready(http, [second], [second], READY_TIMEOUT_S)
        ready = time.monotonic()
        row = await _wait_completed(http, second, headers, assessment_id, [second])
        completed = time.monotonic()
        result = ok(await http.get(f"{second.url}/api/v1/assessments/{assessment_id}/result",
                                   headers=headers), 200)

    print(f"\nSQLite: killed serve1 {killed - started:.1f} s after the run request; serve2 "
          f"ready {ready - killed:.1f} s and the run completed {completed - killed:.1f} s "
          f"after the kill")
    assert row["attempts"] == 2, row
    assert result["version"] == 1
    with sqlite3.connect(database) as conn:
        status, attempts, worker_id = conn.execute(
            "SELECT status, attempts, worker_id FROM assessments WHERE id = ?",
            (assessment_id,)).fetchone()
        versions = [v for (v,) in conn.execute(
            "SELECT version FROM assessment_results WHERE assessment_id = ?",
            (assessment_id,))]
    assert (status, attempts, versions) == ("completed", 2, [1])
    assert group_name(pid_of_worker_id(worker_id), stage.procs) == "serve2"
    with sqlite3.connect(database.with_name("resume.checkpoints.db")) as conn:
        left = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id LIKE ?",
                            (f"{assessment_id}:%",)).fetchone()[0]
    assert left == 0, f"{left} checkpoints of the finished run remain"
    _check_result(result["result"], stage.fake)
