"""Audit events: who did what to which object, when, from where. Written in the
request's transaction, so an action and its record commit together."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.models import AuditEvent


def record(session: AsyncSession, *, action: str, actor_id: str | None,
           organization_id: str | None = None, object_type: str | None = None,
           object_id: str | None = None, client_address: str | None = None,
           detail: dict[str, Any] | None = None) -> AuditEvent:
    """Add an audit event to the session (never holds secrets: callers pass ids and names)."""
    event = AuditEvent(action=action, actor_id=actor_id, organization_id=organization_id,
                       object_type=object_type, object_id=object_id,
                       client_address=client_address, detail=detail)
    session.add(event)
    return event
