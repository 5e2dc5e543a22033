"""The agents as a LangGraph graph: research -> (cloud_engineer | compliance | mlops) -> cto
-> report_writer.

``research`` runs the engine (the only source of figures) and writes about the catalog and
alternatives; the three specialists then run in the same step, concurrently (``mlops`` only
when the requirements have ML workloads); ``cto`` waits for all of them; ``report_writer``
writes the reports' openings. Within an agent, sections are written concurrently, so the
run's wall time follows its critical path, not the sum of its model calls.

The state is checkpointed after every step (``durability="sync"``): a process killed mid-run
resumes from the last finished step when the same thread is run again, and the steps that
finished are not run (or paid for) twice.
"""

from __future__ import annotations

import asyncio
import operator
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy as NodeRetryPolicy

import infra_mind.engine.assess as engine_assess
from infra_mind.agents.config import AgentsConfig
from infra_mind.agents.narrative import AGENTS
from infra_mind.agents.numbers import figures_of
from infra_mind.agents.sections import has_ml, sections_of
from infra_mind.agents.writer import RunBudget, SectionWriter
from infra_mind.catalog.store import Catalog
from infra_mind.engine.load import RequirementsError
from infra_mind.engine.result import AssessmentResult
from infra_mind.observability.metrics import Metrics
from infra_mind.observability.tracing import traced

#: Called with (agent, "started" | "finished") as agents start and finish.
Progress = Callable[[str, str], Awaitable[None]]


class StopRun(Exception):
    """Raised (by a progress callback, say) to stop the run at once: never retried."""


def _merge(left: dict | None, right: dict | None) -> dict:
    return {**(left or {}), **(right or {})}


class AdviceState(TypedDict, total=False):
    requirements: dict[str, Any]
    #: The engine's AssessmentResult as JSON (written once, by research).
    result: dict[str, Any]
    #: {agent: {section_key: Section as JSON}}; agents write their own key concurrently.
    narrative: Annotated[dict[str, Any], _merge]
    #: One record per provider attempt (see ``writer.attempt_record``).
    calls: Annotated[list[dict[str, Any]], operator.add]
    #: {agent, seconds} per finished agent.
    timings: Annotated[list[dict[str, Any]], operator.add]


@dataclass
class RunContext:
    """What the nodes of one run share in this process (not checkpointed)."""

    writer: SectionWriter
    config: AgentsConfig
    catalog: Catalog | None
    metrics: Metrics | None
    progress: Progress | None
    budget: RunBudget | None = None

    def budget_for(self, state: AdviceState) -> RunBudget:
        if self.budget is None:  # the first node run in this process: count what came before
            self.budget = RunBudget.from_records(self.config.limits, state.get("calls", []))
        return self.budget


async def _write_agent(ctx: RunContext, agent: str, state: AdviceState,
                       result_json: dict[str, Any]) -> dict[str, Any]:
    result = AssessmentResult.model_validate(result_json)
    deadline = time.monotonic() + ctx.config.agent(agent).node_timeout_s
    budget = ctx.budget_for(state)
    figures = figures_of(result_json)
    written = await asyncio.gather(*(ctx.writer.write(spec, result, figures, budget, deadline)
                                     for spec in sections_of(agent)))
    sections = {section.key: section.model_dump(mode="json") for section, _ in written}
    calls = [record for _, records in written for record in records]
    return {"narrative": {agent: sections}, "calls": calls}


def _node(ctx: RunContext, agent: str,
          body: Callable[[AdviceState], Awaitable[dict[str, Any]]]
          ) -> Callable[[AdviceState], Awaitable[dict[str, Any]]]:
    async def run(state: AdviceState) -> dict[str, Any]:
        if ctx.progress is not None:
            await ctx.progress(agent, "started")
        started = time.perf_counter()
        status = "error"
        with traced(f"agent {agent}", {"gen_ai.agent.name": agent}) as span:
            try:
                update = await body(state)
                status = "ok"
            finally:
                span.set_attribute("infra_mind.agent.status", status)
                seconds = time.perf_counter() - started
                if ctx.metrics is not None:
                    ctx.metrics.agent_runs.labels(agent=agent, status=status).inc()
                    ctx.metrics.agent_duration.labels(agent=agent, status=status).observe(
                        seconds)
                if ctx.progress is not None:
                    await ctx.progress(agent, "finished")
        return {**update, "timings": [{"agent": agent, "seconds": round(seconds, 3)}]}

    run.__name__ = agent
    return run


def build_graph(ctx: RunContext, checkpointer: BaseCheckpointSaver | None):
    async def research(state: AdviceState) -> dict[str, Any]:
        result_json = state.get("result")
        if result_json is None:
            try:
                result = await asyncio.to_thread(engine_assess.assess, state["requirements"],
                                                 ctx.catalog)
            except Exception as exc:
                exc.infra_mind_final = True  # type: ignore[attr-defined]  # pure: no retry
                raise
            result_json = result.model_dump(mode="json")
        update = await _write_agent(ctx, "research", state, result_json)
        return {**update, "result": result_json}

    def specialist(agent: str) -> Callable[[AdviceState], Awaitable[dict[str, Any]]]:
        async def body(state: AdviceState) -> dict[str, Any]:
            return await _write_agent(ctx, agent, state, state["result"])
        return body

    def after_research(state: AdviceState) -> list[str]:
        result = AssessmentResult.model_validate(state["result"])
        return ["cloud_engineer", "compliance"] + (["mlops"] if has_ml(result) else [])

    graph = StateGraph(AdviceState)
    for agent in AGENTS:
        body = research if agent == "research" else specialist(agent)
        retries = ctx.config.agent(agent).node_retries
        graph.add_node(agent, _node(ctx, agent, body),
                       retry_policy=NodeRetryPolicy(max_attempts=1 + retries,
                                                    initial_interval=0.5, retry_on=_retryable))
    graph.add_edge(START, "research")
    graph.add_conditional_edges("research", after_research,
                                ["cloud_engineer", "compliance", "mlops"])
    for agent in ("cloud_engineer", "compliance", "mlops"):
        graph.add_edge(agent, "cto")
    graph.add_edge("cto", "report_writer")
    graph.add_edge("report_writer", END)
    return graph.compile(checkpointer=checkpointer)


def _retryable(exc: Exception) -> bool:
    """Node failures worth another attempt: not bad input, not the engine (it is pure), not
    programming errors, not a stop."""
    if getattr(exc, "infra_mind_final", False):
        return False
    return not isinstance(exc, StopRun | RequirementsError | ValueError | TypeError | KeyError)


async def run_graph(graph, requirements: dict[str, Any], thread_id: str) -> AdviceState:
    """Run (or resume, or return the finished state of) the thread ``thread_id``."""
    config = {"configurable": {"thread_id": thread_id}}
    snapshot = await graph.aget_state(config)
    if snapshot.next:  # an earlier process stopped mid-run: carry on from its checkpoint
        return await graph.ainvoke(None, config, durability="sync")
    if snapshot.values.get("narrative", {}).get("report_writer"):
        return snapshot.values  # finished, but its result was not stored: do not run again
    return await graph.ainvoke({"requirements": requirements}, config, durability="sync")
