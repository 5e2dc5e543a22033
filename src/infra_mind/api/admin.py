"""``/api/v1/admin``: platform admins' views (status, queue, stuck runs, audit log, failed
sign-ins). Read-only.

A platform admin is a user with ``is_platform_admin`` (``infra-mind admin grant EMAIL``).
Anyone else who is signed in gets 404 "not found", as for an object of another
organization: the routes are not there for them. No token is 401, as everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from infra_mind.api.assessments import MAX_OFFSET
from infra_mind.api.deps import (
    PlatformDep,
    Principal,
    PrincipalDep,
    SessionDep,
    error_responses,
)
from infra_mind.api.schemas.admin import (
    AccountFailuresRead,
    AddressFailuresRead,
    AdminStatus,
    AuditEventRead,
    AuditPage,
    FailedLoginsRead,
    QueueRead,
    RunRead,
    StuckRead,
)
from infra_mind.kit.errors import NotFound
from infra_mind.services.admin import AdminService, RunView
from infra_mind.services.auth import is_platform_admin

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


_errors = error_responses({401: "Not authenticated", 404: "Not a platform admin",
                          422: "Invalid parameters"})


async def platform_admin(principal: PrincipalDep, db: SessionDep, platform: PlatformDep,
                         request: Request) -> Principal:
    """The signed-in platform admin, or 404. Each use is counted by view
    (``admin_actions_total``), and so is each refusal: a signed-in user who is not an admin
    asking for these routes is probing for them (the web app never calls them)."""
    allowed = await is_platform_admin(db, principal.id)
    # the route's endpoint name (status, queue, stuck, audit, failed_logins): a closed set
    action = getattr(request.scope.get("route"), "name", None) or "unknown"
    platform.metrics.admin_actions.labels(action=action,
                                          outcome="allowed" if allowed else "refused").inc()
    if not allowed:
        raise NotFound("not found")
    return principal


async def service(db: SessionDep, platform: PlatformDep,
                  _: Annotated[Principal, Depends(platform_admin)]) -> AdminService:
    return AdminService(db, platform)


Admin = Annotated[AdminService, Depends(service)]


def _run(view: RunView) -> RunRead:
    return RunRead(**vars(view.run), age_s=view.age_s, silent_s=view.silent_s)


@router.get("/status", response_model=AdminStatus, responses=_errors(401, 404))
async def status(admin: Admin) -> Any:
    """Version, database and migration, cache, broker, queue depth, assessments by status,
    and the encryption keys in force."""
    return await admin.status()


@router.get("/queue", response_model=QueueRead, responses=_errors(401, 404, 422))
async def queue(admin: Admin,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> QueueRead:
    """Queued and running assessments with their ages."""
    found = await admin.queue(limit)
    return QueueRead(queued=[_run(v) for v in found["queued"]],
                     running=[_run(v) for v in found["running"]])


@router.get("/stuck", response_model=StuckRead, responses=_errors(401, 404, 422))
async def stuck(admin: Admin,
                older_than_s: Annotated[int | None, Query(ge=10, le=30 * 86_400)] = None,
                ) -> StuckRead:
    """Running with no heartbeat, and queued, for longer than ``older_than_s`` (default:
    the job timeout). ``infra-mind clear-stuck-workflows`` requeues or fails them."""
    limit_s, found = await admin.stuck(older_than_s)
    return StuckRead(older_than_s=limit_s, running=[_run(v) for v in found["running"]],
                     queued=[_run(v) for v in found["queued"]])


@router.get("/audit", response_model=AuditPage, responses=_errors(401, 404, 422))
async def audit(admin: Admin,
                limit: Annotated[int, Query(ge=1, le=200)] = 50,
                offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                action: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
                since: datetime | None = None) -> AuditPage:
    """The audit log of every organization, newest first; ``action`` such as
    ``user.login_failed``, ``since`` an ISO 8601 time."""
    items, total = await admin.audit(action=action, since=since, limit=limit, offset=offset)
    return AuditPage(items=[AuditEventRead.model_validate(e) for e in items], total=total,
                     limit=limit, offset=offset)


@router.get("/failed-logins", response_model=FailedLoginsRead,
            responses=_errors(401, 404, 422))
async def failed_logins(admin: Admin, since: datetime | None = None) -> FailedLoginsRead:
    """Failed sign-ins per account and per client address since ``since`` (default: the
    last 24 hours), the most first, and whether the throttle locks each out now."""
    report = await admin.failed_logins(since)
    return FailedLoginsRead(
        since=report.since, failures=report.failures, truncated=report.truncated,
        accounts=[AccountFailuresRead(**{**vars(a), "addresses": sorted(a.addresses),
                                         "reasons": dict(a.reasons)})
                  for a in report.accounts],
        addresses=[AddressFailuresRead(**{**vars(a), "accounts": len(a.accounts)})
                   for a in report.addresses])
