"""Logical, portable backups: ``infra-mind backup``, ``backup list`` and ``backup verify``.

A backup is one directory, ``<BACKUP_DIR>/<id>/``, readable with nothing but Python:

- ``tables/<table>.<part>.jsonl.gz``: a table's rows, one JSON array per line in the
  manifest's column order (the canonical row form of ``ops.tables``), gzip-compressed;
  ``.enc`` is appended when the backup is encrypted with the first key of
  ``ENCRYPTION_KEY`` (Fernet, as ``kit.crypto``). A table is split into parts so that
  no more than one part is held in memory.
- ``manifest.json``: the id, when, the source dialect and Alembic revision, every table
  with its columns, row count and content digest, every file with its size and SHA-256,
  and ``manifest_sha256`` over all of that. An encrypted backup also seals that digest
  with its key (``manifest_seal``), so an edited manifest is caught even when its digest
  was recomputed; an unencrypted one detects damage, not a deliberate edit.

The rows are read in one snapshot (``ops.tables.snapshot``) and written under
``.<id>.partial``, which is renamed into place once complete: a crash never leaves a
directory that looks like a backup. Restoring is ``ops.restore``.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import make_url

from infra_mind import __version__
from infra_mind.kit.crypto import fingerprint
from infra_mind.ops.tables import (
    ContentDigest,
    UnsupportedColumn,
    current_revision,
    decode,
    known_revisions,
    read_rows,
    redact,
    row_line,
    snapshot,
    table_specs,
)

FORMAT = "infra-mind-backup/1"
MANIFEST = "manifest.json"
#: A part holds at most this many rows, or this much JSON before compression.
PART_MAX_ROWS = 50_000
PART_MAX_BYTES = 32 * 2**20
#: ``20261201T020000Z-3f9a1c``: the time to the second, and a suffix that keeps apart two
#: backups taken in one second (listings order by the manifest's ``created_at``).
BACKUP_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")
#: An interrupted backup's directory is removed by a later backup after this long.
STALE_PARTIAL = timedelta(hours=24)


class BackupError(Exception):
    """A backup that cannot be made, found, read or restored; the message is one line."""


class BackupNotFound(BackupError):
    pass


def new_backup_id(now: datetime | None = None) -> str:
    return f"{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


# -- keys -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Keys:
    """The keys of ``ENCRYPTION_KEY``: the first encrypts, any decrypts what it wrote."""

    keys: tuple[bytes, ...] = ()

    @property
    def primary(self) -> bytes | None:
        return self.keys[0] if self.keys else None

    def fernet_for(self, key_fingerprint: str, backup_id: str) -> Fernet:
        if not self.keys:
            raise BackupError(f"backup {backup_id} is encrypted (key {key_fingerprint}): set "
                              "ENCRYPTION_KEY to the key that wrote it")
        for key in self.keys:
            if fingerprint(key) == key_fingerprint:
                return Fernet(key)
        raise BackupError(f"backup {backup_id} was encrypted with key {key_fingerprint}, "
                          "which ENCRYPTION_KEY does not hold (wrong key?)")


NO_KEYS = Keys()


# -- the manifest ---------------------------------------------------------------------------

def manifest_digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k not in ("manifest_sha256", "manifest_seal")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


@dataclass(frozen=True)
class Backup:
    """A backup directory and its manifest (read, not yet verified)."""

    path: Path
    manifest: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.manifest["id"])

    @property
    def key_fingerprint(self) -> str | None:
        encryption = self.manifest.get("encryption")
        return encryption["key_fingerprint"] if encryption else None

    @property
    def size_bytes(self) -> int:
        return sum(f["bytes"] for f in self.manifest["files"].values()) \
            + (self.path / MANIFEST).stat().st_size

    def manifest_intact(self) -> bool:
        return self.manifest.get("manifest_sha256") == manifest_digest(self.manifest)


def open_backup(directory: Path, backup_id: str) -> Backup:
    """The backup ``backup_id`` in ``directory``; ``BackupError`` when its manifest
    cannot be read, ``BackupNotFound`` when there is none."""
    if not BACKUP_ID.fullmatch(backup_id):
        raise BackupNotFound(f"{backup_id!r} is not a backup id (like 20261201T020000Z-3f9a1c)")
    path = directory / backup_id
    if not path.is_dir():
        raise BackupNotFound(f"no backup {backup_id} in {directory}")
    try:
        raw = (path / MANIFEST).read_bytes()
    except FileNotFoundError:
        raise BackupError(f"{backup_id}/{MANIFEST}: missing") from None
    except OSError as exc:
        raise BackupError(f"{backup_id}/{MANIFEST}: unreadable ({type(exc).__name__})") from None
    return Backup(path, parse_manifest(backup_id, raw))


def parse_manifest(backup_id: str, raw: bytes) -> dict[str, Any]:
    """A manifest's content, checked to be one this version reads (not yet verified);
    ``BackupError`` naming ``<id>/manifest.json`` otherwise. Local and off-site copies
    (``ops.offsite``) are read alike."""
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BackupError(f"{backup_id}/{MANIFEST}: unreadable ({type(exc).__name__})") from None
    needed = ("format", "id", "created_at", "tables", "files", "alembic_revision")
    if not isinstance(manifest, dict) or any(k not in manifest for k in needed):
        raise BackupError(f"{backup_id}/{MANIFEST}: not a backup manifest")
    if manifest["format"] != FORMAT:
        raise BackupError(f"{backup_id}/{MANIFEST}: format {manifest['format']!r}, this "
                          f"version reads {FORMAT!r}")
    if manifest["id"] != backup_id:
        raise BackupError(f"{backup_id}/{MANIFEST}: names backup {manifest['id']!r}")
    return manifest


def list_backups(directory: Path) -> list[Backup | BackupError]:
    """Every backup in ``directory``, oldest first, then any unreadable one as its error.
    Directories of interrupted backups (``.<id>.partial``) are not backups."""
    if not directory.is_dir():
        return []
    found: list[Backup] = []
    unreadable: list[BackupError] = []
    for path in sorted(directory.iterdir()):
        if path.is_dir() and BACKUP_ID.fullmatch(path.name):
            try:
                found.append(open_backup(directory, path.name))
            except BackupError as exc:
                unreadable.append(exc)
    found.sort(key=lambda b: (str(b.manifest["created_at"]), b.id))
    return [*found, *unreadable]


def partial_dirs(directory: Path) -> list[Path]:
    return sorted(directory.glob(".*.partial")) if directory.is_dir() else []


# -- writing --------------------------------------------------------------------------------

class _PartWriter:
    """Writes one table's rows into parts: gzip, then Fernet when a key is given."""

    def __init__(self, root: Path, table: str, fernet: Fernet | None) -> None:
        self.root, self.table, self.fernet = root, table, fernet
        self.files: dict[str, dict[str, Any]] = {}
        self._buffer = io.BytesIO()
        self._rows = 0

    def add(self, line: bytes) -> None:
        self._buffer.write(line + b"\n")
        self._rows += 1
        if self._rows >= PART_MAX_ROWS or self._buffer.tell() >= PART_MAX_BYTES:
            self.flush()

    def flush(self, final: bool = False) -> None:
        if not self._rows and not (final and not self.files):
            return  # an empty table still gets one (empty) part
        data = gzip.compress(self._buffer.getvalue(), mtime=0)
        if self.fernet is not None:
            data = self.fernet.encrypt(data)
        name = (f"tables/{self.table}.{len(self.files) + 1:04d}.jsonl.gz"
                + (".enc" if self.fernet else ""))
        _write_file(self.root / name, data)
        self.files[name] = {"bytes": len(data), "rows": self._rows,
                            "sha256": hashlib.sha256(data).hexdigest()}
        self._buffer = io.BytesIO()
        self._rows = 0


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def _dump(url: str, root: Path, fernet: Fernet | None) -> dict[str, Any]:
    """Write every table under ``root``; the manifest's body (no id, times or digests)."""
    known = known_revisions(url)
    async with snapshot(url) as conn:
        revision = await conn.run_sync(current_revision)
        if revision is None:
            raise BackupError(f"{redact(url)} is not migrated: nothing to back up "
                              "(run `infra-mind migrate`)")
        if revision not in known:
            raise BackupError(f"{redact(url)} is at revision {revision}, which this version "
                              f"of Infra Mind does not know (head {known[-1]}): back it up "
                              "with the version that migrated it")
        tables: list[dict[str, Any]] = []
        files: dict[str, dict[str, Any]] = {}
        for spec in await conn.run_sync(table_specs):
            writer = _PartWriter(root, spec.name, fernet)
            digest = ContentDigest()
            async for values in read_rows(conn, spec):
                line = row_line(values)
                digest.add(line)
                writer.add(line)
            writer.flush(final=True)
            files.update(writer.files)
            tables.append({"name": spec.name, "rows": digest.rows,
                           "columns": [{"name": n, "kind": k}
                                       for n, k in zip(spec.columns, spec.kinds, strict=True)],
                           "content_digest": digest.hexdigest(), "files": list(writer.files)})
    return {"source": {"dialect": make_url(url).get_backend_name(), "database": redact(url)},
            "alembic_revision": revision, "tables": tables, "files": files,
            "rows": sum(t["rows"] for t in tables),
            "bytes": sum(f["bytes"] for f in files.values())}


