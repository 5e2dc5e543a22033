"""The agents as a LangGraph graph: research -> (cloud_engineer | compliance | mlops) -> cto
-> report_writer.

``research`` runs the engine (the only source of figures) and writes about the catalog and
alternatives; the three specialists then run in the same step, concurrently (``mlops`` only
when the requirements have ML workloads); ``cto`` waits for all of them; ``report_writer``
writes the reports' openings. Within an agent, sections are written concurrently, so the
run's wall time follows its critical path, not the sum of its model calls.

The engine and the number guard's figures are pure and CPU-bound: they go to the run's
``offload`` (``agents.compute``; an engine process in a worker), and the figures are
computed once per run, only when a model writes (the offline writer never reads them).

The state is checkpointed after every step (``durability="sync"``): a process killed mid-run
resumes from the last finished step when the same thread is run again, and the steps that
finished are not run (or paid for) twice.
"""

from __future__ import annotations

import asyncio
import logging
import operator
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy as NodeRetryPolicy

from infra_mind.agents import compute
from infra_mind.agents.budget import RunBudget
from infra_mind.agents.config import AgentsConfig
from infra_mind.agents.narrative import AGENTS
from infra_mind.agents.numbers import Figures
from infra_mind.agents.offload import Offload, Progress, in_thread
from infra_mind.agents.sections import has_ml, sections_of
from infra_mind.agents.stop import StopRun
from infra_mind.agents.writer import SectionWriter, written_by
from infra_mind.catalog.store import Catalog
from infra_mind.engine.load import RequirementsError
from infra_mind.engine.result import AssessmentResult
from infra_mind.observability.logging import event
from infra_mind.observability.metrics import Metrics
from infra_mind.observability.tracing import traced

log = logging.getLogger("infra_mind.agents")

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
    #: A loaded catalog, or the snapshot the engine loads (``compute.assessed``).
    catalog: Catalog | Path | None
    metrics: Metrics | None
    progress: Progress | None
    budget: RunBudget | None = None
    offload: Offload = in_thread
    #: The result's figures, once computed (by research, or after a resume on first need).
    figures: Figures | None = None
    _figures_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def figures_for(self, result_json: dict[str, Any]) -> Figures:
        """The number guard's figures of this run's result, computed once (the agents
        that work concurrently wait for the one computation)."""
        async with self._figures_lock:
            if self.figures is None:
                self.figures = await self.offload(compute.result_figures, result_json)
            return self.figures

    def budget_for(self, state: AdviceState) -> RunBudget:
        if self.budget is None:  # the first node run in this process: count what came before
            self.budget = RunBudget.from_records(self.config.limits, state.get("calls", []),
                                                 self.config.token_prices())
        return self.budget


async def _write_agent(ctx: RunContext, agent: str, state: AdviceState,
                       result_json: dict[str, Any]) -> dict[str, Any]:
    result = AssessmentResult.model_validate(result_json)
    deadline = time.monotonic() + ctx.config.agent(agent).node_timeout_s
    budget = ctx.budget_for(state)
    # only a model's text is number-checked: offline, the figures are not needed
    figures = await ctx.figures_for(result_json) if agent in ctx.writer.chains else Figures()
    written = await asyncio.gather(*(ctx.writer.write(spec, result, figures, budget, deadline)
                                     for spec in sections_of(agent)))
    sections = {section.key: section.model_dump(mode="json") for section, _ in written}
    calls = [record for _, records in written for record in records]
    return {"narrative": {agent: sections}, "calls": calls}


def _node(agent: str, body: Callable[[RunContext, AdviceState], Awaitable[dict[str, Any]]]
          ) -> Callable[[AdviceState, Runtime[RunContext]], Awaitable[dict[str, Any]]]:
    async def run(state: AdviceState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        if ctx.progress is not None:
            await ctx.progress(agent, "started")
        started = time.perf_counter()
        status = "error"
        # the step's lines carry the run's ids (log_context), so an operator follows a run
        planned = ctx.writer.providers_for(agent)
        event(log, "agent.step.start", agent=agent, provider=planned[0], fallbacks=planned[1:])
        written: dict[str, Any] = {"provider": planned[0]}
        with traced(f"agent {agent}", {"gen_ai.agent.name": agent}) as span:
            try:
                update = await body(ctx, state)
                status = "ok"
                written = written_by(update["narrative"][agent])
            except BaseException as exc:
                written["error"] = type(exc).__name__
                raise
            finally:
                span.set_attribute("infra_mind.agent.status", status)
                seconds = time.perf_counter() - started
                event(log, "agent.step.end", agent=agent, status=status,
                      duration_s=round(seconds, 3), **written)
                if ctx.metrics is not None:
                    ctx.metrics.agent_runs.labels(agent=agent, status=status).inc()
                    ctx.metrics.agent_duration.labels(agent=agent, status=status).observe(
                        seconds)
                if ctx.progress is not None:
                    await ctx.progress(agent, "finished")
        return {**update, "timings": [{"agent": agent, "seconds": round(seconds, 3)}]}

    run.__name__ = agent
    return run


async def _research(ctx: RunContext, state: AdviceState) -> dict[str, Any]:
    result_json = state.get("result")
    if result_json is None:
        try:
            result_json, figures = await ctx.offload(
                compute.assessed, state["requirements"], ctx.catalog, bool(ctx.writer.chains))
        except BrokenExecutor:
            raise  # its engine process died (killed, out of memory): worth a retry
        except Exception as exc:
            exc.infra_mind_final = True  # type: ignore[attr-defined]  # pure: no retry
            raise
        if figures is not None:
            ctx.figures = figures
    update = await _write_agent(ctx, "research", state, result_json)
    return {**update, "result": result_json}


def _specialist(agent: str) -> Callable[[RunContext, AdviceState], Awaitable[dict[str, Any]]]:
    async def body(ctx: RunContext, state: AdviceState) -> dict[str, Any]:
        return await _write_agent(ctx, agent, state, state["result"])
    return body


def _after_research(state: AdviceState) -> list[str]:
    result = AssessmentResult.model_validate(state["result"])
    return ["cloud_engineer", "compliance"] + (["mlops"] if has_ml(result) else [])


def build_graph(config: AgentsConfig, checkpointer: BaseCheckpointSaver | None):
    """The graph, compiled once per runtime (``config`` gives each node's retries): each
    run passes its own ``RunContext`` as the graph's context (``run_graph``), which is not
    checkpointed. Compiling costs more CPU than an offline run's writing."""
    graph = StateGraph(AdviceState, context_schema=RunContext)
    for agent in AGENTS:
        body = _research if agent == "research" else _specialist(agent)
        retries = config.agent(agent).node_retries
        graph.add_node(agent, _node(agent, body),
                       retry_policy=NodeRetryPolicy(max_attempts=1 + retries,
                                                    initial_interval=0.5, retry_on=_retryable))
    graph.add_edge(START, "research")
    graph.add_conditional_edges("research", _after_research,
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


async def run_graph(graph, ctx: RunContext, requirements: dict[str, Any], thread_id: str
                    ) -> AdviceState:
    """Run (or resume, or return the finished state of) the thread ``thread_id``."""
    config = {"configurable": {"thread_id": thread_id}}
    snapshot = await graph.aget_state(config)
    if snapshot.next:  # an earlier process stopped mid-run: carry on from its checkpoint
        return await graph.ainvoke(None, config, context=ctx, durability="sync")
    if snapshot.values.get("narrative", {}).get("report_writer"):
        return snapshot.values  # finished, but its result was not stored: do not run again
    return await graph.ainvoke({"requirements": requirements}, config, context=ctx,
                               durability="sync")
