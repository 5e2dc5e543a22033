"""Every line every process writes is JSON, and a run's lines are found by its assessment id.

Real processes on loopback: ``infra-mind serve`` and ``infra-mind worker`` (taskiq's main
process and the worker process it forks, which runs the engine in spawned engine
processes) on PostgreSQL and Redis, the agents writing through a fake OpenAI-compatible
model on loopback; and ``serve`` alone, running its runs in-process. An assessment is run
to completion, the processes are stopped, and each line of their output (stdout and stderr
together) must parse as a JSON object. In those lines an operator must find, by the
assessment id alone, the run's start and end and every agent step's start and end, with
the provider that wrote it and how long it took (the model writes every agent's sections
but the compliance agent's, whose answers invent a price and are written offline, each
with a warning line saying why); by the request id the client sent, the
request; and the line that ties the run request's id to the assessment id (``run.queued``).

The engine processes of ``kit.compute`` write nothing during a healthy run; a computation
that logs and warns there shows their lines are JSON and carry the caller's ids.

Skips, with the reason, when PostgreSQL ($INFRA_MIND_TEST_PG) or Redis
($INFRA_MIND_TEST_REDIS_BROKER, default DB 14, flushed before and after) is unreachable,
unless INFRA_MIND_REQUIRE_SERVICES=1 (CI), which makes it fail instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from infra_mind.agents.narrative import SECTIONS
from infra_mind.kit.compute import EngineBudget
from infra_mind.observability.logging import configure_logging, log_context
from tests.fake_llm import FakeLLMServer, echo_facts, invents_price, section_of, serve_fake
from tests.integration.procs import (
    WEB_SERVICE,
    Proc,
    RedisSpace,
    base_env,
    create_pg_database,
    drop_pg_database,
    logs_on_failure,
    migrate,
    ok,
    redis_namespace,
    serve,
    sign_up,
    start,
    unavailable,
    wait_ready,
)

READY_TIMEOUT_S = 60.0
COMPLETE_TIMEOUT_S = 90.0
#: The agents of a run without ML workloads (``mlops`` runs only for those).
AGENTS = {agent for agent in SECTIONS if agent != "mlops"}
TITLES = {title: agent for agent, sections in SECTIONS.items() for title in sections.values()}
#: Its sections' answers invent a price: refused twice, then written offline.
INVENTING = "compliance"


def _answer(body: dict[str, Any]) -> str:
    return invents_price(body) if TITLES.get(section_of(body)) == INVENTING \
        else echo_facts(body)


@pytest.fixture()
def fake() -> Iterator[FakeLLMServer]:
    with serve_fake(responder=_answer) as server:
        yield server


@pytest.fixture()
def database() -> Iterator[str]:
    try:
        name, database_url = create_pg_database("im_logs")
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
    try:
        yield database_url
    finally:
        drop_pg_database(name)


@pytest.fixture()
def broker() -> Iterator[RedisSpace]:
    with redis_namespace() as space:
        yield space


def _env(database_url: str, fake: FakeLLMServer, redis: RedisSpace | None) -> dict[str, str]:
    env = base_env(database_url, redis, OPENAI_BASE_URL=fake.base_url_openai,
                   LLM_PROVIDER_ORDER="openai,offline")
    migrate(env)
    return env


async def _run_one(api: Proc, procs: list[Proc], readers: int,
                   redis_url: str | None) -> tuple[str, str]:
    """Run an assessment to completion through ``api``; (assessment id, the request id of
    a request sent with ``X-Request-ID``)."""
    async with httpx.AsyncClient(timeout=30) as http:
        await wait_ready(http, [api], procs, READY_TIMEOUT_S, redis_url=redis_url,
                         readers=readers)
        headers = await sign_up(http, api.url)
        aid = ok(await http.post(f"{api.url}/api/v1/assessments", headers=headers,
                                 json={"title": "Logs", "requirements": WEB_SERVICE}), 201)["id"]
        ok(await http.post(f"{api.url}/api/v1/assessments/{aid}/run", headers=headers), 202)
        deadline = time.monotonic() + COMPLETE_TIMEOUT_S
        while True:
            row = ok(await http.get(f"{api.url}/api/v1/assessments/{aid}", headers=headers),
                     200)
            if row["status"] == "completed":
                break
            assert row["status"] in ("queued", "running"), row
            assert time.monotonic() < deadline, f"not completed: {row}"
            await asyncio.sleep(0.25)
        request_id = f"it-logs-{uuid.uuid4().hex[:12]}"
        ok(await http.get(f"{api.url}/api/v1/assessments/{aid}",
                          headers={**headers, "X-Request-ID": request_id}), 200)
    return aid, request_id


def json_lines(proc: Proc) -> list[dict[str, Any]]:
    """Every line of ``proc``'s output as a JSON object; fails naming the lines that are
    not."""
    text = proc.log.read_text(errors="replace")
    docs, bad = [], []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            doc = json.loads(line)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            docs.append(doc)
        else:
            bad.append(f"{proc.name}.log:{number}: {line[:200]}")
    assert not bad, "lines that are not JSON objects:\n" + "\n".join(bad[:20])
    assert docs, f"{proc.name} wrote nothing"
    for doc in docs:
        assert {"time", "level", "logger", "pid"} <= set(doc), doc
    return docs


def check_run_lines(lines: list[dict[str, Any]], aid: str, fake: FakeLLMServer) -> None:
    """The run's lines, found by its assessment id: its start and end, each agent step's
    start and end, with provider and duration, and the sections the model did not write
    (``INVENTING``'s, which the offline writer wrote instead)."""
    run = [doc for doc in lines if doc.get("assessment_id") == aid]
    events = [doc.get("event") for doc in run]
    assert events.count("run.start") == 1 and events.count("run.end") == 1, events
    [end] = [doc for doc in run if doc.get("event") == "run.end"]
    assert end["outcome"] == "completed" and end["duration_s"] > 0, end
    starts = {doc["agent"]: doc for doc in run if doc.get("event") == "agent.step.start"}
    ends = {doc["agent"]: doc for doc in run if doc.get("event") == "agent.step.end"}
    assert set(starts) == AGENTS and set(ends) == AGENTS, (sorted(starts), sorted(ends))
    assert fake.request_count >= len(AGENTS)
    for agent in AGENTS:
        start, finish = starts[agent], ends[agent]
        assert start["provider"].startswith("openai/") and start["fallbacks"] == ["offline"]
        assert finish["status"] == "ok" and isinstance(finish["duration_s"], float)
        assert finish["duration_s"] >= 0 and set(finish["sections"]) == set(SECTIONS[agent])
        # the model asked first wrote every section whose text passed the number check
        writer = "offline" if agent == INVENTING else start["provider"]
        assert set(finish["sections"].values()) == {writer}, finish
        assert finish["provider"] == writer.split("/")[0], finish
    fallbacks = [doc for doc in run if doc.get("event") == "agent.section.offline"]
    assert {(doc["agent"], doc["section"]) for doc in fallbacks} == {
        (INVENTING, key) for key in SECTIONS[INVENTING]}, fallbacks
    for doc in fallbacks:
        assert doc["level"] == "warning" and doc["reason"] == "number_check", doc
        assert "999.99" in doc["note"] and doc["run_id"] == starts[INVENTING]["run_id"]
        # the run's other id: its agent thread, on each step's lines
        assert start["run_id"] == finish["run_id"] == starts["research"]["run_id"]
        assert start["time"] <= finish["time"]
        assert start["pid"] == finish["pid"] == end["pid"]


def check_request_lines(lines: list[dict[str, Any]], request_id: str, aid: str) -> None:
    """The request sent with ``request_id``; and the run request's, tied to the run."""
    [request] = [doc for doc in lines if doc.get("request_id") == request_id]
    assert request["event"] == "request" and request["status"] == 200
    assert request["route"] == "/api/v1/assessments/{assessment_id}", request
    [queued] = [doc for doc in lines if doc.get("event") == "run.queued"]
    assert queued["assessment_id"] == aid, queued
    [run_request] = [doc for doc in lines if doc.get("event") == "request"
                     and doc["request_id"] == queued["request_id"]]
    assert run_request["route"] == "/api/v1/assessments/{assessment_id}/run", run_request


async def test_api_and_worker_processes_log_json_and_a_run_is_found_by_its_id(
        database, broker, fake, tmp_path):
    env = _env(database, fake, broker)
    procs: list[Proc] = []
    try:
        with logs_on_failure(procs):
            api = serve("api", env, tmp_path)
            procs.append(api)
            worker = start("worker", ["worker"], env, tmp_path)
            procs.append(worker)
            aid, request_id = await _run_one(api, procs, readers=1, redis_url=broker.url)
    finally:
        for proc in procs:
            proc.stop()
    with logs_on_failure(procs):
        api_lines, worker_lines = json_lines(api), json_lines(worker)
        check_request_lines(api_lines, request_id, aid)
        assert any(doc.get("event") == "serving" for doc in api_lines)
        check_run_lines(worker_lines, aid, fake)
        assert not [doc for doc in api_lines if doc.get("assessment_id") == aid
                    and str(doc.get("event", "")).startswith("agent.")]  # the worker ran it
        # taskiq's main process (the one exec'd) and the worker process it forked: both JSON
        leader = [doc for doc in worker_lines if doc["pid"] == worker.popen.pid]
        assert any(doc["logger"].startswith("taskiq") for doc in leader), leader
        run_pid = next(doc["pid"] for doc in worker_lines if doc.get("assessment_id") == aid)
        assert run_pid != worker.popen.pid


async def test_an_api_running_runs_in_process_logs_them_by_assessment_id(
        database, fake, tmp_path):
    env = _env(database, fake, None)
    procs: list[Proc] = []
    try:
        with logs_on_failure(procs):
            api = serve("api", env, tmp_path)
            procs.append(api)
            aid, request_id = await _run_one(api, procs, readers=0, redis_url=None)
    finally:
        for proc in procs:
            proc.stop()
    with logs_on_failure(procs):
        lines = json_lines(api)
        check_request_lines(lines, request_id, aid)
        check_run_lines(lines, aid, fake)


# -- engine processes ---------------------------------------------------------------------


def logs_and_warns(note: str) -> str:
    """In an engine process: one log line and one warning."""
    logging.getLogger("infra_mind.engine").warning("engine note: %s", note)
    warnings.warn(f"engine warning: {note}", UserWarning, stacklevel=1)
    return note


@pytest.fixture()
def process_logging() -> Iterator[None]:
    """``configure_logging`` as a process calls it, undone afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, sys.excepthook, threading.excepthook
    configure_logging("INFO")
    try:
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        sys.excepthook, threading.excepthook = saved[2], saved[3]
        logging.captureWarnings(False)


async def test_engine_process_lines_are_json_and_carry_the_callers_ids(process_logging,
                                                                        capfd):
    budget = EngineBudget(processes=1, queue=0)
    try:
        with log_context(assessment_id="a-engine-1", run_id="r-engine-1"):
            assert await budget.run(logs_and_warns, "first") == "first"
    finally:
        budget.shutdown()
    err = capfd.readouterr().err
    docs = []
    for line in err.splitlines():
        doc = json.loads(line)  # a plain-text line fails here
        assert isinstance(doc, dict), line
        docs.append(doc)
    note = next(d for d in docs if d.get("message") == "engine note: first")
    warned = next(d for d in docs if "engine warning: first" in d.get("message", ""))
    for doc in (note, warned):
        assert doc["assessment_id"] == "a-engine-1" and doc["run_id"] == "r-engine-1", doc
    assert note["level"] == "warning" and warned["logger"] == "py.warnings"
