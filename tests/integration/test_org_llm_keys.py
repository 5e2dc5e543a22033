"""Organizations' own LLM keys in their runs and chat, through the API and the worker, on
SQLite and PostgreSQL.

An organization sets its OpenAI key (``PUT /organizations/{id}/secrets/openai_api_key``);
its runs send that key, another organization's runs send the server's (``OPENAI_API_KEY``
through the settings). A replaced key is what the next run sends; a deleted one gives
the server's back. The vendor is a local server speaking the OpenAI wire format, and what
it received in ``Authorization`` is what is checked; no key appears in a log record, a
stored result, an API answer or the checkpoint file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra_mind.api.app import create_app
from infra_mind.config import load_settings
from tests.api.helpers import (
    REQUIREMENTS,
    Member,
    create_assessment,
    create_member,
    wait_for_status,
)
from tests.fake_llm import FakeLLMServer, echo_facts, prompt_of, serve_fake

SERVER_KEY = "sk-server-key-0000-never-shown-aaaa"
ACME_KEY = "sk-acme-key-1111-never-shown-bbbb"
ACME_ROTATED = "sk-acme-key-2222-rotated-never-shown"
KEYS = (SERVER_KEY, ACME_KEY, ACME_ROTATED)
_PROVIDER_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY",
                 "ANTHROPIC_BASE_URL", "LLM_PROVIDER_ORDER", "AGENTS_CONFIG", "CONFIG_DIR")
QUESTION = "Can spot instances be interrupted?"


@pytest.fixture()
def vendor(monkeypatch) -> Iterator[FakeLLMServer]:
    for name in _PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)

    def respond(body: dict[str, Any]) -> str:
        if "<user_question>" in prompt_of(body):
            return "Spot capacity can be taken back by the provider at short notice."
        return echo_facts(body)

    with serve_fake(responder=respond) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url_openai)
        monkeypatch.setenv("LLM_PROVIDER_ORDER", "openai,offline")
        yield fake


@pytest.fixture()
def settings(database_url):
    """The server's own key is a setting, as ``OPENAI_API_KEY`` makes it."""
    return load_settings(environment="test", database_url=database_url, redis_url=None,
                         jwt_secret_key="t" * 48, openai_api_key=SERVER_KEY)


@pytest.fixture()
async def app(vendor, settings):
    """Started once the vendor is in the environment (the agents read their endpoint
    then)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def sent_keys(fake: FakeLLMServer, since: int = 0) -> list[str]:
    with fake.lock:
        return [r.headers["authorization"].removeprefix("Bearer ")
                for r in fake.requests[since:]]


async def run(client, member: Member, name: str) -> dict[str, Any]:
    """A new assessment of ``member``'s organization (its own requirements' name, so no
    prompt is answered from an earlier run's cache), run to completion; its result."""
    created = await create_assessment(client, member,
                                      requirements={**REQUIREMENTS, "name": name})
    started = await client.post(f"/api/v1/assessments/{created['id']}/run",
                                headers=member.headers)
    assert started.status_code == 202, started.text
    done = await wait_for_status(client, member, created["id"])
    assert done["status"] == "completed", done
    stored = await client.get(f"/api/v1/assessments/{created['id']}/result",
                              headers=member.headers)
    assert stored.status_code == 200, stored.text
    return {"id": created["id"], "result": stored.json()["result"], "text": stored.text}


async def set_key(client, owner: Member, value: str | None) -> None:
    url = f"/api/v1/organizations/{owner.organization_id}/secrets/openai_api_key"
    if value is None:
        assert (await client.delete(url, headers=owner.headers)).status_code == 204
        return
    response = await client.put(url, headers=owner.headers, json={"value": value})
    assert response.status_code == 200, response.text
    assert value not in response.text


async def test_each_run_uses_its_organizations_key_then_the_servers(app, client, vendor,
                                                                   settings, caplog):
    caplog.set_level(logging.DEBUG)
    acme = await create_member(app)
    globex = await create_member(app)
    await set_key(client, acme, ACME_KEY)
    seen = [await run(client, acme, "Acme shop")]
    assert set(sent_keys(vendor)) == {ACME_KEY}
    usage = seen[-1]["result"]["llm_usage"]
    assert usage["key_sources"] == {"organization": usage["total"]}

    before = vendor.request_count
    seen.append(await run(client, globex, "Globex shop"))
    assert set(sent_keys(vendor, before)) == {SERVER_KEY}
    assert list(seen[-1]["result"]["llm_usage"]["key_sources"]) == ["server"]

    await set_key(client, acme, ACME_ROTATED)  # in force from the next run
    before = vendor.request_count
    seen.append(await run(client, acme, "Acme shop, second look"))
    assert set(sent_keys(vendor, before)) == {ACME_ROTATED}

    # a question about Acme's assessment goes with Acme's key; one about no assessment
    # with the server's
    conversation = await client.post("/api/v1/chat/conversations", headers=acme.headers,
                                     json={"assessment_id": seen[-1]["id"]})
    assert conversation.status_code == 201, conversation.text
    before = vendor.request_count
    asked = await client.post(
        f"/api/v1/chat/conversations/{conversation.json()['id']}/messages",
        headers=acme.headers, json={"content": QUESTION})
    assert asked.status_code == 201, asked.text
    assert asked.json()["assistant_message"]["author"] == "openai/gpt-4.1-mini"
    assert sent_keys(vendor, before) == [ACME_ROTATED]
    plain = await client.post("/api/v1/chat/conversations", headers=acme.headers, json={})
    before = vendor.request_count
    await client.post(f"/api/v1/chat/conversations/{plain.json()['id']}/messages",
                      headers=acme.headers, json={"content": QUESTION})
    assert sent_keys(vendor, before) == [SERVER_KEY]

    await set_key(client, acme, None)  # deleted: the server's key from the next run
    before = vendor.request_count
    seen.append(await run(client, acme, "Acme shop, third look"))
    assert set(sent_keys(vendor, before)) == {SERVER_KEY}

    logged = "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records)
    stored = "".join(s["text"] for s in seen) + asked.text
    checkpoints = b""
    if settings.is_sqlite:  # every byte the checkpointer wrote, deleted threads included
        database = Path(settings.database_url.split(":///", 1)[1])
        files = sorted(database.parent.glob(f"{database.stem}.checkpoints.db*"))
        assert files
        checkpoints = b"".join(f.read_bytes() for f in files)
        assert b"Globex shop" in checkpoints  # the scan reads what the runs wrote
    for key in KEYS:
        assert key not in logged and key not in stored
        assert key.encode() not in checkpoints
