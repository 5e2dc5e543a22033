"""Off-site backups (``BACKUP_S3_URL``) against a real S3 server on loopback.

The server is moto's ``ThreadedMotoServer``: it speaks the S3 protocol over HTTP, so boto3
signs, sends and parses exactly what it would with AWS or MinIO. A database filled through
the API (an assessment run, chat) is backed up, encrypted, copied to the bucket, the local
copy removed, and restored from the bucket alone into an empty database: the same content,
table by table. A missing bucket and a server that is down fail in one line with the local
backup kept, and the next backup copies what was missed. A damaged or cut-short copy in
the bucket is refused before anything changes.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.fernet import Fernet

from infra_mind.ops.backup import BACKUP_ID
from tests.ops.test_backup import Source, digests, fill, run

PREFIX = "prod/nightly"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _environment(monkeypatch, tmp_path):
    for name in ("ENCRYPTION_KEY", "BACKUP_DIR", "BACKUP_KEEP", "CONFIG_DIR", "ENVIRONMENT",
                 "DATABASE_URL", "BACKUP_S3_URL", "BACKUP_S3_ENDPOINT_URL", "AWS_PROFILE",
                 "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    # credentials of the test server only; no file or profile of this machine is read
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "infra-mind-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "infra-mind-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [h for h in root.handlers
                                           if type(h) is not logging.StreamHandler])


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Source:
    folder = tmp_path_factory.mktemp("offsite-source")
    url = f"sqlite+aiosqlite:///{folder}/source.db"
    return Source("sqlite", url, fill(url, folder))


def _client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="infra-mind-test",
                        aws_secret_access_key="infra-mind-test-secret")


@pytest.fixture()
def bucket(s3_endpoint) -> Iterator[str]:
    """A fresh bucket, emptied and removed afterwards."""
    name = f"im-test-{uuid.uuid4().hex[:12]}"
    client = _client(s3_endpoint)
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=name, Key=item["Key"])
        client.delete_bucket(Bucket=name)


def _keys(endpoint: str, bucket: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for page in _client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["Size"]
    return found


def _use(monkeypatch, source: Source, backups: Path, endpoint: str, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", source.url)
    monkeypatch.setenv("BACKUP_DIR", str(backups))
    monkeypatch.setenv("BACKUP_S3_URL", url)
    monkeypatch.setenv("BACKUP_S3_ENDPOINT_URL", endpoint)


def _backup(capsys) -> tuple[int, str, str, str]:
    code, out, err = run(capsys, "backup")
    backup_id = out.split()[-1]
    assert BACKUP_ID.fullmatch(backup_id), out
    return code, out, err, backup_id


# -- the round trip ---------------------------------------------------------------------------

def test_an_encrypted_backup_is_copied_off_site_and_restored_from_there_alone(
        source, bucket, s3_endpoint, tmp_path, capsys, monkeypatch):
    backups = tmp_path / "backups"
    _use(monkeypatch, source, backups, s3_endpoint, f"s3://{bucket}/{PREFIX}/")
    monkeypatch.setenv("ENCRYPTION_KEY", Fernet.generate_key().decode())
    code, out, err, backup_id = _backup(capsys)
    assert code == 0, err
    manifest = json.loads((backups / backup_id / "manifest.json").read_text())
    files = [*manifest["files"], "manifest.json"]
    assert (f"copied {backup_id} (verified) to s3://{bucket}/{PREFIX}/{backup_id}/: "
            f"{len(files)} files") in out

    stored = _keys(s3_endpoint, bucket)
    assert stored == {f"{PREFIX}/{backup_id}/{name}": (backups / backup_id / name).stat().st_size
                      for name in files}
    # ciphertext off-site, as on disk: no part is readable gzip
    client = _client(s3_endpoint)
    for name in manifest["files"]:
        assert name.endswith(".enc")
        body = client.get_object(Bucket=bucket, Key=f"{PREFIX}/{backup_id}/{name}")["Body"]
        assert not body.read().startswith(b"\x1f\x8b")

    code, out, _ = run(capsys, "backup", "list", "--remote")
    assert code == 0
    [row] = [line for line in out.splitlines() if line.startswith(backup_id)]
    assert row.split()[-1] == "yes" and f"{manifest['rows']:>8}" in row

    shutil.rmtree(backups / backup_id)  # the host's copy is gone
    target = f"sqlite+aiosqlite:///{tmp_path}/recovered.db"
    monkeypatch.setenv("DATABASE_URL", target)
    code, out, err = run(capsys, "restore", backup_id, "--from-s3", "--yes")
    assert code == 0, err
    assert out.splitlines()[0] == (f"downloaded backup {backup_id} from s3://{bucket}/"
                                   f"{PREFIX}/ at {s3_endpoint}")
    assert f"restored {manifest['rows']} rows" in out
    assert digests(target) == digests(source.url)
    assert list(backups.iterdir()) == []  # the scratch download is removed


# -- failures: one line, the local backup kept --------------------------------------------------

def test_a_failed_copy_keeps_the_local_backup_and_the_next_backup_copies_it(
        source, bucket, s3_endpoint, tmp_path, capsys, monkeypatch):
    backups = tmp_path / "backups"
    down = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    _use(monkeypatch, source, backups, down, f"s3://{bucket}/{PREFIX}")
    code, out, err, first = _backup(capsys)
    assert code == 1
    assert err.splitlines() == [
        f"error: backup {first} is kept in {backups} but not copied off-site: cannot copy "
        f"{first}/tables/audit_events.0001.jsonl.gz to s3://{bucket}/{PREFIX}/ at {down}: "
        f"cannot reach {down}"]
    code, out, _ = run(capsys, "backup", "verify", first)
    assert code == 0 and f"backup {first} ok" in out

    _use(monkeypatch, source, backups, s3_endpoint, "s3://im-no-such-bucket/x")
    code, out, err, second = _backup(capsys)
    assert code == 1
    assert err.splitlines() == [
        f"error: backup {second} is kept in {backups} but not copied off-site: cannot copy "
        f"{second}/tables/audit_events.0001.jsonl.gz to s3://im-no-such-bucket/x/ at "
        f"{s3_endpoint}: bucket im-no-such-bucket does not exist"]
    assert {p.name for p in backups.iterdir()} == {first, second}
    assert _keys(s3_endpoint, bucket) == {}

    _use(monkeypatch, source, backups, s3_endpoint, f"s3://{bucket}/{PREFIX}")
    code, out, err, third = _backup(capsys)
    assert code == 0, err
    assert f"copied {third} (verified)" in out
    assert f"copied earlier backup {first} (verified)" in out
    assert f"copied earlier backup {second} (verified)" in out
    ids = {key.split("/")[2] for key in _keys(s3_endpoint, bucket)}
    assert ids == {first, second, third}

    code, out, _ = _backup(capsys)[:3]
    assert code == 0 and "earlier backup" not in out  # nothing is copied twice


def test_a_damaged_copy_in_the_bucket_is_refused_before_anything_changes(
        source, bucket, s3_endpoint, tmp_path, capsys, monkeypatch):
    backups = tmp_path / "backups"
    _use(monkeypatch, source, backups, s3_endpoint, f"s3://{bucket}/{PREFIX}")
    code, _, err, backup_id = _backup(capsys)
    assert code == 0, err
    client = _client(s3_endpoint)
    key = f"{PREFIX}/{backup_id}/tables/users.0001.jsonl.gz"
    data = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0xFF
    client.put_object(Bucket=bucket, Key=key, Body=bytes(data))

    target = tmp_path / "untouched.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{target}")
    code, _, err = run(capsys, "restore", backup_id, "--from-s3", "--yes")
    assert code == 1
    [line] = err.splitlines()
    assert line.startswith(f"error: backup {backup_id} failed verification, nothing was "
                           f"changed: {backup_id}/tables/users.0001.jsonl.gz: SHA-256 does "
                           "not match the manifest")
    assert not target.exists()
    assert {p.name for p in backups.iterdir()} == {backup_id}  # scratch copy removed


def _manifest(endpoint: str, bucket: str, backup_id: str) -> dict[str, Any]:
    body = _client(endpoint).get_object(Bucket=bucket,
                                        Key=f"{PREFIX}/{backup_id}/manifest.json")["Body"]
    return json.loads(body.read())


def test_a_copy_cut_short_or_naming_outside_files_is_not_restored(
        source, bucket, s3_endpoint, tmp_path, capsys, monkeypatch):
    backups = tmp_path / "backups"
    _use(monkeypatch, source, backups, s3_endpoint, f"s3://{bucket}/{PREFIX}")
    code, _, err, backup_id = _backup(capsys)
    assert code == 0, err
    client = _client(s3_endpoint)
    # an upload cut short: parts, no manifest (it goes last)
    cut = "20260101T000000Z-abcdef"
    client.put_object(Bucket=bucket, Key=f"{PREFIX}/{cut}/tables/users.0001.jsonl.gz",
                      Body=b"partial")
    code, out, _ = run(capsys, "backup", "list", "--remote")
    assert code == 0
    assert f"(incomplete or unreadable) {cut}/manifest.json: not in s3://{bucket}/" in out
    assert any(line.startswith(backup_id) for line in out.splitlines())

    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/target.db")
    code, _, err = run(capsys, "restore", cut, "--from-s3", "--yes")
    assert code == 3 and len(err.splitlines()) == 1 and "manifest.json: not in" in err

    # a manifest that names a file outside the backup's folder is not followed
    evil = _manifest(s3_endpoint, bucket, backup_id)
    evil["files"]["../../escaped"] = next(iter(evil["files"].values()))
    client.put_object(Bucket=bucket, Key=f"{PREFIX}/{backup_id}/manifest.json",
                      Body=json.dumps(evil).encode())
    code, _, err = run(capsys, "restore", backup_id, "--from-s3", "--yes")
    assert code == 1
    assert err.splitlines() == [f"error: {backup_id}/manifest.json in s3://{bucket}/{PREFIX}/ "
                                f"at {s3_endpoint} names a file that is not a table part of a "
                                "backup: '../../escaped'"]
    assert not (tmp_path / "escaped").exists() and not (backups.parent / "escaped").exists()


def test_remote_options_need_a_valid_bucket_url(source, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", source.url)
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "backups"))
    code, _, err = run(capsys, "backup", "list", "--remote")
    assert (code, err) == (2, "error: --remote needs BACKUP_S3_URL (s3://BUCKET[/PREFIX])\n")
    code, _, err = run(capsys, "restore", "20260101T000000Z-abcdef", "--from-s3", "--yes")
    assert (code, err) == (2, "error: --from-s3 needs BACKUP_S3_URL (s3://BUCKET[/PREFIX])\n")
    monkeypatch.setenv("BACKUP_S3_URL", "https://bucket.s3.amazonaws.com/x")
    code, _, err = run(capsys, "backup")
    assert code == 2
    assert err == ("error: BACKUP_S3_URL: must be s3://BUCKET[/PREFIX], not "
                   "'https://bucket.s3.amazonaws.com/x'\n")
    assert not (tmp_path / "backups").exists()  # refused before any backup was taken