def create_backup(url: str, directory: Path, keys: Keys = NO_KEYS, *,
                  encrypt: bool | None = None) -> Backup:
    """Back up the database at ``url`` into ``directory``; encrypted when ``encrypt`` (by
    default: when ``keys`` holds a key). The backup exists only once complete."""
    if encrypt and keys.primary is None:
        raise BackupError("--encrypt needs ENCRYPTION_KEY")
    key = keys.primary if encrypt is not False else None
    fernet = Fernet(key) if key is not None else None
    backup_id = new_backup_id()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = directory / f".{backup_id}.partial"
    partial.mkdir(mode=0o700)
    try:
        try:
            body = asyncio.run(_dump(url, partial, fernet))
        except UnsupportedColumn as exc:
            raise BackupError(str(exc)) from None
        manifest: dict[str, Any] = {
            "format": FORMAT, "id": backup_id,
            "created_at": datetime.now(UTC).isoformat(),
            "infra_mind_version": __version__,
            "encryption": ({"scheme": "fernet", "key_fingerprint": fingerprint(key)}
                           if key is not None else None),
            **body}
        manifest["manifest_sha256"] = manifest_digest(manifest)
        if fernet is not None:
            manifest["manifest_seal"] = fernet.encrypt(
                manifest["manifest_sha256"].encode()).decode("ascii")
        _write_file(partial / MANIFEST, json.dumps(manifest, indent=2).encode() + b"\n")
        _fsync_dir(partial / "tables")
        _fsync_dir(partial)
        final = directory / backup_id
        partial.rename(final)
        _fsync_dir(directory)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return Backup(final, manifest)


