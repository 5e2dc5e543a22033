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
    status: str  # ready | not ready
    checks: dict[str, str]  # component -> "ok" or why it is down


@router.get("/health", response_model=Alive)
async def health() -> Alive:
    """The process is up."""
    return Alive(status="ok", version=__version__)


@router.get("/health/ready", response_model=Ready, responses={503: {"model": Ready}})
async def ready(platform: PlatformDep) -> JSONResponse:
    """Dependencies answer: database, cache (Redis when configured) and the task broker."""
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
    body = Ready(status="ready" if ok else "not ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(platform: PlatformDep) -> Response:
    return Response(platform.metrics.render(),
                    media_type="text/plain; version=0.0.4; charset=utf-8")
