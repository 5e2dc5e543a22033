"""The running platform's shared parts: settings, database, cache, metrics, and what each
process builds once (its agent runtime, keyring, channels, a service's cache).

One ``Platform`` per process (API or worker), built from settings and closed on
shutdown. Nothing else in the code reads process globals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from infra_mind.config import Settings
from infra_mind.kit.cache import Cache, make_cache
from infra_mind.kit.db import make_engine, make_sessionmaker
from infra_mind.kit.slots import Slot
from infra_mind.observability.metrics import Metrics

T = TypeVar("T")


class Breaker(Protocol):
    """An LLM provider's circuit breaker, as presence reports it."""

    @property
    def state(self) -> str: ...


class AgentsRuntime(Protocol):
    """What the platform knows of the agents' runtime (``agents.runtime.AgentRuntime``,
    above this layer): its circuit breakers, which the process's presence record shows,
    and that it is closed with the platform."""

    @property
    def breakers(self) -> Mapping[Any, Breaker]: ...  # by provider name

    async def aclose(self) -> None: ...


@dataclass
class Platform:
    """The process's shared parts. What other code builds once is kept under a typed key:
    ``platform[KEY]``, ``platform.get(KEY)`` (None before it is built), ``KEY in
    platform``, ``platform.pop(KEY)``."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cache: Cache
    metrics: Metrics = field(default_factory=Metrics)
    #: The agent runtime, once this process built one (``worker.tasks.agents_of``).
    agents: AgentsRuntime | None = None
    #: The rest, each under its typed key (``kit.slots.Slot``).
    _slots: dict[Slot[Any], object] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Platform:
        engine = make_engine(settings.database_url, settings.db_pool_size,
                             settings.db_max_overflow)
        platform = cls(settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                       cache=make_cache(settings.redis_url, settings.redis_namespace,
                                        settings.cache_near_ttl_s))
        near = getattr(platform.cache, "near", None)
        if near is not None:
            platform.metrics.near_cache.source = near.stats
        return platform

    def __contains__(self, slot: Slot[T]) -> bool:
        return slot in self._slots

    def __getitem__(self, slot: Slot[T]) -> T:
        return cast(T, self._slots[slot])

    def __setitem__(self, slot: Slot[T], value: T) -> None:
        self._slots[slot] = value

    def get(self, slot: Slot[T]) -> T | None:
        return cast(T | None, self._slots.get(slot))

    def pop(self, slot: Slot[T]) -> T | None:
        return cast(T | None, self._slots.pop(slot, None))

    async def close(self) -> None:
        agents, self.agents = self.agents, None
        if agents is not None:
            await agents.aclose()
        await self.cache.close()
        await self.engine.dispose()
