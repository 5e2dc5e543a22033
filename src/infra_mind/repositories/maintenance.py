"""The retention queries of ``infra-mind cleanup-old-data``: what is old, by kind.

Each kind is a ``Retention``: which rows of which table are old enough to go, given a
cutoff time. ``count`` says how many there are; ``delete_batch`` deletes up to ``limit``
of them (by primary key) and returns how many went, so the caller commits batch by batch
and the tables are never locked for long. Nothing of an assessment that is queued or
running is ever selected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from infra_mind.models import (
    Assessment,
    AssessmentResultRow,
    AuditEvent,
    ChatMessage,
    Conversation,
    IdempotencyKey,
    RefreshToken,
)
from infra_mind.repositories.assessments import ACTIVE


def _old_result_versions(cutoff: datetime) -> Any:
    """Results older than ``cutoff`` that a newer version of the same assessment replaced,
    of assessments not queued or running (the latest version of each is always kept)."""
    newer = aliased(AssessmentResultRow)
    return (AssessmentResultRow.created_at < cutoff,
            exists().where(newer.assessment_id == AssessmentResultRow.assessment_id,
                           newer.version > AssessmentResultRow.version),
            ~exists().where(Assessment.id == AssessmentResultRow.assessment_id,
                            Assessment.status.in_(ACTIVE)))


def _old_audit_events(cutoff: datetime) -> Any:
    return (AuditEvent.created_at < cutoff,)


def _old_refresh_tokens(cutoff: datetime) -> Any:
    """Expired, or revoked, before ``cutoff``: neither can be used again (a used token
    that has not expired stays: presenting it again revokes its family)."""
    return (or_(RefreshToken.expires_at < cutoff, RefreshToken.revoked_at < cutoff),)


def _old_idempotency_keys(cutoff: datetime) -> Any:
    return (IdempotencyKey.created_at < cutoff,
            ~exists().where(Assessment.id == IdempotencyKey.assessment_id,
                            Assessment.status.in_(ACTIVE)))


def _old_conversations(cutoff: datetime) -> Any:
    """Conversations nobody wrote to since ``cutoff`` (their messages go with them)."""
    return (Conversation.updated_at < cutoff,)


@dataclass(frozen=True)
class Retention:
    kind: str
    table: Any  # the mapped class
    where: Callable[[datetime], Any]
    describe: str
    #: the foreign key of rows deleted with these by the database's cascade (counted)
    cascade: Any = None


RETENTIONS: tuple[Retention, ...] = (
    Retention("result_versions", AssessmentResultRow, _old_result_versions,
              "result versions replaced by a newer one (the latest is kept)"),
    Retention("conversations", Conversation, _old_conversations,
              "chat conversations not written to (with their messages)",
              cascade=ChatMessage.conversation_id),
    Retention("idempotency_keys", IdempotencyKey, _old_idempotency_keys,
              "Idempotency-Key records"),
    Retention("refresh_tokens", RefreshToken, _old_refresh_tokens,
              "refresh tokens expired or revoked"),
    Retention("audit_events", AuditEvent, _old_audit_events, "audit events"),
)


async def count(session: AsyncSession, retention: Retention, cutoff: datetime
                ) -> tuple[int, int]:
    """(old rows, rows that would go with them by cascade)."""
    old = select(retention.table.id).where(*retention.where(cutoff))
    total = await session.scalar(select(func.count()).select_from(old.subquery()))
    return int(total or 0), await _cascaded(session, retention, old)


async def delete_batch(session: AsyncSession, retention: Retention, cutoff: datetime,
                       limit: int) -> tuple[int, int]:
    """Delete up to ``limit`` old rows: (rows deleted, rows that went with them)."""
    table = retention.table
    ids = list((await session.execute(select(table.id).where(*retention.where(cutoff))
                                      .order_by(table.id).limit(limit))).scalars().all())
    if not ids:
        return 0, 0
    cascaded = await _cascaded(session, retention, ids)
    result = await session.execute(delete(table).where(table.id.in_(ids))
                                   .execution_options(synchronize_session=False))
    return cast(CursorResult, result).rowcount, cascaded


async def _cascaded(session: AsyncSession, retention: Retention, ids: Any) -> int:
    if retention.cascade is None:
        return 0
    total = await session.scalar(select(func.count()).select_from(retention.cascade.class_)
                                 .where(retention.cascade.in_(ids)))
    return int(total or 0)