def prune_backups(directory: Path, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` backups, and interrupted backups' directories
    older than a day; the ids (and directory names) deleted."""
    backups = [b for b in list_backups(directory) if isinstance(b, Backup)]
    removed = []
    for old in backups[:-keep] if keep > 0 else []:
        shutil.rmtree(old.path)
        removed.append(old.id)
    cutoff = time.time() - STALE_PARTIAL.total_seconds()
    for stale in partial_dirs(directory):
        if stale.stat().st_mtime < cutoff:
            shutil.rmtree(stale, ignore_errors=True)
            removed.append(stale.name)
    return removed


# -- reading and verifying ----------------------------------------------------------------

@dataclass
class Verification:
    backup: Backup
    problems: list[str] = field(default_factory=list)
    files: int = 0
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def backup_fernet(backup: Backup, keys: Keys) -> Fernet | None:
    if backup.key_fingerprint is None:
        return None
    return keys.fernet_for(backup.key_fingerprint, backup.id)


def _part_lines(backup: Backup, name: str, fernet: Fernet | None) -> list[bytes]:
    """The rows of one part, as lines; ``ValueError`` naming what is wrong with it."""
    path = backup.path / name
    if not path.is_file():
        raise ValueError("missing")
    data = path.read_bytes()
    entry = backup.manifest["files"].get(name)
    if entry is None:
        raise ValueError("not in the manifest's list of files")
    if len(data) != entry["bytes"]:
        raise ValueError(f"{len(data)} bytes, the manifest says {entry['bytes']}")
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ValueError("SHA-256 does not match the manifest (damaged)")
    if fernet is not None:
        try:
            data = fernet.decrypt(data)
        except InvalidToken:
            raise ValueError("cannot be decrypted with the backup's key") from None
    try:
        text = gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise ValueError(f"not gzip data ({exc})") from None
    lines = text.splitlines()
    if len(lines) != entry["rows"]:
        raise ValueError(f"{len(lines)} rows, the manifest says {entry['rows']}")
    return lines


def table_rows(backup: Backup, table: dict[str, Any], fernet: Fernet | None
               ) -> Iterator[list[Any]]:
    """The decoded rows of one table of a verified backup."""
    kinds = [c["kind"] for c in table["columns"]]
    for name in table["files"]:
        for line in _part_lines(backup, name, fernet):
            yield [decode(k, v) for k, v in zip(kinds, json.loads(line), strict=True)]


def verify_backup(directory: Path, backup_id: str, keys: Keys = NO_KEYS) -> Verification:
    """Check every byte: the manifest against its digest (and seal), each file's size and
    SHA-256, and, decrypted, each table's row count and content digest. Problems name
    the file; a missing or wrong key raises ``BackupError``."""
    backup = open_backup(directory, backup_id)
    report = Verification(backup)
    where = f"{backup_id}/{MANIFEST}"
    if not backup.manifest_intact():
        report.problems.append(f"{where}: content does not match its digest (edited or "
                               "damaged)")
        return report
    fernet = backup_fernet(backup, keys)
    if fernet is not None:
        try:
            sealed = fernet.decrypt(backup.manifest.get("manifest_seal", "").encode()).decode()
        except (InvalidToken, UnicodeError):
            sealed = None
        if sealed != backup.manifest["manifest_sha256"]:
            report.problems.append(f"{where}: its seal does not match (edited)")
            return report
    listed = set(backup.manifest["files"])
    for table in backup.manifest["tables"]:
        digest = ContentDigest()
        width = len(table["columns"])
        damaged = False
        for name in table["files"]:
            report.files += 1
            try:
                for number, line in enumerate(_part_lines(backup, name, fernet), start=1):
                    values = json.loads(line)
                    if not isinstance(values, list) or len(values) != width:
                        raise ValueError(f"line {number} is not a row of {width} values")
                    digest.add(line)
            except ValueError as exc:  # json's errors are ValueErrors too
                report.problems.append(f"{backup_id}/{name}: {exc}")
                damaged = True
        report.rows += digest.rows
        if damaged:
            continue
        if digest.rows != table["rows"]:
            report.problems.append(f"{backup_id}: table {table['name']} has {digest.rows} rows, "
                                   f"the manifest says {table['rows']}")
        elif digest.hexdigest() != table["content_digest"]:
            report.problems.append(f"{backup_id}: table {table['name']}: content digest does "
                                   "not match the manifest")
    for path in sorted(backup.path.rglob("*")):
        name = path.relative_to(backup.path).as_posix()
        if path.is_file() and name != MANIFEST and name not in listed:
            report.problems.append(f"{backup_id}/{name}: not listed in the manifest")
    return report
