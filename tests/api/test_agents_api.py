"""An assessment run through the API with LLM providers on loopback (OpenAI and Anthropic
wire formats): the first provider fails, the second writes, tokens are accounted."""

from __future__ import annotations

import pytest

from infra_mind.agents.narrative import SECTIONS
from tests.api.helpers import create_assessment, create_member, wait_for_status
from tests.fake_llm import echo_facts, prompt_of, serve_fake

BASE = "/api/v1/assessments"


@pytest.fixture()
def providers(monkeypatch):
    """OpenAI failing with 500 on every call, Anthropic answering; the app reads the
    environment when it starts, so tests ask for this fixture before ``app``."""
    with serve_fake(responder=echo_facts) as openai, \
            serve_fake(responder=echo_facts) as anthropic:
        openai.fail("500", times=10_000)
        monkeypatch.setenv("OPENAI_BASE_URL", openai.base_url_openai)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic.base_url_anthropic)
        monkeypatch.setenv("LLM_PROVIDER_ORDER", "openai,anthropic,offline")
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        yield openai, anthropic


async def test_run_falls_back_to_the_second_provider_and_accounts_tokens(providers, app,
                                                                         client):
    openai, anthropic = providers
    owner = await create_member(app)
    created = await create_assessment(client, owner)
    run = await client.post(f"{BASE}/{created['id']}/run", headers=owner.headers)
    assert run.status_code == 202, run.text
    done = await wait_for_status(client, owner, created["id"])
    assert done["status"] == "completed", done

    body = (await client.get(f"{BASE}/{created['id']}/result", headers=owner.headers)).json()
    result = body["result"]
    sections = [s for agent in result["narrative"].values() for s in agent.values()]
    expected = sum(len(keys) for agent, keys in SECTIONS.items() if agent != "mlops")
    assert len(sections) == expected
    assert {s["author"] for s in sections} == {"anthropic/claude-haiku-4-5"}
    usage = result["llm_usage"]
    assert usage["providers"]["anthropic"]["requests"] == expected == anthropic.request_count
    assert usage["providers"]["anthropic"]["input_tokens"] == 2000 * expected
    assert usage["providers"]["anthropic"]["output_tokens"] == 500 * expected
    assert usage["providers"]["openai"]["failures"] == usage["providers"]["openai"]["requests"]
    assert usage["providers"]["openai"]["requests"] == openai.request_count > 0
    assert usage["agents"]["cto"]["requests"] >= len(SECTIONS["cto"])
    # the engine's figures are untouched by the words around them
    assert result["recommended"]["monthly_cost_usd"] > 0

    metrics = app.state.platform.metrics.render().decode()  # what METRICS_PORT serves
    assert 'llm_requests_total{model="claude-haiku-4-5",provider="anthropic",status="ok"}' \
        in metrics
    assert 'agent_executions_total{agent="cto",status="ok"} 1.0' in metrics


@pytest.fixture()
def chat_model(monkeypatch):
    """One OpenAI-compatible server that answers chat prompts: plain words unless the
    question asks it to invent a price."""

    def reply(body: dict) -> str:
        if "invent" in prompt_of(body):
            return "It would cost $999.99 a month with a discount."
        return "The Google Cloud option is in the facts above, with its monthly figure."

    with serve_fake(responder=reply) as openai:
        monkeypatch.setenv("OPENAI_BASE_URL", openai.base_url_openai)
        monkeypatch.setenv("LLM_PROVIDER_ORDER", "openai,offline")
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        yield openai


async def test_chat_answers_through_the_provider_and_refuses_invented_prices(chat_model, app,
                                                                            client):
    owner = await create_member(app)
    created = await create_assessment(client, owner)
    await client.post(f"{BASE}/{created['id']}/run", headers=owner.headers)
    assert (await wait_for_status(client, owner, created["id"]))["status"] == "completed"
    conversation = await client.post("/api/v1/chat/conversations", headers=owner.headers,
                                     json={"assessment_id": created["id"]})
    assert conversation.status_code == 201, conversation.text
    url = f"/api/v1/chat/conversations/{conversation.json()['id']}/messages"

    good = await client.post(url, headers=owner.headers,
                             json={"content": "What would this cost on Google Cloud?"})
    assert good.status_code == 201, good.text
    answer = good.json()["assistant_message"]
    assert answer["author"] == "openai/gpt-4.1-mini"
    assert any(c["id"].startswith("option:gcp") for c in answer["citations"])

    bad = await client.post(url, headers=owner.headers,
                            json={"content": "Please invent a cheaper Google Cloud price"})
    refused = bad.json()["assistant_message"]
    assert refused["author"] == "offline" and "$999.99" in refused["note"]
    assert "$999.99" not in refused["content"]
    # the run's agents asked the same server; the two chat prompts carry the question
    questions = [p for p in (prompt_of(r.body) for r in chat_model.requests)
                 if "<user_question>" in p]
    assert len(questions) == 2
