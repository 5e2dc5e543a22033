"""Off-site copies of backups in S3-compatible object storage (``BACKUP_S3_URL``).

A backup's directory is copied as it is, file for file, under
``s3://BUCKET/PREFIX/<id>/``: the table parts first, ``manifest.json`` last, so an upload
cut short leaves a prefix with no manifest, which ``backup list --remote`` names as
incomplete and nothing restores. Nothing is decrypted or re-encoded on the way: an
encrypted backup stays Fernet ciphertext in the bucket, and a download is verified
byte for byte against its manifest (``ops.backup.verify_backup``) before a restore uses it.

Endpoint: AWS's own, or ``BACKUP_S3_ENDPOINT_URL`` for any S3-compatible store (MinIO,
Ceph, R2, ...; path-style addressing there). Credentials and region come from boto3's
standard chain: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``,
``AWS_PROFILE``, a web identity (a Kubernetes service account's role), an instance role;
``AWS_REGION`` or ``AWS_DEFAULT_REGION``.

Nothing here deletes from the bucket: ``BACKUP_KEEP`` prunes the local directory only. An
off-site copy is there for the day the host and its credentials are lost or misused, so
its retention belongs to the bucket (a lifecycle rule, versioning or Object Lock), where
the process that writes backups cannot shorten it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from infra_mind.config.s3 import S3Location, parse_s3_url
from infra_mind.ops.backup import (
    BACKUP_ID,
    MANIFEST,
    Backup,
    BackupError,
    BackupNotFound,
    manifest_digest,
    open_backup,
    parse_manifest,
)

_T = TypeVar("_T")
#: The files a manifest may name: its table parts (nothing outside the backup's folder).
_PART = re.compile(r"tables/[A-Za-z0-9_]+\.\d{4}\.jsonl\.gz(?:\.enc)?")
#: Bytes read or written at a time when a part is downloaded.
_CHUNK = 1 << 20


class OffsiteError(BackupError):
    """The object store refused or could not be reached; the message is one line."""


@dataclass(frozen=True)
class RemoteBackup:
    """A backup in the bucket, as its manifest describes it (read, not verified)."""

    id: str
    manifest: dict[str, Any]
    manifest_bytes: int

    @property
    def size_bytes(self) -> int:
        return sum(f["bytes"] for f in self.manifest["files"].values()) + self.manifest_bytes

    def manifest_intact(self) -> bool:
        return self.manifest.get("manifest_sha256") == manifest_digest(self.manifest)


@dataclass(frozen=True)
class Uploaded:
    backup_id: str
    files: int
    bytes: int
    where: str


class OffsiteStore:
    """The bucket and prefix of ``BACKUP_S3_URL`` on one endpoint."""

    def __init__(self, location: S3Location, endpoint_url: str | None = None) -> None:
        self.location = location
        self.endpoint_url = endpoint_url
        config = Config(connect_timeout=5, read_timeout=60,
                        retries={"max_attempts": 3, "mode": "standard"},
                        s3={"addressing_style": "path" if endpoint_url else "auto"})
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint_url,
                                                     config=config)

    @property
    def where(self) -> str:
        return str(self.location) + (f" at {self.endpoint_url}" if self.endpoint_url else "")

    # -- errors ---------------------------------------------------------------------------

    def _call(self, what: str, work: Callable[[], _T]) -> _T:
        """``work()``, with the object store's failure as one ``OffsiteError`` line."""
        try:
            return work()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "")
            if code == "NoSuchBucket":
                reason = f"bucket {self.location.bucket} does not exist"
            elif code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                reason = (f"access denied ({code}): check the credentials (AWS_ACCESS_KEY_ID "
                          "and AWS_SECRET_ACCESS_KEY, a profile or a role) and the bucket's "
                          "policy")
            else:
                message = str(error.get("Message") or "").strip().splitlines()
                reason = f"{code or type(exc).__name__}: {message[0] if message else exc}"
            raise OffsiteError(f"{what} {self.where}: {reason}") from None
        except EndpointConnectionError:
            raise OffsiteError(f"{what} {self.where}: cannot reach "
                               f"{self.endpoint_url or 'the S3 endpoint'}") from None
        except BotoCoreError as exc:  # no credentials, a bad region, a broken answer
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise OffsiteError(f"{what} {self.where}: {type(exc).__name__}: {reason}") from None

    # -- writing --------------------------------------------------------------------------

    def upload(self, backup: Backup) -> Uploaded:
        """Copy ``backup`` (verified by the caller) file by file, the manifest last; then
        check that every object is there at the manifest's size."""
        names = [*backup.manifest["files"], MANIFEST]
        sizes = {name: (backup.path / name).stat().st_size for name in names}
        for name in names:
            key = self.location.key(backup.id, name)
            with (backup.path / name).open("rb") as body:
                self._call(f"cannot copy {backup.id}/{name} to", lambda k=key, b=body:
                           self.client.put_object(Bucket=self.location.bucket, Key=k, Body=b))
        stored = self._objects(backup.id)
        wrong = [name for name in names if stored.get(name) != sizes[name]]
        if wrong:
            raise OffsiteError(f"copied {backup.id} to {self.where}, but {len(wrong)} "
                               f"object(s) are missing or of another size, first: {wrong[0]}")
        return Uploaded(backup.id, len(names), sum(sizes.values()),
                        f"{self.location}{backup.id}/")

    # -- reading --------------------------------------------------------------------------

    def _objects(self, backup_id: str) -> dict[str, int]:
        """{name under the backup's prefix: size} of the backup's objects."""
        root = self.location.key(backup_id) + "/"
        found: dict[str, int] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for page in self._call("cannot list", lambda: list(
                paginator.paginate(Bucket=self.location.bucket, Prefix=root))):
            for item in page.get("Contents", []):
                found[item["Key"][len(root):]] = int(item["Size"])
        return found

    def backup_ids(self) -> list[str]:
        """The ids with at least one object under the prefix, complete or not, sorted."""
        root = self.location.key() + "/" if self.location.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        ids: set[str] = set()
        for page in self._call("cannot list", lambda: list(paginator.paginate(
                Bucket=self.location.bucket, Prefix=root, Delimiter="/"))):
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(root):].rstrip("/")
                if BACKUP_ID.fullmatch(name):
                    ids.add(name)
        return sorted(ids)

    def _manifest(self, backup_id: str) -> RemoteBackup:
        key = self.location.key(backup_id, MANIFEST)

        def read() -> bytes | None:
            try:
                answer = self.client.get_object(Bucket=self.location.bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return None
                raise
            return answer["Body"].read()

        raw = self._call("cannot read", read)
        if raw is None:
            raise BackupNotFound(f"{backup_id}/{MANIFEST}: not in {self.where} (an upload "
                                 "cut short, or no such backup)")
        return RemoteBackup(backup_id, parse_manifest(backup_id, raw), len(raw))

    def has_backup(self, backup_id: str) -> bool:
        """Whether the bucket holds the backup whole (its manifest, written last, is there)."""
        key = self.location.key(backup_id, MANIFEST)

        def head() -> bool:
            try:
                self.client.head_object(Bucket=self.location.bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return False
                raise
            return True

        return self._call("cannot read", head)

    def list(self) -> list[RemoteBackup | BackupError]:
        """Every backup in the bucket, oldest first, then each unreadable or incomplete one
        as its error (an unreachable store raises ``OffsiteError``)."""
        found: list[RemoteBackup] = []
        problems: list[BackupError] = []
        for backup_id in self.backup_ids():
            try:
                found.append(self._manifest(backup_id))
            except OffsiteError:
                raise
            except BackupError as exc:
                problems.append(exc)
        found.sort(key=lambda b: (str(b.manifest["created_at"]), b.id))
        return [*found, *problems]

    def download(self, backup_id: str, directory: Path) -> Backup:
        """Copy the backup into ``directory/<id>`` (which must not exist), through a
        ``.partial`` directory renamed once every file is there. Not verified here: the
        caller verifies (a restore always does)."""
        if not BACKUP_ID.fullmatch(backup_id):
            raise BackupNotFound(f"{backup_id!r} is not a backup id (like "
                                 "20261201T020000Z-3f9a1c)")
        remote = self._manifest(backup_id)
        final = directory / backup_id
        if final.exists():
            raise BackupError(f"{final} exists already: it is the local copy of {backup_id}")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{backup_id}.", suffix=".partial",
                                        dir=directory))
        strange = [name for name in remote.manifest["files"] if not _PART.fullmatch(name)]
        if strange:
            raise BackupError(f"{backup_id}/{MANIFEST} in {self.where} names a file that is "
                              f"not a table part of a backup: {strange[0]!r}")
        try:
            for name in [*remote.manifest["files"], MANIFEST]:
                self._fetch(self.location.key(backup_id, name), partial / name)
            partial.rename(final)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return open_backup(directory, backup_id)

    def _fetch(self, key: str, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)

        def copy() -> None:
            answer = self.client.get_object(Bucket=self.location.bucket, Key=key)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                for chunk in answer["Body"].iter_chunks(_CHUNK):
                    out.write(chunk)

        self._call(f"cannot read {key} from", copy)


def store_from(url: str, endpoint_url: str | None) -> OffsiteStore:
    return OffsiteStore(parse_s3_url(url), endpoint_url)


@contextmanager
def downloaded(store: OffsiteStore, backup_id: str, directory: Path) -> Iterator[Path]:
    """The backup copied from the bucket into a scratch directory under ``directory``
    (removed afterwards): the directory that holds it. The local copy, if any, is left
    as it is; a scratch directory a crash leaves behind is a ``.partial`` that a later
    backup removes after a day."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{backup_id}.from-s3.", suffix=".partial",
                                    dir=directory))
    try:
        store.download(backup_id, scratch)
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
