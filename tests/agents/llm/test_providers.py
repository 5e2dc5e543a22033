"""Providers and the chain against a real loopback server speaking both wire formats."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from infra_mind.agents.config import AgentsConfig
from infra_mind.agents.llm import (
    AllProvidersFailed,
    AnthropicProvider,
    CircuitBreaker,
    LLMError,
    LLMProvider,
    OpenAIProvider,
    ProviderChain,
    ResponseCache,
    RetryableLLMError,
    Route,
    price_tokens,
)
from infra_mind.agents.providers import keyed_provider
from infra_mind.config import LLMSettings

OPENAI_KEY = "sk-test-secret-0123456789"
ANTHROPIC_KEY = "sk-ant-test-secret-9876543210"
PRICES = {"gpt-4o-mini": (0.15, 0.60), "claude-sonnet-4-5": (3.0, 15.0)}
CALL = {"max_tokens": 512, "temperature": 0.2, "timeout_s": 5.0}


def openai_for(server, **kwargs) -> OpenAIProvider:
    return OpenAIProvider(
        api_key=OPENAI_KEY, base_url=server.base_url_openai, prices=PRICES, **kwargs
    )


def anthropic_for(server, **kwargs) -> AnthropicProvider:
    return AnthropicProvider(
        api_key=ANTHROPIC_KEY, base_url=server.base_url_anthropic, prices=PRICES, **kwargs
    )


def chain_of(*providers, retry, clock, **kwargs) -> ProviderChain:
    models = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5"}
    routes = [Route(p, models[p.name]) for p in providers]
    return ProviderChain(routes, retry=retry, clock=clock, **kwargs)


# --- single providers -----------------------------------------------------------------------


async def test_openai_success_parses_text_usage_and_cost(openai_server):
    provider = openai_for(openai_server)
    assert isinstance(provider, LLMProvider)

    result = await provider.complete(
        "You are terse.", "Size a web tier.", model="gpt-4o-mini", **CALL
    )

    assert result.text == openai_server.answer_text
    assert (result.provider, result.model) == ("openai", "gpt-4o-mini")
    assert (result.input_tokens, result.output_tokens) == (1200, 300)
    assert result.cost_usd == pytest.approx((1200 * 0.15 + 300 * 0.60) / 1e6)
    assert result.priced and not result.cached
    assert result.latency_s >= 0
    sent = openai_server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Size a web tier."},
        ],
        "max_tokens": 512,
        "temperature": 0.2,
    }


async def test_openai_without_key_sends_no_authorization(openai_server):
    provider = OpenAIProvider(base_url=openai_server.base_url_openai)  # e.g. a local vLLM

    await provider.complete("s", "p", model="llama-3.1-8b", **CALL)

    assert "authorization" not in openai_server.requests[0].headers


async def test_anthropic_success_joins_text_blocks_and_prices_usage(anthropic_server):
    provider = anthropic_for(anthropic_server)

    result = await provider.complete(
        "You are terse.", "Size a web tier.", model="claude-sonnet-4-5", **CALL
    )

    assert result.text == anthropic_server.answer_text  # joined from two text blocks
    assert (result.provider, result.model) == ("anthropic", "claude-sonnet-4-5")
    assert (result.input_tokens, result.output_tokens) == (2000, 500)
    assert result.cost_usd == pytest.approx((2000 * 3.0 + 500 * 15.0) / 1e6)
    sent = anthropic_server.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.body == {
        "model": "claude-sonnet-4-5",
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Size a web tier."}],
        "max_tokens": 512,
        "temperature": 0.2,
    }


async def test_unknown_model_costs_nothing_and_is_marked_unpriced(openai_server):
    result = await openai_for(openai_server).complete("s", "p", model="gpt-9-unreleased", **CALL)

    assert result.cost_usd == 0.0
    assert result.priced is False
    assert result.input_tokens == 1200  # usage still counted


async def test_base_urls_come_from_the_environment(openai_server, anthropic_server):
    env = {"OPENAI_BASE_URL": openai_server.base_url_openai,
           "ANTHROPIC_BASE_URL": anthropic_server.base_url_anthropic}
    settings = LLMSettings.from_env(env)
    openai = keyed_provider(AgentsConfig(), "openai", api_key=OPENAI_KEY, settings=settings)
    anthropic = keyed_provider(AgentsConfig(), "anthropic", api_key=ANTHROPIC_KEY,
                               settings=settings)
    await openai.complete("s", "p", model="gpt-4o-mini", **CALL)
    await anthropic.complete("s", "p", model="claude-sonnet-4-5", **CALL)

    assert openai_server.request_count == 1
    assert anthropic_server.request_count == 1
    assert openai_server.requests[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert anthropic_server.requests[0].headers["x-api-key"] == ANTHROPIC_KEY
    assert OPENAI_KEY not in repr(openai) and ANTHROPIC_KEY not in repr(anthropic)


def test_default_base_urls_without_environment():
    config = AgentsConfig()
    none = LLMSettings.from_env({})
    assert keyed_provider(config, "openai", api_key=None, settings=none).base_url == \
        "https://api.openai.com/v1"
    assert keyed_provider(config, "anthropic", api_key=None, settings=none).base_url == \
        "https://api.anthropic.com"


@pytest.mark.parametrize("make", [openai_for, anthropic_for])
async def test_401_is_a_plain_error_without_the_key(make, openai_server):
    openai_server.fail("401")
    provider = make(openai_server)

    with pytest.raises(LLMError) as caught:
        await provider.complete("s", "p", model="m", **CALL)

    assert not isinstance(caught.value, RetryableLLMError)
    assert str(caught.value) == f"{provider.name}: authentication failed"


@pytest.mark.parametrize(
    ("kind", "retryable"), [("429", True), ("500", True), ("529", True), ("400", False)]
)
async def test_status_classification(kind, retryable, anthropic_server):
    anthropic_server.fail(kind)

    with pytest.raises(LLMError) as caught:
        await anthropic_for(anthropic_server).complete("s", "p", model="m", **CALL)

    assert isinstance(caught.value, RetryableLLMError) is retryable
    assert f"HTTP {kind}" in str(caught.value)
    assert "\n" not in str(caught.value)


async def test_overloaded_529_names_the_error_type(anthropic_server):
    anthropic_server.fail("529")

    with pytest.raises(RetryableLLMError, match="overloaded_error"):
        await anthropic_for(anthropic_server).complete("s", "p", model="m", **CALL)


# --- retries --------------------------------------------------------------------------------


async def test_429_waits_for_retry_after_seconds(openai_server, retry, sleeps, clock):
    openai_server.fail("429", retry_after="7")
    chain = chain_of(openai_for(openai_server), retry=retry, clock=clock)

    result = await chain.complete("s", "p")

    assert result.provider == "openai"
    assert sleeps.calls == [7.0]
    assert openai_server.request_count == 2


async def test_429_waits_for_retry_after_http_date(openai_server, retry, sleeps, clock):
    openai_server.fail("429", retry_after=formatdate(clock() + 12, usegmt=True))
    chain = chain_of(openai_for(openai_server), retry=retry, clock=clock)

    await chain.complete("s", "p")

    assert sleeps.calls == [pytest.approx(12.0)]


async def test_retry_after_beyond_the_cap_moves_on_without_waiting(
    openai_server, anthropic_server, retry, sleeps, clock
):
    openai_server.fail("429", retry_after="3600")
    chain = chain_of(
        openai_for(openai_server), anthropic_for(anthropic_server), retry=retry, clock=clock
    )

    result = await chain.complete("s", "p")

    assert result.provider == "anthropic"
    assert sleeps.calls == []
    assert openai_server.request_count == 1


async def test_500_twice_then_success_with_growing_backoff(openai_server, retry, sleeps, clock):
    openai_server.fail("500", times=2)
    chain = chain_of(openai_for(openai_server), retry=retry, clock=clock)

    result = await chain.complete("s", "p")

    assert result.text == openai_server.answer_text
    assert sleeps.calls == [0.5, 1.0]
    assert openai_server.request_count == 3
    usage = chain.usage()["openai"]
    assert (usage.requests, usage.failures, usage.input_tokens) == (3, 2, 1200)


async def test_529_overloaded_is_retried(anthropic_server, retry, sleeps, clock):
    anthropic_server.fail("529")
    chain = chain_of(anthropic_for(anthropic_server), retry=retry, clock=clock)

    result = await chain.complete("s", "p")

    assert result.provider == "anthropic"
    assert sleeps.calls == [0.5]


async def test_401_is_not_retried_and_the_chain_error_has_no_key(
    openai_server, retry, sleeps, clock
):
    openai_server.fail("401")
    chain = chain_of(openai_for(openai_server), retry=retry, clock=clock)

    with pytest.raises(AllProvidersFailed) as caught:
        await chain.complete("s", "p")

    assert openai_server.request_count == 1
    assert sleeps.calls == []
    assert caught.value.failures == ["openai: authentication failed"]
    assert OPENAI_KEY not in str(caught.value)


async def test_400_is_not_retried(openai_server, retry, sleeps, clock):
    openai_server.fail("400")
    chain = chain_of(openai_for(openai_server), retry=retry, clock=clock)

    with pytest.raises(AllProvidersFailed, match="HTTP 400"):
        await chain.complete("s", "p")

    assert openai_server.request_count == 1


async def test_timeout_is_retried_then_the_next_provider_answers(
    openai_server, anthropic_server, retry, sleeps, clock
):
    openai_server.fail("delay", times=3, delay_s=1.0)
    chain = chain_of(
        openai_for(openai_server), anthropic_for(anthropic_server), retry=retry, clock=clock
    )

    result = await chain.complete("s", "p", timeout_s=0.1)

    assert result.provider == "anthropic"
    assert openai_server.request_count == 3
    assert sleeps.calls == [0.5, 1.0]
    assert chain.usage()["openai"].failures == 3


# --- chain ----------------------------------------------------------------------------------


async def test_chain_falls_back_from_openai_to_anthropic(
    openai_server, anthropic_server, retry, clock
):
    openai_server.fail("401")
    chain = chain_of(
        openai_for(openai_server), anthropic_for(anthropic_server), retry=retry, clock=clock
    )

    result = await chain.complete("s", "p")

    assert result.provider == "anthropic"
    assert anthropic_server.requests[0].body["model"] == "claude-sonnet-4-5"


async def test_all_providers_failed_lists_one_line_per_provider(
    openai_server, anthropic_server, retry, clock
):
    openai_server.fail("401")
    anthropic_server.fail("400")
    chain = chain_of(
        openai_for(openai_server), anthropic_for(anthropic_server), retry=retry, clock=clock
    )

    with pytest.raises(AllProvidersFailed) as caught:
        await chain.complete("s", "p")

    lines = str(caught.value).splitlines()[1:]
    assert len(lines) == 2
    assert lines[0] == "openai: authentication failed"
    assert lines[1].startswith("anthropic: HTTP 400 invalid_request_error")
    assert ANTHROPIC_KEY not in str(caught.value)


async def test_circuit_opens_skips_the_provider_and_half_opens_after_reset(
    openai_server, anthropic_server, retry, clock
):
    openai_server.fail("500", times=3)
    breakers = {"openai": CircuitBreaker(failure_threshold=3, reset_after_s=30, clock=clock)}
    chain = chain_of(
        openai_for(openai_server),
        anthropic_for(anthropic_server),
        retry=retry,
        clock=clock,
        breakers=breakers,
    )

    first = await chain.complete("s", "first")
    assert first.provider == "anthropic"
    assert openai_server.request_count == 3
    assert breakers["openai"].state == CircuitBreaker.OPEN

    second = await chain.complete("s", "second")  # openai is skipped, not called
    assert second.provider == "anthropic"
    assert openai_server.request_count == 3

    clock.advance(30)
    assert breakers["openai"].state == CircuitBreaker.HALF_OPEN
    third = await chain.complete("s", "third")  # the trial call succeeds and closes it
    assert third.provider == "openai"
    assert breakers["openai"].state == CircuitBreaker.CLOSED
    assert chain.usage()["anthropic"].requests == 2


def test_circuit_breaker_reopens_when_the_half_open_trial_fails(clock):
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=10, clock=clock)
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert not breaker.allow()

    clock.advance(10)
    assert breaker.state == CircuitBreaker.HALF_OPEN and breaker.allow()
    breaker.record_failure()
    assert breaker.state == CircuitBreaker.OPEN

    clock.advance(10)
    breaker.record_success()
    assert breaker.state == CircuitBreaker.CLOSED


async def test_cache_hit_makes_no_second_http_call(openai_server, retry, clock):
    chain = chain_of(
        openai_for(openai_server), retry=retry, clock=clock, cache=ResponseCache(max_entries=8)
    )

    first = await chain.complete("s", "p")
    second = await chain.complete("s", "p")
    await chain.complete("s", "p", temperature=0.9)  # other parameters: a miss

    assert openai_server.request_count == 2
    assert not first.cached and second.cached
    assert second.text == first.text
    assert chain.cache_hits == 1
    assert chain.usage()["openai"].requests == 2


def test_cache_is_bounded_and_keyed_without_the_model():
    cache = ResponseCache(max_entries=2)
    keys = [ResponseCache.key("s", f"p{i}", max_tokens=1, temperature=0.0) for i in range(3)]
    assert len(set(keys)) == 3
    for key in keys:
        cache.put(key, object())  # type: ignore[arg-type]
    assert len(cache) == 2
    assert cache.get(keys[0]) is None


async def test_usage_totals_per_provider(openai_server, anthropic_server, retry, clock):
    chain = chain_of(
        openai_for(openai_server), anthropic_for(anthropic_server), retry=retry, clock=clock
    )
    await chain.complete("s", "one")
    await chain.complete("s", "two")
    usage = chain.usage()

    assert usage["openai"].requests == 2
    assert (usage["openai"].input_tokens, usage["openai"].output_tokens) == (2400, 600)
    assert usage["openai"].cost_usd == pytest.approx(2 * (1200 * 0.15 + 300 * 0.60) / 1e6)
    assert usage["anthropic"].requests == 0
    assert price_tokens(PRICES, "nope", 10, 10) == (0.0, False)


def test_chain_refuses_duplicate_or_missing_routes(openai_server):
    provider = openai_for(openai_server)
    with pytest.raises(ValueError):
        ProviderChain([])
    with pytest.raises(ValueError):
        ProviderChain([Route(provider, "a"), Route(provider, "b")])
