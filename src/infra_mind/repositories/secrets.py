"""Every query on encrypted values: organizations' secrets, and the key rotation's scan.

Three doors, by who is asking:

- ``OrganizationSecretRepository`` answers for one organization: every statement it runs
  carries that filter, so another organization's secret is simply not there.
- ``secrets_of_assessment`` answers a run: the secrets of the organization the assessment
  belongs to, and only of that one (the join is on the assessment's own organization).
- The rotation functions answer for ``infra-mind rotate-encryption-key``: they walk every
  encrypted column in ``ENCRYPTED_COLUMNS`` by primary key, and each write is guarded by
  the ciphertext it replaces, so a value changed meanwhile (a new PUT) is left as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from infra_mind.models import Assessment, OrganizationSecret


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
            found = await self.get(name)
            assert found is not None
            await self.session.refresh(found)
            return found, True
        row = OrganizationSecret(organization_id=self.organization_id, name=name,
                                 created_at=now, **values)
        try:
            async with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            self.session.expunge(row)
            await self._replace(name, values)
            found = await self.get(name)
            assert found is not None
            await self.session.refresh(found)
            return found, True
        return row, False

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


# -- the key rotation ---------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptedColumn:
    """A column holding ciphertexts, with the column naming the key that wrote each."""

    label: str
    id: InstrumentedAttribute[str]
    ciphertext: InstrumentedAttribute[str]
    key_fingerprint: InstrumentedAttribute[str]
    #: set to itself on rotation: re-encrypting does not change the value
    updated_at: InstrumentedAttribute[datetime] | None = None


#: Every encrypted column: ``infra-mind rotate-encryption-key`` re-encrypts them all.
ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn("organization_secrets.ciphertext", OrganizationSecret.id,
                    OrganizationSecret.ciphertext, OrganizationSecret.key_fingerprint,
                    OrganizationSecret.updated_at),
)


async def count_by_key(session: AsyncSession, column: EncryptedColumn) -> dict[str, int]:
    """Rows per key fingerprint."""
    rows = await session.execute(select(column.key_fingerprint, func.count())
                                 .group_by(column.key_fingerprint))
    return {fp: int(n) for fp, n in rows.all()}


async def not_under_key(session: AsyncSession, column: EncryptedColumn, key_fingerprint: str,
                        *, after_id: str, limit: int) -> list[tuple[str, str]]:
    """(id, ciphertext) of rows not written by ``key_fingerprint``, by id past
    ``after_id`` (a keyset walk: each batch starts where the last one ended)."""
    rows = await session.execute(
        select(column.id, column.ciphertext)
        .where(column.key_fingerprint != key_fingerprint, column.id > after_id)
        .order_by(column.id).limit(limit))
    return [(i, c) for i, c in rows.all()]


async def replace_ciphertext(session: AsyncSession, column: EncryptedColumn, row_id: str, *,
                             old: str, new: str, key_fingerprint: str) -> bool:
    """``old`` -> ``new``; False when the row changed (or went) since it was read."""
    values: dict[Any, Any] = {column.ciphertext: new, column.key_fingerprint: key_fingerprint}
    if column.updated_at is not None:
        values[column.updated_at] = column.updated_at
    table = column.id.class_
    result = await session.execute(
        update(table).where(column.id == row_id, column.ciphertext == old).values(values)
        .execution_options(synchronize_session=False))
    return cast(CursorResult, result).rowcount == 1
