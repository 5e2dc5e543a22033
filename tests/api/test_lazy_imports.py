"""An API process starts without what only some requests need.

Issue #14: ``create_app`` and its start-up imported the reports' renderers (markdown-it),
the engine's ``assess`` and the LLM providers' clients (httpx, which brings rich and
pygments) for the report, what-if and model-calling requests alone: some 9 MiB of an
idle process. Each now loads on first use. This starts the app and its lifespan in a
fresh interpreter (so nothing a test imported earlier counts) and fails if one of them
was imported, with and without an LLM key (a key makes the chat's model a factory that
builds it on the first question, not at start-up).

Nor does an API process import taskiq (with taskiq-redis and aiohttp, some 11 MiB): it
sends runs to the workers' stream itself (``worker.queue``), and runs them in its own
event loop without REDIS_URL. The Redis case starts against $INFRA_MIND_TEST_REDIS under
a namespace of its own, deleted afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REDIS_URL = os.environ.get("INFRA_MIND_TEST_REDIS", "redis://127.0.0.1:6379/15")

#: Loaded by the requests that use them, never by start-up.
NOT_AT_START = (
    "httpx", "rich", "pygments", "markdown_it",
    "infra_mind.reports.render", "infra_mind.reports.render_html",
    "infra_mind.engine.assess", "infra_mind.agents.providers", "infra_mind.agents.llm",
    "taskiq", "taskiq_redis", "aiohttp", "infra_mind.worker.broker",
)

#: Starts the app with SQLite settings, runs its lifespan's start-up, then reports which
#: modules are loaded and how the chat will answer.
PROBE = """
import asyncio, json, os, sys
from infra_mind.api.app import create_app
from infra_mind.config import load_settings
from infra_mind.services.chat import COMPLETER_FACTORY_KEY, COMPLETER_KEY

settings = load_settings(environment="test", database_url="sqlite+aiosqlite:///:memory:",
                         redis_url=os.environ.get("REDIS_URL") or None,
                         redis_namespace=os.environ.get("REDIS_NAMESPACE", ""),
                         jwt_secret_key="s" * 48)
app = create_app(settings)
found = {}

async def start():
    async with app.router.lifespan_context(app):
        platform = app.state.platform
        found["offline"] = COMPLETER_KEY in platform and platform[COMPLETER_KEY] is None
        found["factory"] = COMPLETER_FACTORY_KEY in platform
        found["modules"] = sorted(sys.modules)
        found["queue"] = type(sys.modules["infra_mind.worker.queue"].runs).__name__
        if os.environ.get("PROBE_ASK"):  # a chat question that goes to the model
            complete = platform[COMPLETER_FACTORY_KEY]()
            found["answer"] = await complete("You answer.", "Which instance?")
            found["after_question"] = sorted(sys.modules)

asyncio.run(start())
print(json.dumps(found))
"""


def probe(**env_overrides: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL",
                        "ANTHROPIC_BASE_URL", "LLM_PROVIDER_ORDER", "AGENTS_CONFIG",
                        "CONFIG_DIR", "REDIS_URL", "REDIS_NAMESPACE")}
    env.update(env_overrides)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("key", [None, "sk-test-not-a-real-key"])
def test_start_up_imports_nothing_only_some_requests_need(key):
    found = probe(**({"OPENAI_API_KEY": key} if key else {}))
    modules = set(found["modules"])
    # start-up ran: the routers that once pulled them in, and the agents' configuration
    # (read at start-up, so a broken one stops it)
    assert {"infra_mind.api.assessments", "infra_mind.services.chat",
            "infra_mind.worker.tasks", "infra_mind.agents.config"} <= modules
    # the chat knows whether a model is configured without loading a provider
    assert (found["offline"], found["factory"]) == ((False, True) if key else (True, False))
    assert found["queue"] == "InProcessQueue"
    # (a submodule loads its package first: the packages are enough to name)
    assert sorted(set(NOT_AT_START) & modules) == []


def test_a_question_to_a_model_does_not_load_the_agents_graph():
    """The chat asks the chatbot's provider chain; the runtime it builds for that loads
    the providers' clients, and LangGraph, LangChain and LangSmith (some 36 MiB) only
    with the first run. Asked through the fake OpenAI server on loopback."""
    from tests.fake_llm import serve_fake

    with serve_fake(answer_text="Two m7i.large.") as fake:
        found = probe(OPENAI_API_KEY="sk-test-not-a-real-key",
                      OPENAI_BASE_URL=fake.base_url_openai, PROBE_ASK="1")
    assert found["answer"][0] == "Two m7i.large."
    assert found["answer"][1].startswith("openai/")
    loaded = set(found["after_question"])
    assert "infra_mind.agents.runtime" in loaded and "httpx" in loaded
    assert sorted({"langgraph", "langchain_core", "langsmith",
                   "infra_mind.agents.graph"} & loaded) == []


def test_with_redis_the_api_sends_runs_without_taskiq():
    from tests.integration.procs import redis_namespace

    with redis_namespace(REDIS_URL) as space:
        found = probe(REDIS_URL=space.url, REDIS_NAMESPACE=space.prefix)
        # start-up declared the workers' group on the namespace's stream, as taskiq did
        with space.client(socket_timeout=5) as client:
            groups = client.xinfo_groups(space.stream)
    assert found["queue"] == "StreamQueue"
    assert [g["name"].decode() for g in groups] == ["infra-mind-workers"]
    modules = set(found["modules"])
    assert "infra_mind.kit.near_cache" in modules  # the Redis parts did start
    assert sorted(set(NOT_AT_START) & modules) == []
