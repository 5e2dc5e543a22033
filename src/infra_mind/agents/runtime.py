"""One process's agents: providers from the settings, a chain per agent, the checkpointer,
and ``advise`` (requirements in, advice out).

Providers are shared by every agent of the process, and so are their circuit breakers and
the response cache; each agent has its own chain, with its own model per provider. A
provider is used when its key is set or its endpoint was pointed somewhere explicitly (a
local OpenAI-compatible server may need no key); otherwise the run is offline.

A run (or chat question) of an organization gets chains of its own (``chains_for``): for
each provider in the fallback order, the organization's own key first when it has one, then
the server's, then the next provider. Its routes with its own keys have circuit breakers of
their own (per key: a refused key trips that organization only, and a rotated key starts
closed), and its answers are cached apart from other organizations'.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from infra_mind.agents.config import AgentsConfig, ProviderName, load_agents_config
from infra_mind.agents.llm import (
    CircuitBreaker,
    LLMError,
    LLMProvider,
    ProviderChain,
    ResponseCache,
    Route,
)
from infra_mind.agents.narrative import AGENTS
from infra_mind.agents.offload import Offload, Progress, in_thread
from infra_mind.agents.providers import (
    OrganizationKeys,
    configured_providers,
    keyed_provider,
)
from infra_mind.agents.writer import SectionWriter, usage_of
from infra_mind.catalog.store import Catalog
from infra_mind.config import LLMSettings
from infra_mind.engine.requirements import Requirements
from infra_mind.kit.retry import RetryPolicy
from infra_mind.observability.logging import log_context
from infra_mind.observability.metrics import Metrics

if TYPE_CHECKING:  # the graph (LangGraph, LangChain) loads with the first run, not for chat
    from langgraph.checkpoint.base import BaseCheckpointSaver

#: PostgreSQL advisory lock key taken while the checkpoint tables are created.
SETUP_LOCK = 727_274
#: Circuit breakers kept for organizations' own keys (least recently used dropped first).
ORGANIZATION_BREAKERS = 1_024

class AgentRuntime:
    """Built once per process (API, worker, CLI); ``aclose`` when done."""

    def __init__(self, config: AgentsConfig | None = None, *,
                 settings: LLMSettings | None = None,
                 keys: Mapping[ProviderName, str] | None = None,
                 metrics: Metrics | None = None,
                 catalog: Catalog | Path | None = None, checkpoint_url: str | None = None,
                 providers: Mapping[ProviderName, LLMProvider] | None = None,
                 retry: RetryPolicy | None = None, offload: Offload = in_thread) -> None:
        """``settings``: the keys, endpoints and provider order (None: the process's, read
        now); ``keys``: the server's key per provider, None: those of ``settings``."""
        self._settings = settings or LLMSettings()
        self.config = config or load_agents_config(settings=self._settings)
        #: Where a run's pure computations go (``agents.compute``): a thread here, an
        #: engine process where this process also serves requests or runs many runs.
        self.offload = offload
        self.metrics = metrics
        self.catalog = catalog
        self.checkpoint_url = checkpoint_url
        self._http = httpx.AsyncClient(limits=httpx.Limits(max_connections=50))
        self.providers = dict(providers) if providers is not None else \
            configured_providers(self.config, self._settings, self._http, keys=keys)
        #: Providers in fallback order, with or without a server key (an organization
        #: may bring its own for one the server has none for).
        self.order: list[ProviderName] = list(self.providers) if providers is not None \
            else self.config.provider_order(self._settings.llm_provider_order)
        cb = self.config.circuit_breaker
        self.breakers = {name: CircuitBreaker(cb.failure_threshold, cb.reset_after_s)
                         for name in self.providers}
        self._own_breakers: OrderedDict[str, CircuitBreaker] = OrderedDict()
        r = self.config.retry
        self.retry = retry or RetryPolicy(max_attempts=r.max_attempts,
                                          base_delay_s=r.base_delay_s,
                                          max_delay_s=r.max_delay_s)
        entries = self.config.response_cache_entries
        self.cache = ResponseCache(entries) if entries else None
        self.chains = {agent: self._chain(agent) for agent in (*AGENTS, "chatbot")} \
            if self.providers else {}
        self.writer = SectionWriter(self.config, self.chains, metrics)
        self._saver: BaseCheckpointSaver | None = None
        #: (the checkpointer it was compiled on, the compiled graph)
        self._graph: tuple[BaseCheckpointSaver, Any] | None = None
        self._saver_stack = contextlib.AsyncExitStack()
        self._saver_lock = asyncio.Lock()

    def _chain(self, agent: str) -> ProviderChain:
        routes = [Route(provider, self.config.model_for(agent, name))
                  for name, provider in self.providers.items()]
        return ProviderChain(routes, breakers=self.breakers, retry=self.retry, cache=self.cache)

    def chains_for(self, organization: OrganizationKeys | None) -> dict[str, ProviderChain]:
        """The chains of one run or question: the process's (``chains``) without an
        organization; else the organization's own, with its own keys first."""
        if organization is None:
            return self.chains
        own: dict[ProviderName, tuple[LLMProvider, str]] = {}
        breakers = dict(self.breakers)
        for name in self.order:
            key = organization.get(name)
            if key:  # one provider per run, shared by its agents' chains
                label = self._own_breaker(name, key)
                breakers[label] = self._own_breakers[label]
                own[name] = (keyed_provider(self.config, name, api_key=key, settings=self._settings,
                                            client=self._http), label)
        chains: dict[str, ProviderChain] = {}
        for agent in (*AGENTS, "chatbot"):
            routes: list[Route] = []
            for name in self.order:
                model = self.config.model_for(agent, name)
                if name in own:
                    routes.append(Route(own[name][0], model, "organization",
                                        breaker=own[name][1]))
                if name in self.providers:
                    routes.append(Route(self.providers[name], model))
            if routes:
                chains[agent] = ProviderChain(
                    routes, breakers=breakers, retry=self.retry, cache=self.cache,
                    cache_scope=f"{organization.organization_id}:")
        return chains

    def _own_breaker(self, name: ProviderName, key: str) -> str:
        """The breaker of an organization's key (named by a digest: never the key), made
        on first use; the least recently used are dropped past ``ORGANIZATION_BREAKERS``."""
        digest = hashlib.sha256(f"{name}\0{key}".encode()).hexdigest()[:16]
        label = f"{name}:own:{digest}"
        if label in self._own_breakers:
            self._own_breakers.move_to_end(label)
        else:
            cb = self.config.circuit_breaker
            self._own_breakers[label] = CircuitBreaker(cb.failure_threshold, cb.reset_after_s)
            while len(self._own_breakers) > ORGANIZATION_BREAKERS:
                self._own_breakers.popitem(last=False)
        return label

    @property
    def offline(self) -> bool:
        return not self.providers

    def describe(self) -> str:
        if self.offline:
            return "offline writer only (no LLM provider configured)"
        return "providers: " + ", ".join(
            f"{name} ({self.config.providers[name].default_model})" for name in self.providers
        ) + ", then the offline writer"

    # --- checkpoints ----------------------------------------------------------------------

    async def checkpointer(self) -> BaseCheckpointSaver:
        """Opened on first use: SQLite file, PostgreSQL, or memory (``checkpoint_url`` None)."""
        async with self._saver_lock:
            if self._saver is None:
                self._saver = await open_checkpointer(self.checkpoint_url, self._saver_stack)
            return self._saver

    async def graph(self) -> Any:
        """The agents' graph on this runtime's checkpointer, compiled on first use."""
        from infra_mind.agents.graph import build_graph

        saver = await self.checkpointer()
        if self._graph is None or self._graph[0] is not saver:
            self._graph = (saver, build_graph(self.config, saver))
        return self._graph[1]

    async def forget(self, thread_id: str) -> None:
        """Drop a finished run's checkpoints (its result is stored elsewhere)."""
        saver = await self.checkpointer()
        await saver.adelete_thread(thread_id)

    # --- running --------------------------------------------------------------------------

    async def advise(self, requirements: dict[str, Any] | Requirements, *,
                     thread_id: str = "advise", progress: Progress | None = None,
                     organization: OrganizationKeys | None = None) -> dict[str, Any]:
        """The advice: the engine's result as JSON plus ``narrative`` and ``llm_usage``.

        ``organization``: the run's organization and its own keys, asked before the
        server's (held by the run's context only: never in its checkpointed state)."""
        from infra_mind.agents.graph import RunContext, run_graph

        req = requirements.model_dump(mode="json") if isinstance(requirements, Requirements) \
            else requirements
        chains = self.chains_for(organization)
        writer = self.writer if chains is self.chains else \
            SectionWriter(self.config, chains, self.metrics)
        ctx = RunContext(writer=writer, config=self.config, catalog=self.catalog,
                         metrics=self.metrics, progress=progress, offload=self.offload)
        with log_context(run_id=thread_id):  # on every line of its steps
            state = await run_graph(await self.graph(), ctx, req, thread_id)
        return advice_of(state)

    def chat_completer(self, organization: OrganizationKeys | None = None):
        """(system, prompt) -> (text, author) through the chatbot's chain (the
        organization's own keys first, when given); None offline."""
        chain = self.chains_for(organization).get("chatbot")
        if chain is None:
            return None
        settings = self.config.agent("chatbot")

        async def complete(system: str, prompt: str) -> tuple[str, str]:
            try:
                completion = await asyncio.wait_for(
                    chain.complete(system, prompt, max_tokens=settings.max_tokens,
                                   temperature=settings.temperature,
                                   timeout_s=settings.timeout_s),
                    timeout=settings.timeout_s)
            except TimeoutError:
                raise LLMError(f"chat: no answer within {settings.timeout_s:g} s") from None
            return completion.text, f"{completion.provider}/{completion.model}"

        return complete

    async def aclose(self) -> None:
        await self._saver_stack.aclose()
        self._saver = self._graph = None
        await self._http.aclose()


