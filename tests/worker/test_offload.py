"""A run's pure, CPU-bound steps leave the event loop (issue #14).

Before, a run's engine call ran in a thread of the process running it (sharing its GIL
with the event loop: one worker process used 0.92 of a core, and in-process runs slowed
the API's requests), and the number guard's figures were computed on the loop itself, once
per agent, even offline where nothing reads them. Now:

- a worker's (or, without ``REDIS_URL``, the API process's) runs send the engine call to
  the process's engine processes (``kit.compute``, the pool what-ifs use), and the result
  is the one the engine gives in this process;
- an error that cannot travel back from an engine process is replaced by one that can,
  and the pool goes on;
- the figures are computed once per run, with the engine's result, only when a model
  writes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
import yaml
from sqlalchemy import select

import infra_mind.engine.assess as engine_assess
from infra_mind.agents.config import AgentsConfig
from infra_mind.agents.graph import in_thread
from infra_mind.agents.runtime import AgentRuntime
from infra_mind.config import LLMSettings
from infra_mind.kit.compute import EngineBudget, engine_budget
from infra_mind.models import AssessmentResultRow
from infra_mind.observability.metrics import Metrics
from infra_mind.worker import tasks
from tests.api.helpers import REQUIREMENTS, create_assessment, create_member
from tests.fake_llm import echo_facts, serve_fake

BASE = "/api/v1/assessments"
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


class Unpicklable(Exception):
    """An error whose pickled form does not load (its constructor wants two arguments)."""

    def __init__(self, what: str, where: str) -> None:
        super().__init__(f"{what} at {where}")


def raise_unpicklable() -> None:
    raise Unpicklable("bad price", "row 7")


async def test_a_runs_engine_call_is_computed_in_an_engine_process(app, client, held,
                                                                    monkeypatch):
    platform = app.state.platform
    submitted: list[str] = []
    real = EngineBudget.submit

    def spy(self: EngineBudget, fn: Any, *args: Any):
        submitted.append(f"{fn.__module__}.{fn.__qualname__}")
        return real(self, fn, *args)

    monkeypatch.setattr(EngineBudget, "submit", spy)
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    assert (await client.post(f"{BASE}/{aid}/run", headers=owner.headers)).status_code == 202
    assert await tasks.run_assessment(aid) == "completed"
    # offline: the engine's call only (no figures), in the pool what-ifs use
    assert submitted == ["infra_mind.agents.compute.assessed"]
    settings = platform.settings
    budget = engine_budget(settings.engine_processes, settings.engine_queue)
    assert await budget.run(os.getpid) != os.getpid()
    assert budget.in_flight == 0  # runs never hold what-ifs' admission slots
    async with platform.sessions() as session:
        stored = await session.scalar(select(AssessmentResultRow.result)
                                      .where(AssessmentResultRow.assessment_id == aid))
    here = engine_assess.assess(REQUIREMENTS).model_dump(mode="json")
    assert {k: v for k, v in stored.items() if k not in ("narrative", "llm_usage")} == here


async def test_an_error_that_cannot_travel_back_does_not_break_the_pool(app):
    settings = app.state.platform.settings
    budget = engine_budget(settings.engine_processes, settings.engine_queue)
    with pytest.raises(RuntimeError) as raised:
        await budget.run(raise_unpicklable)
    assert str(raised.value) == "Unpicklable: bad price at row 7"
    assert await budget.run(os.getpid) != os.getpid()  # the same pool answers


#: A process that starts an engine process, prints its pid, and waits to be killed.
ENGINE_PARENT = """
import asyncio, os
from infra_mind.kit.compute import engine_budget

async def main():
    print(await engine_budget(1, 0).run(os.getpid), flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


def test_an_engine_process_ends_when_its_parent_is_killed():
    """A pool's process outlived a parent killed with SIGKILL (the OOM killer, say),
    idle for ever, an engine process per dead worker process."""
    parent = subprocess.Popen([sys.executable, "-c", ENGINE_PARENT], stdout=subprocess.PIPE,
                              text=True)
    child = None
    try:
        child = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 30
        while _alive(child):
            assert time.monotonic() < deadline, f"engine process {child} outlived its parent"
            time.sleep(0.1)
    finally:
        parent.kill()
        parent.wait(10)
        parent.stdout.close()
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)


def test_an_engine_process_whose_parent_died_while_it_started_ends():
    """Spawning one takes a second; a parent killed meanwhile (a run process stopped by a
    test right after its first run was sent) had left it to init, and an engine process
    that asked who its parent was once started waited on init for ever. It is told."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(10)  # a pid that no longer runs, as the parent's had
    started = subprocess.Popen([sys.executable, "-c", (
        "import time\n"
        "from infra_mind.kit.compute import _engine_process_start\n"
        f"_engine_process_start(30, parent={gone.pid})\n"
        "time.sleep(60)\n")])
    try:
        assert started.wait(30) == 0
    finally:
        started.kill()
        started.wait(10)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, reparented and not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Recording:
    """An offload that computes in a thread and records what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def __call__(self, fn: Any, *args: Any) -> Any:
        self.calls.append((fn.__name__, args))
        return await in_thread(fn, *args)


async def test_figures_are_computed_once_and_only_when_a_model_writes():
    with open(os.path.join(EXAMPLES, "saas-startup.yaml")) as f:
        saas = yaml.safe_load(f)
    offline = Recording()
    runtime = AgentRuntime(AgentsConfig(), settings=LLMSettings.from_env({}), metrics=Metrics(),
                           offload=offline)
    try:
        await runtime.advise(saas, thread_id="offline")
    finally:
        await runtime.aclose()
    assert [(name, args[2]) for name, args in offline.calls] == [("assessed", False)]

    online = Recording()
    with serve_fake(responder=echo_facts) as openai:
        runtime = AgentRuntime(AgentsConfig(), settings=LLMSettings.from_env(
            {"OPENAI_BASE_URL": openai.base_url_openai}),
                               metrics=Metrics(), offload=online)
        try:
            advice = await runtime.advise(saas, thread_id="online")
        finally:
            await runtime.aclose()
    # five agents check a model's numbers against one computation of the figures
    assert [(name, args[2]) for name, args in online.calls] == [("assessed", True)]
    checked = [s for agent in advice["narrative"].values() for s in agent.values()]
    assert {s["number_check"] for s in checked} == {"passed"}
