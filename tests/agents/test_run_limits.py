"""A run's limits are hard: sections written at the same time never pass ``max_llm_calls``,
``max_cost_usd`` or ``max_total_tokens`` between them.

Eight sections are written at once against a local server speaking the OpenAI wire format,
slow enough that all eight are asking together; counting calls after they answered would
let all eight through.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import yaml

from infra_mind import assess
from infra_mind.agents.budget import RunBudget
from infra_mind.agents.config import AgentsConfig, ModelPrice, RunLimits
from infra_mind.agents.numbers import figures_of
from infra_mind.agents.runtime import AgentRuntime
from infra_mind.agents.sections import SPECS
from infra_mind.config import LLMSettings
from infra_mind.kit.retry import RetryPolicy
from tests.fake_llm import echo_facts, serve_fake

SAAS = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "examples" / "saas-startup.yaml").read_text())
#: Eight sections of four agents, none of them the ML one.
EIGHT = [SPECS[k] for k in (("research", "catalog"), ("research", "alternatives"),
                            ("cloud_engineer", "architecture"), ("cloud_engineer", "sku_choices"),
                            ("compliance", "gaps"), ("compliance", "remediation_plan"),
                            ("cto", "strategy"), ("cto", "risks"))]
#: Output tokens only: the fake answers with 300 completion tokens, and each agent asks for
#: at most 300, so a call's bound and its cost are one and the same $0.003.
OUTPUT_ONLY = [ModelPrice(model="gpt-4.1-mini", input_per_1m_usd=0.0, output_per_1m_usd=10.0,
                          source="test", as_of="2026-11-28")]


def config_with(limits: RunLimits, max_tokens: int = 700) -> AgentsConfig:
    config = AgentsConfig(prices=OUTPUT_ONLY, limits=limits)
    for settings in config.agents.values():
        settings.max_tokens = max_tokens
    return config


async def write_eight(config: AgentsConfig, fake, budget: RunBudget | None = None, *,
                      one_by_one: bool = False):
    """The eight sections written concurrently (or ``one_by_one``); (sections, call
    records, budget)."""
    runtime = AgentRuntime(config, keys={}, retry=RetryPolicy(max_attempts=1),
                           settings=LLMSettings.from_env({"OPENAI_BASE_URL": fake.base_url_openai}))
    result = assess(SAAS)
    figures = figures_of(result.model_dump(mode="json"))
    budget = budget or RunBudget(config.limits, config.token_prices())
    deadline = time.monotonic() + 60
    try:
        if one_by_one:
            written = [await runtime.writer.write(spec, result, figures, budget, deadline)
                       for spec in EIGHT]
        else:
            written = await asyncio.gather(*(runtime.writer.write(
                spec, result, figures, budget, deadline) for spec in EIGHT))
    finally:
        await runtime.aclose()
    return [s for s, _ in written], [r for _, records in written for r in records], budget


async def test_three_calls_of_eight_concurrent_sections():
    with serve_fake(responder=echo_facts, latency_s=0.3) as fake:
        sections, records, budget = await write_eight(config_with(RunLimits(max_llm_calls=3)),
                                                      fake)
        assert fake.request_count == 3
    assert len(records) == budget.calls == 3
    assert sum(s.author == "openai/gpt-4.1-mini" for s in sections) == 3
    offline = [s for s in sections if s.author == "offline"]
    assert len(offline) == 5
    assert {s.note for s in offline} == {"run limit of 3 LLM calls reached"}


async def test_the_cost_limit_holds_exactly():
    """Each call may cost (and costs) $0.003; a $0.009 limit lets exactly three through."""
    config = config_with(RunLimits(max_cost_usd=0.009), max_tokens=300)
    with serve_fake(responder=echo_facts, latency_s=0.3) as fake:
        sections, records, budget = await write_eight(config, fake)
        assert fake.request_count == 3
    assert sum(r["cost_usd"] for r in records) == pytest.approx(0.009)
    assert budget.cost_usd == pytest.approx(0.009) and budget.cost_usd <= 0.009 + 1e-9
    notes = [s.note for s in sections if s.author == "offline"]
    assert len(notes) == 5 and all(n.startswith("run limit of $0.01 reached") for n in notes)


async def test_a_call_that_could_pass_the_cost_limit_is_not_made():
    """A call is reserved at the most it could cost (every token of ``max_tokens``), though
    the fake then answers with fewer: while one is in flight, a limit with room for one
    such call takes no second."""
    config = config_with(RunLimits(max_cost_usd=0.0069), max_tokens=600)  # bound $0.006
    with serve_fake(responder=echo_facts, latency_s=0.3) as fake:
        _, records, budget = await write_eight(config, fake)
        assert fake.request_count == 1
    assert records[0]["cost_usd"] == pytest.approx(0.003)  # what it did cost
    assert budget.cost_usd == pytest.approx(0.003)


async def test_the_token_limit_holds_with_calls_in_flight():
    """Calls count 1,500 tokens each; eight at once would spend 12,000 of a 10,000 limit."""
    config = config_with(RunLimits(max_total_tokens=10_000))
    with serve_fake(responder=echo_facts, latency_s=0.3) as fake:
        sections, records, budget = await write_eight(config, fake)
        made = fake.request_count
    assert 1 <= made < 8 and len(records) == made
    assert sum(r["input_tokens"] + r["output_tokens"] for r in records) == budget.tokens
    assert budget.tokens <= 10_000
    assert any(s.note.startswith("run limit of 10000 tokens reached") for s in sections)


async def test_a_failed_call_counts_as_a_call_and_releases_its_cost():
    """Failed calls were sent: they count against ``max_llm_calls`` (as ``llm_usage``
    counts them), and what they held of the cost limit is given back. Held, the two
    failures' $0.006 would have refused the third call; uncounted, a fourth would go."""
    config = config_with(RunLimits(max_llm_calls=3, max_cost_usd=0.006), max_tokens=300)
    with serve_fake(responder=echo_facts) as fake:
        fake.fail("400", times=2)  # not retried: two sections fail, two calls spent
        sections, records, budget = await write_eight(config, fake, one_by_one=True)
        assert fake.request_count == 3
    assert [r["status"] for r in records] == ["error", "error", "ok"]
    assert budget.calls == 3 and budget.cost_usd == pytest.approx(0.003)
    assert [s.author for s in sections][:3] == ["offline", "offline", "openai/gpt-4.1-mini"]
    assert {s.note for s in sections[3:]} == {"run limit of 3 LLM calls reached"}


async def test_a_resumed_run_keeps_what_it_spent():
    """Calls made before a resume (in the checkpointed state) count against the limit."""
    earlier = [{"agent": "research", "section": "catalog", "provider": "openai",
                "model": "gpt-4.1-mini", "status": "ok", "input_tokens": 1200,
                "output_tokens": 300, "cost_usd": 0.003, "priced": True, "latency_s": 0.1}]
    config = config_with(RunLimits(max_llm_calls=3))
    budget = RunBudget.from_records(config.limits, earlier * 2, config.token_prices())
    with serve_fake(responder=echo_facts, latency_s=0.3) as fake:
        _, _, budget = await write_eight(config, fake, budget)
        assert fake.request_count == 1
    assert budget.calls == 3
