"""Queries for users, their organizations and their refresh tokens (sign-in, sessions,
roles). The member list of one organization is ``repositories.organizations``.

Emails are stored lowercased (the API normalizes them), so an equality match on the
unique ``users.email`` index is a case-insensitive match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.models import Membership, Organization, RefreshToken, User


@dataclass(frozen=True)
class OrganizationRole:
    id: str
    name: str
    role: str


async def get_user(db: AsyncSession, user_id: str) -> User | None:
    return await db.get(User, user_id)


async def access_of(db: AsyncSession, user_id: str) -> tuple[bool, dict[str, str]] | None:
    """(is active, organization id -> role) of a user, in one statement; None when there
    is no such user."""
    rows = (await db.execute(
        select(User.is_active, Membership.organization_id, Membership.role)
        .outerjoin(Membership, Membership.user_id == User.id)
        .where(User.id == user_id))).all()
    if not rows:
        return None
    return bool(rows[0][0]), {org: role for _, org, role in rows if org is not None}


async def is_platform_admin(db: AsyncSession, user_id: str) -> bool:
    return bool(await db.scalar(select(User.is_platform_admin).where(User.id == user_id,
                                                                     User.is_active)))


async def set_active(db: AsyncSession, user_id: str, active: bool) -> bool:
    """Activate or deactivate a user; False when there is no such user."""
    result = await db.execute(update(User).where(User.id == user_id)
                              .values(is_active=active)
                              .execution_options(synchronize_session=False))
    return cast(CursorResult, result).rowcount == 1


async def set_membership(db: AsyncSession, *, user_id: str, organization_id: str,
                         role: str) -> None:
    """Give the user ``role`` in the organization (a new membership, or a changed role)."""
    changed = await db.execute(update(Membership)
                               .where(Membership.user_id == user_id,
                                      Membership.organization_id == organization_id)
                               .values(role=role)
                               .execution_options(synchronize_session=False))
    if cast(CursorResult, changed).rowcount == 0:
        db.add(Membership(organization_id=organization_id, user_id=user_id, role=role))
        await db.flush()


async def remove_membership(db: AsyncSession, *, user_id: str, organization_id: str) -> bool:
    """Take the user out of the organization; False when they were not in it."""
    result = await db.execute(delete(Membership)
                              .where(Membership.user_id == user_id,
                                     Membership.organization_id == organization_id)
                              .execution_options(synchronize_session=False))
    return cast(CursorResult, result).rowcount == 1


async def get_user_by_email(db: AsyncSession, email: str) -> User | None:
    rows = await db.execute(select(User).where(User.email == email.lower()))
    return rows.scalar_one_or_none()


async def add_user_with_organization(db: AsyncSession, *, email: str, password_hash: str,
                                     full_name: str, organization_name: str,
                                     role: str) -> tuple[User, Organization]:
    """Insert a user, an organization and the user's membership in it (flushed in FK order).

    A duplicate email raises ``sqlalchemy.exc.IntegrityError`` from the flush.
    """
    user = User(email=email.lower(), password_hash=password_hash, full_name=full_name,
                is_active=True)
    organization = Organization(name=organization_name)
    db.add_all([user, organization])
    await db.flush()
    db.add(Membership(organization_id=organization.id, user_id=user.id, role=role))
    await db.flush()
    return user, organization


async def organizations_of(db: AsyncSession, user_id: str) -> list[OrganizationRole]:
    rows = await db.execute(
        select(Organization.id, Organization.name, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.created_at, Organization.name))
    return [OrganizationRole(id=i, name=n, role=r) for i, n, r in rows.all()]


async def add_refresh_token(db: AsyncSession, *, token_id: str, user_id: str, family_id: str,
                            expires_at: datetime) -> RefreshToken:
    row = RefreshToken(id=token_id, user_id=user_id, family_id=family_id,
                       expires_at=expires_at)
    db.add(row)
    await db.flush()
    return row


async def get_refresh_token(db: AsyncSession, token_id: str) -> RefreshToken | None:
    rows = await db.execute(select(RefreshToken).where(RefreshToken.id == token_id))
    return rows.scalar_one_or_none()


async def claim_refresh_token(db: AsyncSession, *, token_id: str, user_id: str, family_id: str,
                              now: datetime) -> bool:
    """Mark a live refresh token used, atomically: True for exactly one concurrent caller.

    One conditional UPDATE: the row lock (PostgreSQL) or the write lock (SQLite) makes a
    second caller re-check ``used_at`` after the first commits, and match nothing.
    """
    result = await db.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.user_id == user_id,
               RefreshToken.family_id == family_id, RefreshToken.used_at.is_(None),
               RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False))
    return cast(CursorResult, result).rowcount == 1


async def revoke_family(db: AsyncSession, *, family_id: str, now: datetime,
                        user_id: str | None = None) -> int:
    """Revoke every live token of a family (only the user's own when ``user_id`` is given)."""
    stmt = (update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False))
    if user_id is not None:
        stmt = stmt.where(RefreshToken.user_id == user_id)
    result = await db.execute(stmt)
    return cast(CursorResult, result).rowcount


async def revoke_user_tokens(db: AsyncSession, *, user_id: str, now: datetime) -> int:
    """Revoke every live refresh token of a user (sign out everywhere)."""
    result = await db.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False))
    return cast(CursorResult, result).rowcount
