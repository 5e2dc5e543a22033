"""Liveness, readiness and Prometheus metrics (no authentication: probes and scrapers)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from infra_mind import __version__
from infra_mind.api.deps import PlatformDep

router = APIRouter(tags=["health"])


class Alive(BaseModel):
    status: str
    version: str


class Ready(BaseModel):
    #: ready; degraded: the database answers (reads are served, runs are queued in it)
    #: but the cache or the broker does not; not ready: the database does not answer
    status: str
    checks: dict[str, str]  # component -> "ok" or why it is down


@router.get("/health", response_model=Alive)
async def health() -> Alive:
    """The process is up."""
    return Alive(status="ok", version=__version__)


@router.get("/health/ready", response_model=Ready, responses={503: {"model": Ready}})
async def ready(platform: PlatformDep) -> JSONResponse:
    """Dependencies answer: database, cache (Redis when configured) and the task broker.

    503 unless all answer, so a deploy never counts an instance ready without Redis; the
    body says ``degraded`` when only the cache or broker is down (docs/ops/resilience.md).
    """
    checks: dict[str, str] = {}
    try:
        async with platform.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure is "down", with its one-line reason
        checks["database"] = f"down: {type(exc).__name__}"
    checks[f"cache ({platform.cache.name})"] = "ok" if await platform.cache.ping() else "down"
    from infra_mind.worker.broker import broker_ready

    checks["broker"] = await broker_ready(platform)
    ok = all(v == "ok" for v in checks.values())
    status = ("ready" if ok else "degraded" if checks["database"] == "ok" else "not ready")
    body = Ready(status=status, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(platform: PlatformDep) -> Response:
    return Response(platform.metrics.render(),
                    media_type="text/plain; version=0.0.4; charset=utf-8")
