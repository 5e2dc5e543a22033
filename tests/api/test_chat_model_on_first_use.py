"""The chat's model is set up by the first question, not by the API's start-up.

Issue #14: the start-up built the agents' runtime (LangGraph, LangChain: some 40 MiB) only
to hand the chat its model. Now start-up reads the agents' configuration and, when a
provider is configured, leaves a factory that the first question calls; with none, the
chat is offline from the start and the runtime is never built for it. The model here is
the fake vendor on loopback speaking the OpenAI wire format.
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from infra_mind.api.app import create_app
from infra_mind.services.chat import COMPLETER_FACTORY_KEY, COMPLETER_KEY
from tests.api.helpers import create_member
from tests.fake_llm import serve_fake

CHAT = "/api/v1/chat/conversations"
#: No figure in it, so the number guard keeps it whatever the knowledge base says.
REPLY = "Spot capacity can be taken back by the provider at short notice."
QUESTION = "Can spot instances be interrupted?"
_PROVIDER_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY",
                 "ANTHROPIC_BASE_URL", "LLM_PROVIDER_ORDER", "AGENTS_CONFIG", "CONFIG_DIR")


async def _ask(app, question: str = QUESTION) -> dict:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        owner = await create_member(app)
        started = await client.post(CHAT, headers=owner.headers, json={})
        assert started.status_code == 201, started.text
        asked = await client.post(f"{CHAT}/{started.json()['id']}/messages",
                                  headers=owner.headers, json={"content": question})
        assert asked.status_code == 201, asked.text
        return asked.json()["assistant_message"]


async def test_a_configured_model_is_built_by_the_first_question(settings, monkeypatch):
    for name in _PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    with serve_fake(answer_text=REPLY) as fake:
        app = create_app(settings.model_copy(update={
            "openai_api_key": SecretStr("sk-test-0123456789abcdef"),
            "openai_base_url": fake.base_url_openai}))
        async with app.router.lifespan_context(app):
            platform = app.state.platform
            assert platform.agents is None and COMPLETER_KEY not in platform
            assert COMPLETER_FACTORY_KEY in platform
            reply = await _ask(app)
            assert reply["author"].startswith("openai/") and reply["content"] == REPLY
            assert fake.request_count == 1
            # the runtime the question built is the one runs of this process share
            assert platform.agents.chains["chatbot"] is not None
            again = await _ask(app, "What happens to a spot instance when it is reclaimed?")
            assert again["author"].startswith("openai/") and fake.request_count == 2


async def test_without_a_provider_the_chat_never_builds_the_agents(settings, monkeypatch):
    for name in _PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        platform = app.state.platform
        assert platform[COMPLETER_KEY] is None and COMPLETER_FACTORY_KEY not in platform
        reply = await _ask(app)
        assert reply["author"] == "offline" and reply["content"]
        assert platform.agents is None
