"""LLM provider calls as Prometheus series (issue #16, item 3): one count per HTTP attempt by
provider and outcome (429: ``rate_limited``) and each attempt's duration, against the loopback
fake vendor. The series are process-wide; read through a fresh ``Metrics()`` registry."""

from __future__ import annotations

from infra_mind.agents.llm import OpenAIProvider, ProviderChain, Route
from infra_mind.observability.metrics import Metrics

CALL = {"max_tokens": 64, "temperature": 0.2, "timeout_s": 5.0}


def value(registry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_a_429_then_an_answer_are_two_attempts_with_their_durations(
    openai_server, retry, clock
):
    openai_server.latency_s = 0.15
    openai_server.fail("429", retry_after="1")
    registry = Metrics().registry
    labels = {"target": "openai"}
    before = {
        outcome: value(registry, "external_api_requests_total", outcome=outcome, **labels)
        for outcome in ("ok", "rate_limited", "error")
    }
    slow_before = value(
        registry,
        "external_api_request_duration_seconds_bucket",
        outcome="ok",
        le="0.1",
        **labels,
    )
    seconds_before = value(
        registry, "external_api_request_duration_seconds_sum", outcome="ok", **labels
    )
    provider = OpenAIProvider(api_key="sk-test-0123456789", base_url=openai_server.base_url_openai)
    chain = ProviderChain([Route(provider, "gpt-4o-mini")], retry=retry, clock=clock)

    await chain.complete("s", "p")

    after = {
        outcome: value(registry, "external_api_requests_total", outcome=outcome, **labels)
        for outcome in before
    }
    assert {k: after[k] - before[k] for k in before} == {"ok": 1, "rate_limited": 1, "error": 0}
    # the answer took the fake's 0.15 s: above the 0.1 s bucket, and in the sum
    slow_after = value(
        registry,
        "external_api_request_duration_seconds_bucket",
        outcome="ok",
        le="0.1",
        **labels,
    )
    assert slow_after == slow_before
    seconds = value(registry, "external_api_request_duration_seconds_sum", outcome="ok", **labels)
    assert seconds - seconds_before >= 0.15
