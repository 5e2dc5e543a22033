"""Where off-site backups go: ``BACKUP_S3_URL`` parsed (standard library only, so that
the settings validate it without importing boto3)."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: S3 bucket names: 3 to 63 lowercase letters, digits, dots and hyphens.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # no leading or trailing slash; may be empty

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/" + (f"{self.prefix}/" if self.prefix else "")


def parse_s3_url(url: str) -> S3Location:
    """``s3://BUCKET[/PREFIX]``; ``ValueError`` (one line) for anything else."""
    if not url.startswith("s3://"):
        raise ValueError(f"must be s3://BUCKET[/PREFIX], not {url!r}")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ValueError(f"{bucket!r} is not an S3 bucket name (3 to 63 lowercase letters, "
                         "digits, dots and hyphens)")
    prefix = prefix.strip("/")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        raise ValueError(f"prefix {prefix!r} has an empty, '.' or '..' part")
    return S3Location(bucket, prefix)
