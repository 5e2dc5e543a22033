"""Maintenance: data retention (``cleanup-old-data``) and cache warming (``warm-cache``).

Retention, by kind (``repositories.maintenance.RETENTIONS``), older than ``days``:

- result versions replaced by a newer one (the latest of each assessment is kept), of
  assessments not queued or running;
- chat conversations nobody wrote to, with their messages;
- Idempotency-Key records (of runs not queued or running);
- refresh tokens expired or revoked;
- audit events, after ``audit_days`` (a year by default: audits look back that far).

Assessments themselves are never deleted: they are their owners' to delete. Each kind
goes in batches, each its own transaction, so the service keeps serving; the cleanup
then records what it deleted as an audit event (``maintenance.cleanup``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from infra_mind.kit.db import session_scope
from infra_mind.kit.platform import Platform
from infra_mind.models import utcnow
from infra_mind.repositories import maintenance as retention
from infra_mind.services import audit

BATCH_SIZE = 500
#: Audit events are kept this long unless told otherwise.
AUDIT_DAYS = 365
CLEANUP_ACTION = "maintenance.cleanup"


@dataclass
class KindCleanup:
    kind: str
    describe: str
    cutoff: datetime
    rows: int = 0  # deleted (or, in a dry run, that would be)
    cascaded: int = 0  # rows that went with them (a conversation's messages)
    batches: int = 0


@dataclass
class CleanupReport:
    days: int
    audit_days: int
    dry_run: bool
    kinds: list[KindCleanup] = field(default_factory=list)
    audit_event_id: str | None = None

    @property
    def total(self) -> int:
        return sum(k.rows + k.cascaded for k in self.kinds)

    def counts(self) -> dict[str, int]:
        """Rows per kind (a conversation's messages as ``chat_messages``)."""
        found = {k.kind: k.rows for k in self.kinds}
        found["chat_messages"] = sum(k.cascaded for k in self.kinds)
        return found


async def cleanup_old_data(platform: Platform, *, days: int, audit_days: int = AUDIT_DAYS,
                           dry_run: bool = False, batch_size: int = BATCH_SIZE,
                           now: datetime | None = None) -> CleanupReport:
    """Delete what is older than ``days`` (audit events: ``audit_days``), kind by kind in
    batches; ``dry_run`` counts and changes nothing (and records nothing)."""
    if days < 1 or audit_days < 1:
        raise ValueError("retention is at least one day")
    now = now or utcnow()
    report = CleanupReport(days=days, audit_days=audit_days, dry_run=dry_run)
    for kind in retention.RETENTIONS:
        cutoff = now - timedelta(days=audit_days if kind.kind == "audit_events" else days)
        done = KindCleanup(kind.kind, kind.describe, cutoff)
        report.kinds.append(done)
        if dry_run:
            async with platform.sessions() as session:
                done.rows, done.cascaded = await retention.count(session, kind, cutoff)
            continue
        while True:
            async with session_scope(platform.sessions) as session:
                deleted, cascaded = await retention.delete_batch(session, kind, cutoff,
                                                                 batch_size)
            if not deleted:
                break
            done.rows += deleted
            done.cascaded += cascaded
            done.batches += 1
    if not dry_run:
        async with session_scope(platform.sessions) as session:
            event = audit.record(session, action=CLEANUP_ACTION, actor_id=None,
                                 object_type="maintenance",
                                 detail={"days": days, "audit_days": audit_days,
                                         "deleted": report.counts()})
            await session.flush()
            report.audit_event_id = event.id
    return report


# -- cache warming ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _System:
    """The actor a warm-up reads as: a viewer of the assessment's organization."""

    roles: dict[str, str]
    id: str = "system:warm-cache"
    client_address: str | None = None


@dataclass
class WarmReport:
    catalog_rows: int = 0
    catalog_ms: float = 0.0
    catalog_source: str = ""
    results_considered: int = 0
    results_cached: int = 0  # read from the database into the cache
    results_already: int = 0  # the cache held them
    results_ms: float = 0.0
    results_skipped: str = ""  # why results were not warmed, if they were not


def _cache_lookups(platform: Platform, result: str) -> float:
    value = platform.metrics.registry.get_sample_value("cache_requests_total",
                                                       {"result": result})
    return value or 0.0


async def warm_cache(platform: Platform, *, days: int = 7, limit: int = 200,
                     results: bool = True) -> WarmReport:
    """Load the price catalog (and build its indexes), then put the latest result of the
    ``limit`` most recently active assessments (changed within ``days``) into the result
    cache, the way ``GET /assessments/{id}/result`` caches it (by version)."""
    from infra_mind.catalog.store import default_catalog
    from infra_mind.repositories.admin import recently_active_with_results
    from infra_mind.services.assessments import AssessmentService

    report = WarmReport()
    started = time.perf_counter()
    catalog = default_catalog(platform.settings.infra_mind_catalog)
    report.catalog_ms = round((time.perf_counter() - started) * 1000, 1)
    report.catalog_rows = len(catalog)
    report.catalog_source = str(catalog.path or "bundled")
    if not results:
        report.results_skipped = "not asked"
        return report
    started = time.perf_counter()
    hits, misses = _cache_lookups(platform, "hit"), _cache_lookups(platform, "miss")
    async with platform.sessions() as session:
        found = await recently_active_with_results(session, utcnow() - timedelta(days=days),
                                                   limit)
        report.results_considered = len(found)
        for assessment_id, organization_id in found:
            actor: Any = _System(roles={organization_id: "viewer"})
            await AssessmentService(session, actor, platform).latest_result(assessment_id)
    report.results_already = int(_cache_lookups(platform, "hit") - hits)
    report.results_cached = int(_cache_lookups(platform, "miss") - misses)
    report.results_ms = round((time.perf_counter() - started) * 1000, 1)
    return report
