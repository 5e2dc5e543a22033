"""Encryption key rotation: every encrypted value re-encrypted under the first key.

The procedure (docs/ops/security-and-maintenance.md): put the new key first in
``ENCRYPTION_KEY`` and keep the old one after it (``NEW,OLD``), restart the API and the
workers (from then on they write with the new key and read both), run
``infra-mind rotate-encryption-key``, check that ``--dry-run`` finds nothing left, then
drop the old key. The service keeps answering throughout: each batch commits on its own
and every reader decrypts old and new ciphertexts alike.

A run is idempotent: a value already under the first key is skipped, and a value changed
while the run read it (a new PUT) is left as its writer wrote it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from infra_mind.kit.crypto import CryptoError, Keyring
from infra_mind.kit.db import session_scope
from infra_mind.kit.platform import Platform
from infra_mind.repositories.encryption import (
    ENCRYPTED_COLUMNS,
    EncryptedColumn,
    count_by_key,
    not_under_key,
    replace_ciphertext,
)

BATCH_SIZE = 200


class RotationFailed(Exception):
    """A value no key decrypts (one line: the column and the row's id, never a value)."""


@dataclass
class ColumnRotation:
    column: str
    rows: int = 0
    already_current: int = 0
    reencrypted: int = 0  # with --dry-run: would be re-encrypted
    changed_meanwhile: int = 0  # rewritten by their owner during the run: left as written
    batches: int = 0


async def rotate(platform: Platform, keyring: Keyring, *, dry_run: bool = False,
                 batch_size: int = BATCH_SIZE,
                 after_batch: Callable[[ColumnRotation], Awaitable[None]] | None = None
                 ) -> list[ColumnRotation]:
    """Re-encrypt, under ``keyring``'s first key, every value another key wrote.

    Each batch of ``batch_size`` rows is its own transaction. ``dry_run`` decrypts every
    value that would be re-encrypted (so a value no key reads fails the dry run too) and
    writes nothing. ``after_batch`` is called after each batch commits.
    """
    return [await _rotate_column(platform, keyring, column, dry_run=dry_run,
                                 batch_size=batch_size, after_batch=after_batch)
            for column in ENCRYPTED_COLUMNS]


async def _rotate_column(platform: Platform, keyring: Keyring, column: EncryptedColumn, *,
                         dry_run: bool, batch_size: int,
                         after_batch: Callable[[ColumnRotation], Awaitable[None]] | None
                         ) -> ColumnRotation:
    report = ColumnRotation(column.label)
    async with platform.sessions() as session:
        by_key = await count_by_key(session, column)
    report.rows = sum(by_key.values())
    report.already_current = by_key.get(keyring.primary, 0)
    last_id = ""
    while True:
        async with session_scope(platform.sessions) as session:
            batch = await not_under_key(session, column, keyring.primary, after_id=last_id,
                                        limit=batch_size)
            if not batch:
                break
            for row_id, ciphertext in batch:
                try:
                    rotated = keyring.rotate(ciphertext)
                except CryptoError:
                    raise RotationFailed(
                        f"{column.label} row {row_id}: no key of ENCRYPTION_KEY "
                        f"({', '.join(keyring.fingerprints)}) decrypts it; put back the key "
                        "that wrote it (after the new one) and run again") from None
                if dry_run or await replace_ciphertext(session, column, row_id,
                                                       old=ciphertext, new=rotated,
                                                       key_fingerprint=keyring.primary):
                    report.reencrypted += 1
                else:
                    report.changed_meanwhile += 1
            last_id = batch[-1][0]
        report.batches += 1
        if after_batch is not None:
            await after_batch(report)
    return report
