"""Every query of an organization's own objects: its members, its secrets.

Two doors to the secrets, by who is asking:

- ``OrganizationSecretRepository`` answers for one organization: every statement it runs
  carries that filter, so another organization's secret is simply not there.
- ``secrets_of_assessment`` answers a run: the secrets of the organization the assessment
  belongs to, and only of that one (the join is on the assessment's own organization).

The key rotation's scan over every encrypted column is ``repositories.encryption``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.models import Assessment, Membership, OrganizationSecret, User


@dataclass(frozen=True)
class OrganizationMember:
    user_id: str
    email: str
    full_name: str
    role: str


async def members_of(db: AsyncSession, organization_id: str) -> list[OrganizationMember]:
    """The organization's members, in the order they joined."""
    rows = await db.execute(
        select(User.id, User.email, User.full_name, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == organization_id)
        .order_by(Membership.created_at, User.email))
    return [OrganizationMember(user_id=i, email=e, full_name=n, role=r)
            for i, e, n, r in rows.all()]


class OrganizationSecretRepository:
    """Secrets of ``organization_id`` only (the filter is in every query)."""

    def __init__(self, session: AsyncSession, organization_id: str) -> None:
        self.session = session
        self.organization_id = organization_id

    def _ours(self) -> Any:
        return OrganizationSecret.organization_id == self.organization_id

    async def all(self) -> Sequence[OrganizationSecret]:
        rows = await self.session.execute(select(OrganizationSecret).where(self._ours())
                                          .order_by(OrganizationSecret.name))
        return rows.scalars().all()

    async def ciphertexts(self) -> dict[str, str]:
        """``{name: ciphertext}`` of every secret set (for the code that decrypts them)."""
        rows = await self.session.execute(
            select(OrganizationSecret.name, OrganizationSecret.ciphertext).where(self._ours()))
        return {name: ciphertext for name, ciphertext in rows.all()}

    async def get(self, name: str) -> OrganizationSecret | None:
        rows = await self.session.execute(select(OrganizationSecret).where(
            self._ours(), OrganizationSecret.name == name))
        return rows.scalar_one_or_none()

    async def put(self, name: str, *, ciphertext: str, key_fingerprint: str, hint: str,
                  user_id: str, now: datetime) -> tuple[OrganizationSecret, bool]:
        """Set the secret; (row, True) when it replaced one. Two concurrent first PUTs:
        the loser's insert fails on the unique constraint inside a savepoint, and it
        replaces the winner's value instead (the last write wins, as for any PUT)."""
        values = {"ciphertext": ciphertext, "key_fingerprint": key_fingerprint, "hint": hint,
                  "updated_by": user_id, "updated_at": now}
        if await self._replace(name, values):
            return await self._reread(name), True
        row = OrganizationSecret(organization_id=self.organization_id, name=name,
                                 created_at=now, **values)
        try:
            async with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            self.session.expunge(row)
            await self._replace(name, values)
            return await self._reread(name), True
        return row, False

    async def _reread(self, name: str) -> OrganizationSecret:
        """The row as an UPDATE left it (the session's copy, refreshed from the database)."""
        found = await self.get(name)
        assert found is not None
        await self.session.refresh(found)
        return found

    async def _replace(self, name: str, values: dict[str, Any]) -> bool:
        result = await self.session.execute(
            update(OrganizationSecret)
            .where(self._ours(), OrganizationSecret.name == name).values(**values)
            .execution_options(synchronize_session=False))
        return cast(CursorResult, result).rowcount == 1

    async def delete(self, name: str) -> bool:
        result = await self.session.execute(
            delete(OrganizationSecret).where(self._ours(), OrganizationSecret.name == name)
            .execution_options(synchronize_session=False))
        return cast(CursorResult, result).rowcount == 1


async def secrets_of_assessment(session: AsyncSession, assessment_id: str
                                ) -> tuple[str | None, dict[str, str]]:
    """(organization id, ``{name: ciphertext}`` of its secrets) of the organization that
    ``assessment_id`` belongs to, in one query; (None, {}) when the assessment is gone."""
    rows = (await session.execute(
        select(Assessment.organization_id, OrganizationSecret.name,
               OrganizationSecret.ciphertext)
        .outerjoin(OrganizationSecret,
                   OrganizationSecret.organization_id == Assessment.organization_id)
        .where(Assessment.id == assessment_id))).all()
    if not rows:
        return None, {}
    return rows[0][0], {name: ciphertext for _, name, ciphertext in rows if name is not None}
