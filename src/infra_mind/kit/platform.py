"""The running platform's shared parts: settings, database, cache, task broker, metrics.

One ``Platform`` per process (API or worker), built from settings and closed on
shutdown. Nothing else in the code reads process globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from infra_mind.config import Settings
from infra_mind.kit.cache import Cache, make_cache
from infra_mind.kit.db import make_engine, make_sessionmaker
from infra_mind.observability.metrics import Metrics


@dataclass
class Platform:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cache: Cache
    metrics: Metrics = field(default_factory=Metrics)
    #: Set by the worker module once the broker is built (``infra_mind.worker.broker``).
    extras: dict[str, object] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> Platform:
        engine = make_engine(settings.database_url, settings.db_pool_size,
                             settings.db_max_overflow)
        return cls(settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                   cache=make_cache(settings.redis_url, settings.redis_namespace))

    async def close(self) -> None:
        agents = self.extras.pop("agents", None)  # the agent runtime, if one was started
        if agents is not None:
            await agents.aclose()  # type: ignore[attr-defined]
        await self.cache.close()
        await self.engine.dispose()