def advice_of(state: dict[str, Any]) -> dict[str, Any]:
    narrative = state.get("narrative", {})
    ordered = {agent: narrative[agent] for agent in AGENTS if agent in narrative}
    return {**state["result"], "narrative": ordered,
            "llm_usage": usage_of(state.get("calls", []))}


#: Longest a checkpoint read or write may take before the run is treated as having lost
#: its database connection (left to the sweeper, resumed from the last checkpoint). Writes
#: take milliseconds; a connection killed mid-pipeline was seen to hang one for good.
CHECKPOINT_OP_TIMEOUT_S = 5.0


class CheckpointTimeout(ConnectionError):
    """A checkpoint operation did not finish in ``CHECKPOINT_OP_TIMEOUT_S``."""


def _bounded_postgres_saver(base: type) -> type:
    """``base`` (AsyncPostgresSaver) with every read and write bounded in time."""

    def bounded(name: str):
        async def call(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return await asyncio.wait_for(getattr(base, name)(self, *args, **kwargs),
                                              CHECKPOINT_OP_TIMEOUT_S)
            except TimeoutError:
                raise CheckpointTimeout(f"checkpoint {name} took over "
                                        f"{CHECKPOINT_OP_TIMEOUT_S:g} s") from None
        call.__name__ = name
        return call

    return type("BoundedPostgresSaver", (base,),
                {name: bounded(name) for name in ("aput", "aput_writes", "aget_tuple",
                                                  "adelete_thread")})


def checkpoint_url_for(database_url: str) -> str:
    """Where runs are checkpointed, from the application's database URL: a SQLite file
    beside the database's (``<name>.checkpoints.db``), or the same PostgreSQL database."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1] if ":///" in database_url else ""
        if not path or path == ":memory:" or path.startswith(":memory:"):
            return "memory"
        p = Path(path)
        return "sqlite:///" + str(p.with_name(p.stem + ".checkpoints.db"))
    rest = database_url.split("://", 1)[1]
    return "postgresql://" + rest


async def open_checkpointer(url: str | None, stack: contextlib.AsyncExitStack
                            ) -> BaseCheckpointSaver:
    if url is None or url == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        return InMemorySaver()
    if url.startswith("sqlite:///"):
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path))
        stack.push_async_callback(conn.close)
        await conn.execute("PRAGMA journal_mode=WAL")
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        return saver
    if url.startswith(("postgresql://", "postgres://")):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        # check: a connection the server closed while idle (restart, failover,
        # pg_terminate_backend) is replaced before use, not handed to a run that then fails
        pool = AsyncConnectionPool(url, min_size=1, max_size=4, open=False,
                                   check=AsyncConnectionPool.check_connection,
                                   kwargs={"autocommit": True, "prepare_threshold": None,
                                           "row_factory": dict_row})
        await pool.open(wait=True, timeout=30)
        stack.push_async_callback(pool.close)
        saver = _bounded_postgres_saver(AsyncPostgresSaver)(pool)
        async with pool.connection() as conn:
            # two processes creating the tables at once would collide: take turns. Poll
            # with pg_try_advisory_lock: a session blocked in pg_advisory_lock holds a
            # snapshot, and setup's CREATE INDEX CONCURRENTLY waits for every snapshot, so
            # blocking would deadlock the two processes.
            while not (await (await conn.execute(
                    "SELECT pg_try_advisory_lock(%s) AS ok", (SETUP_LOCK,))).fetchone())["ok"]:
                await asyncio.sleep(0.1)
            try:
                await saver.setup()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
        return saver
    raise ValueError(f"CHECKPOINT_URL must be sqlite:///PATH, postgresql://... or memory, "
                     f"not {url.split('://')[0]}://")
