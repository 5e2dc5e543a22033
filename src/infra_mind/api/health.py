"""Liveness, readiness and Prometheus metrics (no authentication: probes and scrapers;
metrics are on their own port outside development, see ``api.metrics_port``)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from infra_mind import __version__
from infra_mind.api.deps import PlatformDep
from infra_mind.api.metrics_port import metrics_on_api_port
from infra_mind.catalog.readiness import CatalogReadiness
from infra_mind.kit.platform import Platform
from infra_mind.kit.slots import Slot

router = APIRouter(tags=["health"])
#: This process's catalog-age answers (``catalog.readiness``).
CATALOG_READINESS: Slot[CatalogReadiness] = Slot("catalog_readiness")


class Alive(BaseModel):
    status: str
    version: str


class Ready(BaseModel):
    #: ready; degraded: the database answers (reads are served, runs are queued in it)
    #: but the cache or the broker does not; not ready: the database does not answer
    status: str
    #: component -> "ok" or why it is down; "catalog" -> "ok" or "stale: oldest price N
    #: days (limit M)", a warning that never changes ``status`` or the HTTP status
    checks: dict[str, str]


@router.get("/health", response_model=Alive)
async def health() -> Alive:
    """The process is up."""
    return Alive(status="ok", version=__version__)


@router.get("/health/ready", response_model=Ready, responses={503: {"model": Ready}})
async def ready(platform: PlatformDep) -> JSONResponse:
    """Dependencies answer: database, cache (Redis when configured) and the task broker;
    and the price catalog's age.

    503 unless the three dependencies answer, so a deploy never counts an instance ready
    without Redis; the body says ``degraded`` when only the cache or broker is down
    (docs/ops/resilience.md). A stale catalog (its oldest price the engine designs with
    older than ``CATALOG_MAX_AGE_DAYS``) is a warning, not an outage: ``checks.catalog``
    says ``stale: ...`` while the status stays ``ready`` and the HTTP status 200.
    """
    checks: dict[str, str] = {}
    try:
        async with platform.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure is "down", with its one-line reason
        checks["database"] = f"down: {type(exc).__name__}"
    checks[f"cache ({platform.cache.name})"] = "ok" if await platform.cache.ping() else "down"
    from infra_mind.worker.queue import runs

    checks["broker"] = await runs.ready()
    ok = all(v == "ok" for v in checks.values())
    status = ("ready" if ok else "degraded" if checks["database"] == "ok" else "not ready")
    checks["catalog"] = await _catalog_age(platform)
    body = Ready(status=status, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


async def _catalog_age(platform: Platform) -> str:
    """``ok`` or ``stale: ...`` for the catalog in force (the ``INFRA_MIND_CATALOG``
    setting, a refreshed local snapshot or the bundled one), or ``unreadable``: worked out
    by a child process once per snapshot file and day (``catalog.readiness``), so that
    probes do not make this process load the catalog and keep it. The answer is public:
    it names no path (``infra-mind catalog stats`` does)."""
    from infra_mind.catalog.store import active_snapshot_path

    answers = platform.get(CATALOG_READINESS)
    if answers is None:
        answers = platform[CATALOG_READINESS] = CatalogReadiness()
    snapshot = active_snapshot_path(platform.settings.infra_mind_catalog)
    return await answers.line(snapshot, platform.settings.catalog_max_age_days)


@router.get("/metrics", include_in_schema=False)
async def metrics(platform: PlatformDep) -> Response:
    """This process's metrics, in development only: elsewhere they are served on
    ``METRICS_PORT`` (``api.metrics_port``), never on the port the public reaches, and
    this answers as if the route did not exist."""
    if not metrics_on_api_port(platform.settings):
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    return Response(platform.metrics.render(),
                    media_type="text/plain; version=0.0.4; charset=utf-8")
