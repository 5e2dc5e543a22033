"""An organization's own LLM keys in its runs: the organization's key for a provider first,
the server's next, then the next provider, offline last; the keys themselves never in a log
line, a checkpoint, a result or ``llm_usage``.

The providers are local servers speaking the OpenAI and Anthropic wire formats; what each
received in its ``Authorization`` / ``x-api-key`` header is what is checked.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiosqlite
import pytest
import yaml

from infra_mind.agents.config import AgentsConfig, BreakerSettings, ModelPrice
from infra_mind.agents.providers import OrganizationKeys, configured_providers, server_keys
from infra_mind.agents.runtime import AgentRuntime
from infra_mind.config import LLMSettings, load_settings
from infra_mind.kit.retry import RetryPolicy
from tests.fake_llm import echo_facts, serve_fake

SAAS = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "examples" / "saas-startup.yaml").read_text())
PRICES = [ModelPrice(model="gpt-4.1-mini", input_per_1m_usd=0.4, output_per_1m_usd=1.6,
                     source="test", as_of="2026-11-28")]
SERVER_KEY = "sk-server-0000-never-shown-aaaa"
ORG_KEY = "sk-org-acme-1111-never-shown-bbbb"
ORG_ANTHROPIC_KEY = "sk-ant-org-acme-2222-never-shown"
ACME = "acme-org-id"
GLOBEX = "globex-org-id"


def runtime(*, openai=None, anthropic=None, keys=None, order="openai,anthropic,offline",
            checkpoint_url: str | None = None, config: AgentsConfig | None = None
            ) -> AgentRuntime:
    env = {"LLM_PROVIDER_ORDER": order}
    if openai is not None:
        env["OPENAI_BASE_URL"] = openai.base_url_openai
    if anthropic is not None:
        env["ANTHROPIC_BASE_URL"] = anthropic.base_url_anthropic
    return AgentRuntime(config or AgentsConfig(prices=PRICES), settings=LLMSettings.from_env(env),
                        keys=keys or {}, retry=RetryPolicy(max_attempts=1),
                        checkpoint_url=checkpoint_url)


def bearer_keys(fake) -> list[str]:
    return [r.headers.get("authorization", "").removeprefix("Bearer ") for r in fake.requests]


def sections(advice: dict) -> list[dict]:
    return [s for agent in advice["narrative"].values() for s in agent.values()]


async def test_an_organizations_key_goes_with_its_run_and_the_servers_with_anothers():
    with serve_fake(responder=echo_facts) as openai:
        rt = runtime(openai=openai, keys={"openai": SERVER_KEY})
        try:
            acme = await rt.advise(SAAS, thread_id="acme-run",
                                   organization=OrganizationKeys(ACME, {"openai": ORG_KEY}))
            acme_calls = openai.request_count
            assert acme_calls > 0 and set(bearer_keys(openai)) == {ORG_KEY}
            # the same requirements for another organization: its own calls (answers are
            # not shared across organizations), with the server's key
            globex = await rt.advise(SAAS, thread_id="globex-run",
                                     organization=OrganizationKeys(GLOBEX, {}))
        finally:
            await rt.aclose()
        assert set(bearer_keys(openai)[acme_calls:]) == {SERVER_KEY}
        assert openai.request_count == 2 * acme_calls
    assert acme["llm_usage"]["key_sources"] == {"organization": acme["llm_usage"]["total"]}
    assert globex["llm_usage"]["key_sources"] == {"server": globex["llm_usage"]["total"]}
    assert {s["author"] for s in sections(acme)} == {"openai/gpt-4.1-mini"}


async def test_a_refused_organization_key_falls_back_to_the_servers_key_of_that_provider():
    """The organization's key first, the server's key of the same provider next."""
    with serve_fake(responder=echo_facts) as openai:
        openai.fail("401", times=1, key=ORG_KEY)  # the organization's first call refused
        rt = runtime(openai=openai, keys={"openai": SERVER_KEY})
        try:
            advice = await rt.advise(SAAS, organization=OrganizationKeys(
                ACME, {"openai": ORG_KEY}))
        finally:
            await rt.aclose()
        sent = bearer_keys(openai)
    assert sent[0] == ORG_KEY and SERVER_KEY in sent
    usage = advice["llm_usage"]["key_sources"]
    assert usage["organization"]["failures"] == 1
    assert usage["server"]["requests"] >= 1 and usage["server"]["failures"] == 0
    assert all(s["author"] == "openai/gpt-4.1-mini" for s in sections(advice))


async def test_each_organization_key_has_its_own_circuit_breaker():
    """A refused or rate-limited key opens its own breaker, never the server's (whose
    opening would turn every organization's runs away from that provider); a rotated key
    starts with a closed one."""
    config = AgentsConfig(prices=PRICES, circuit_breaker=BreakerSettings(failure_threshold=1))
    with serve_fake(responder=echo_facts) as openai:
        rt = runtime(openai=openai, keys={"openai": SERVER_KEY}, config=config)
        try:
            chain = rt.chains_for(OrganizationKeys(ACME, {"openai": ORG_KEY}))["cto"]
            own, server = chain.routes
            assert (own.key_source, server.key_source) == ("organization", "server")
            assert chain.breakers[server.breaker_key] is rt.breakers["openai"]
            chain.breakers[own.breaker_key].record_failure()
            assert chain.breakers[own.breaker_key].state == "open"
            assert rt.breakers["openai"].state == "closed"
            # the same key in the next run: still open; a new key: its own, closed
            again = rt.chains_for(OrganizationKeys(ACME, {"openai": ORG_KEY}))["cto"]
            assert again.breakers[again.routes[0].breaker_key].state == "open"
            rotated = rt.chains_for(OrganizationKeys(ACME, {"openai": ORG_KEY + "-new"}))
            assert rotated["cto"].breakers[rotated["cto"].routes[0].breaker_key].state \
                == "closed"
        finally:
            await rt.aclose()
    assert ORG_KEY not in own.breaker_key  # named by a digest


async def test_the_organizations_anthropic_key_after_the_servers_openai():
    """The order is by provider: the server's OpenAI (failing) before the organization's
    Anthropic key, which goes in ``x-api-key``."""
    with serve_fake(responder=echo_facts) as openai, \
            serve_fake(responder=echo_facts) as anthropic:
        openai.fail("500", times=1000)
        rt = runtime(openai=openai, anthropic=anthropic, keys={"openai": SERVER_KEY})
        try:
            advice = await rt.advise(SAAS, organization=OrganizationKeys(
                ACME, {"anthropic": ORG_ANTHROPIC_KEY}))
        finally:
            await rt.aclose()
        assert {r.headers["x-api-key"] for r in anthropic.requests} == {ORG_ANTHROPIC_KEY}
        assert anthropic.request_count == len(sections(advice))
    assert {s["author"] for s in sections(advice)} == {"anthropic/claude-haiku-4-5"}


async def test_keys_are_in_no_log_line_checkpoint_or_result(tmp_path, caplog):
    """The refusing server echoes the key back (as vendors do): it is scrubbed from the
    error, and appears in no log record, no checkpoint and nothing the run returns."""
    url = f"sqlite:///{tmp_path / 'checkpoints.db'}"
    caplog.set_level(logging.DEBUG)
    with serve_fake(responder=echo_facts) as openai:
        # the organization's key, refused twice (the sections ask at once: a fault for any
        # key was met by a fallback to the server's key in one CI run in a few hundred)
        openai.fail("401", times=2, key=ORG_KEY)
        rt = runtime(openai=openai, keys={"openai": SERVER_KEY}, checkpoint_url=url)
        try:
            advice = await rt.advise(SAAS, thread_id="kept", organization=OrganizationKeys(
                ACME, {"openai": ORG_KEY}))
            saver = await rt.checkpointer()
            kept = [c async for c in saver.alist({"configurable": {"thread_id": "kept"}})]
        finally:
            await rt.aclose()
    assert kept  # the thread was not deleted: its checkpoints are all there to read
    assert advice["llm_usage"]["key_sources"]["organization"]["failures"] == 2
    said = json.dumps(advice) + repr(kept)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records)
    async with aiosqlite.connect(tmp_path / "checkpoints.db") as db:
        tables = [row[0] for row in await db.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        stored = repr([await db.execute_fetchall(f"SELECT * FROM {t}") for t in tables])
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("checkpoints.db*"))
    for key in (ORG_KEY, SERVER_KEY):
        assert key not in said and key not in logged and key not in stored
        assert key.encode() not in raw
    assert "kept" in stored  # the scan read the checkpoints it looked for the keys in
    assert repr(OrganizationKeys(ACME, {"openai": ORG_KEY})) == \
        "OrganizationKeys(organization_id='acme-org-id', providers=['openai'])"


def test_the_servers_keys_are_settings():
    settings = load_settings(environment="test", jwt_secret_key="t" * 48,
                             openai_api_key=SERVER_KEY, anthropic_api_key="  ")
    assert server_keys(settings) == {"openai": SERVER_KEY}  # a blank key is no key
    config = AgentsConfig()
    providers = configured_providers(config, LLMSettings.from_env({}), keys=server_keys(settings))
    assert list(providers) == ["openai"]
    assert SERVER_KEY not in repr(providers)


@pytest.mark.parametrize("order", ["openai,anthropic,offline", "anthropic,openai,offline"])
async def test_chat_asks_in_the_same_order(order):
    """A question about an organization's assessment: its key for the first provider of
    the order; a question with no organization: the server's."""
    reply = "Spot capacity can be reclaimed at short notice."
    with serve_fake(answer_text=reply) as openai, serve_fake(answer_text=reply) as anthropic:
        rt = runtime(openai=openai, anthropic=anthropic, order=order,
                     keys={"openai": SERVER_KEY, "anthropic": SERVER_KEY})
        try:
            own = rt.chat_completer(OrganizationKeys(
                ACME, {"openai": ORG_KEY, "anthropic": ORG_ANTHROPIC_KEY}))
            server = rt.chat_completer()
            assert own is not None and server is not None
            _, author = await own("system", "Can spot instances be interrupted?")
            await server("system", "Can spot instances be interrupted?")
        finally:
            await rt.aclose()
        sent = [r.headers.get("x-api-key") or r.headers["authorization"].removeprefix(
            "Bearer ") for r in [*openai.requests, *anthropic.requests]]
    first = order.split(",")[0]
    assert author == ("openai/gpt-4.1-mini" if first == "openai"
                      else "anthropic/claude-haiku-4-5")
    assert sent == [ORG_KEY if first == "openai" else ORG_ANTHROPIC_KEY, SERVER_KEY]
    assert (openai if first == "openai" else anthropic).request_count == 2
