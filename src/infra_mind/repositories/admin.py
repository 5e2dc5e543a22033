"""Queries across every organization, for platform admins and operators' commands.

Nothing here filters by tenant: callers are the admin routes (platform admins only, see
``api.admin``) and ``infra-mind`` maintenance commands. Writes are guarded by the state
they expect, like ``RunRepository``'s, so a run that moved on meanwhile is left alone.
Stuck runs are found here (``silent_running``, ``waiting_queued``) and changed only by the
one sweeper, ``repositories.stale_runs``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.models import Assessment, AssessmentResultRow, AuditEvent, User
from infra_mind.repositories.assessments import _silent_since as silent_since
from infra_mind.repositories.assessments import _waiting_since as waiting_since

#: The columns an operator's view of a run shows (no requirements, no result).
RUN_COLUMNS = (Assessment.id, Assessment.organization_id, Assessment.title, Assessment.status,
               Assessment.progress, Assessment.current_step, Assessment.attempts,
               Assessment.worker_id, Assessment.error, Assessment.queued_at,
               Assessment.started_at, Assessment.heartbeat_at, Assessment.updated_at)


@dataclass(frozen=True)
class RunRow:
    id: str
    organization_id: str
    title: str
    status: str
    progress: int
    current_step: str | None
    attempts: int
    worker_id: str | None
    error: str | None
    queued_at: datetime | None
    started_at: datetime | None
    heartbeat_at: datetime | None
    updated_at: datetime


def _runs(rows: Iterable[Any]) -> list[RunRow]:
    return [RunRow(*row) for row in rows]


async def migration_revision(session: AsyncSession) -> str | None:
    """The revision the database is at (None before the first migration)."""
    try:
        async with session.begin_nested():
            return await session.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:
        return None


async def assessments_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Assessment.status, func.count())
                                 .group_by(Assessment.status))
    return {status: int(n) for status, n in rows.all()}


async def active_runs(session: AsyncSession, status: str, limit: int) -> list[RunRow]:
    """Runs in ``status`` (queued or running), the longest waiting first."""
    since = Assessment.queued_at if status == "queued" else Assessment.started_at
    rows = await session.execute(select(*RUN_COLUMNS).where(Assessment.status == status)
                                 .order_by(since, Assessment.id).limit(limit))
    return _runs(rows.all())


async def silent_running(session: AsyncSession, cutoff: datetime) -> list[RunRow]:
    """Running with no heartbeat since ``cutoff`` (their worker is gone or stuck)."""
    rows = await session.execute(select(*RUN_COLUMNS)
                                 .where(Assessment.status == "running", silent_since(cutoff))
                                 .order_by(Assessment.started_at, Assessment.id))
    return _runs(rows.all())


async def waiting_queued(session: AsyncSession, cutoff: datetime) -> list[RunRow]:
    """Queued since before ``cutoff`` (their message was lost, or no worker takes work)."""
    rows = await session.execute(select(*RUN_COLUMNS)
                                 .where(Assessment.status == "queued",
                                        waiting_since(cutoff))
                                 .order_by(Assessment.queued_at, Assessment.id))
    return _runs(rows.all())


async def recently_active_with_results(session: AsyncSession, since: datetime,
                                      limit: int) -> list[tuple[str, str]]:
    """(id, organization id) of assessments with a result, changed since ``since``, the
    most recently changed first."""
    rows = await session.execute(
        select(Assessment.id, Assessment.organization_id)
        .where(Assessment.updated_at >= since,
               exists().where(AssessmentResultRow.assessment_id == Assessment.id))
        .order_by(Assessment.updated_at.desc(), Assessment.id).limit(limit))
    return [(i, o) for i, o in rows.all()]


# -- audit events --------------------------------------------------------------------------


async def audit_page(session: AsyncSession, *, action: str | None, since: datetime | None,
                     limit: int, offset: int) -> tuple[Sequence[AuditEvent], int]:
    """Newest first (the ``action, created_at`` and ``created_at`` indexes), and the total."""
    where: list[Any] = []
    if action is not None:
        where.append(AuditEvent.action == action)
    if since is not None:
        where.append(AuditEvent.created_at >= since)
    total = await session.scalar(select(func.count()).select_from(AuditEvent).where(*where))
    rows = await session.execute(select(AuditEvent).where(*where)
                                 .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                                 .limit(limit).offset(offset))
    return rows.scalars().all(), int(total or 0)


async def events_since(session: AsyncSession, action: str, since: datetime,
                       limit: int) -> Sequence[AuditEvent]:
    """The newest ``limit`` events of ``action`` since ``since``."""
    rows = await session.execute(select(AuditEvent)
                                 .where(AuditEvent.action == action,
                                        AuditEvent.created_at >= since)
                                 .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                                 .limit(limit))
    return rows.scalars().all()


# -- users ---------------------------------------------------------------------------------


async def emails_of(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.email).where(User.id.in_(ids)))
    return {i: e for i, e in rows.all()}


async def set_platform_admin(session: AsyncSession, email: str, value: bool) -> User | None:
    """Grant or revoke; the user, or None when no account has this email."""
    user = (await session.execute(select(User).where(User.email == email.lower())
                                  )).scalar_one_or_none()
    if user is not None:
        user.is_platform_admin = value
        await session.flush()
    return user


async def platform_admins(session: AsyncSession) -> Sequence[User]:
    rows = await session.execute(select(User).where(User.is_platform_admin.is_(True))
                                 .order_by(User.email))
    return rows.scalars().all()
