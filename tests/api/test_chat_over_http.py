"""The chat's model over HTTP: ``AgentRuntime.chat_completer`` talking to a vendor on
loopback that speaks the OpenAI wire format, its answer streamed to the user as SSE.

The other chat tests put a completer on the platform, in process; these build
the app from the environment (an OpenAI key and base URL), so the question goes through
the provider chain, the HTTP client and the vendor's JSON, and back through the number
check and the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from infra_mind.api.app import create_app
from infra_mind.chat.answer import SYSTEM_PROMPT
from tests.api.helpers import Member, create_member
from tests.api.test_chat import (
    AWS_QUESTION,
    CHAT,
    aws_cost,
    completed_assessment,
    events_of,
    start,
)
from tests.fake_llm import FakeLLMServer, echo_facts, prompt_of, serve_fake

KEY = "sk-test-chat-over-http-0123456789"
_PROVIDER_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY",
                 "ANTHROPIC_BASE_URL", "LLM_PROVIDER_ORDER", "AGENTS_CONFIG", "CONFIG_DIR")

#: One database is enough: what is under test is the HTTP path to the model.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Vendor:
    """The fake vendor, answering the agents' section prompts with their own facts and
    the chat's questions with ``chat_reply(prompt)``."""

    def __init__(self, fake: FakeLLMServer) -> None:
        self.fake = fake
        self.chat_reply: Callable[[str], str] = lambda prompt: "Nothing to add."

    def respond(self, body: dict[str, Any]) -> str:
        prompt = prompt_of(body)
        return self.chat_reply(prompt) if "<user_question>" in prompt else echo_facts(body)

    def chat_requests(self) -> list[Any]:
        with self.fake.lock:
            return [r for r in self.fake.requests
                    if "<user_question>" in prompt_of(r.body)]


@pytest.fixture()
def vendor(monkeypatch) -> Iterator[Vendor]:
    for name in _PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    with serve_fake() as fake:
        v = Vendor(fake)
        fake.responder = v.respond
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url_openai)
        yield v


@pytest.fixture()
async def app(vendor, settings):
    """The app started with the vendor configured (the platform fixture's ``app`` starts
    before a test could set the environment); the vendor first, so the settings read its
    key (the server's LLM keys are settings)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def stream(client: httpx.AsyncClient, member: Member, conversation_id: str,
                 question: str) -> list[tuple[str, Any]]:
    response = await asyncio.wait_for(
        client.post(f"{CHAT}/{conversation_id}/messages/stream", headers=member.headers,
                    json={"content": question}), timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return events_of(response.text)


def answer_of(events: list[tuple[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The text the deltas carried, and the stored answer of the ``done`` event."""
    names = [name for name, _ in events]
    assert names[0] == "message" and names[-1] == "done" and set(names[1:-1]) == {"delta"}
    return "".join(data["text"] for name, data in events if name == "delta"), events[-1][1]


async def test_a_model_answer_goes_over_the_wire_and_streams_through(app, client, vendor):
    owner = await create_member(app)
    aid, result = await completed_assessment(client, owner)
    reply = f"On AWS the recommended design would cost {aws_cost(result)} a month."
    vendor.chat_reply = lambda prompt: reply
    conversation = await start(client, owner, assessment_id=aid)

    text, done = answer_of(await stream(client, owner, conversation["id"], AWS_QUESTION))

    (sent,) = vendor.chat_requests()
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    system = [m["content"] for m in sent.body["messages"] if m["role"] == "system"]
    assert system == [SYSTEM_PROMPT]
    prompt = prompt_of(sent.body)
    assert AWS_QUESTION in prompt and aws_cost(result) in prompt  # the facts went with it
    assert text == done["content"] == reply
    assert done["author"] == f"openai/{sent.body['model']}" and done["note"] == ""
    assert done["citations"] and done["citations"][0]["kind"] == "fact"
    stored = (await client.get(f"{CHAT}/{conversation['id']}", headers=owner.headers)).json()
    assert stored["messages"][-1] == done


async def test_an_invented_figure_from_the_wire_streams_the_offline_answer(app, client,
                                                                             vendor):
    owner = await create_member(app)
    aid, result = await completed_assessment(client, owner)
    vendor.chat_reply = lambda prompt: "With a reserved plan AWS costs only $999.99 a month."
    conversation = await start(client, owner, assessment_id=aid)

    text, done = answer_of(await stream(client, owner, conversation["id"], AWS_QUESTION))

    assert len(vendor.chat_requests()) == 1
    assert done["author"] == "offline" and "$999.99" in done["note"]
    assert text == done["content"] and "999.99" not in text
    assert aws_cost(result) in text  # the offline answer, from the result


async def test_a_vendor_refusing_the_key_streams_the_offline_answer(app, client, vendor):
    owner = await create_member(app)
    aid, result = await completed_assessment(client, owner)
    conversation = await start(client, owner, assessment_id=aid)
    vendor.fake.fail("401", times=5)  # more than any retry would use: 401 is not retried

    text, done = answer_of(await stream(client, owner, conversation["id"], AWS_QUESTION))

    assert done["author"] == "offline" and done["note"].startswith("the model failed")
    assert KEY not in done["note"]  # the vendor echoes the key it refused: never shown
    assert text == done["content"] and aws_cost(result) in text

