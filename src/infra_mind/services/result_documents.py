"""Result documents as the API serves them: the JSON bytes of a stored result, written
once, and a strong ETag naming them.

A result version never changes once written, so a document keyed by (assessment,
version) is never stale: it is kept in the platform cache (``result-json:<id>:<version>``,
for ``RESULT_CACHE_TTL_S``; 0: not kept) and in this process's ``ResultDocuments``. Who
may read one is the caller's business (``services.assessments``), on every read.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from infra_mind.kit.platform import Platform
from infra_mind.kit.slots import Slot
from infra_mind.models import AssessmentResultRow


@dataclass(frozen=True)
class ResultDocument:
    """A result as served: the JSON bytes (the API's ``ResultRead``) and a strong ETag."""

    etag: str
    body: bytes


class ResultDocuments:
    """This process's copies of result documents, the least recently used dropped first
    past ``max_bytes``. A document is keyed by (assessment, version) and never changes, so
    a copy is never stale; it saves the shared cache's round trip (Redis) on every read,
    and access is still checked by the caller on every read."""

    def __init__(self, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._documents: OrderedDict[str, ResultDocument] = OrderedDict()
        self._bytes = 0

    def get(self, key: str) -> ResultDocument | None:
        document = self._documents.get(key)
        if document is not None:
            self._documents.move_to_end(key)
        return document

    def put(self, key: str, document: ResultDocument) -> None:
        if len(document.body) > self.max_bytes or key in self._documents:
            return
        self._documents[key] = document
        self._bytes += len(document.body)
        while self._bytes > self.max_bytes:
            _, dropped = self._documents.popitem(last=False)
            self._bytes -= len(dropped.body)


#: The platform's ``ResultDocuments`` (one per process).
RESULT_DOCUMENTS: Slot[ResultDocuments] = Slot("result_documents")


def result_documents(platform: Platform) -> ResultDocuments:
    """The platform's ``ResultDocuments``, made on first use."""
    copies = platform.get(RESULT_DOCUMENTS)
    if copies is None:
        copies = platform[RESULT_DOCUMENTS] = ResultDocuments()
    return copies


def result_document(row: AssessmentResultRow) -> ResultDocument:
    """The JSON of a stored result (the fields of the API's ``ResultRead``, times in UTC
    with a ``Z``), written once, and an ETag that names these bytes: the version and a
    digest of them."""
    body = orjson.dumps({"assessment_id": row.assessment_id, "version": row.version,
                         "catalog_as_of": row.catalog_as_of,
                         "created_at": _aware(row.created_at), "result": row.result},
                        option=orjson.OPT_UTC_Z)
    return ResultDocument(etag=f'"{row.version}-{hashlib.sha256(body).hexdigest()[:32]}"',
                         body=body)


def _key(assessment_id: str, version: int) -> str:
    return f"result-json:{assessment_id}:{version}"


async def cached(platform: Platform, assessment_id: str, version: int
                 ) -> ResultDocument | None:
    """The document of ``version``, from this process or the platform cache (counted as
    a cache hit or miss)."""
    ttl_s = platform.settings.result_cache_ttl_s
    document = None
    if ttl_s > 0:
        copies, key = result_documents(platform), _key(assessment_id, version)
        document = copies.get(key)
        if document is None and (kept := await platform.cache.get(key)) is not None:
            etag, _, body = kept.partition("\n")
            document = ResultDocument(etag=etag, body=body.encode())
            copies.put(key, document)
    metrics = platform.metrics
    (metrics.cache_miss if document is None else metrics.cache_hit).inc()
    return document


async def keep(platform: Platform, row: AssessmentResultRow) -> ResultDocument:
    """The document of a stored result, kept for the next reads."""
    document = result_document(row)
    ttl_s = platform.settings.result_cache_ttl_s
    if ttl_s > 0:
        key = _key(row.assessment_id, row.version)
        await platform.cache.set(key, f"{document.etag}\n{document.body.decode()}", ttl_s)
        result_documents(platform).put(key, document)
    return document


def _aware(value: datetime) -> datetime:
    # SQLite returns times without a zone; they are stored in UTC
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
