"""Every encrypted column, and the queries of ``infra-mind rotate-encryption-key``.

The rotation walks each column in ``ENCRYPTED_COLUMNS`` by primary key, and each write is
guarded by the ciphertext it replaces, so a value changed meanwhile (a new PUT) is left as
written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from infra_mind.models import OrganizationSecret


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
