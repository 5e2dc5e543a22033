"""Every query on assessments, their results and idempotency keys.

Two doors, by who is asking:

- ``AssessmentRepository`` answers for a user: it is built with the organizations the
  user belongs to, and every statement it runs carries that tenant filter, so an
  assessment of another organization is simply not there.
- ``RunRepository`` answers for a job: a worker acts on the one assessment it was given
  (by id), and every write it makes is guarded by the state it expects (``status`` and
  ``worker_id``), so a cancel or a takeover wins over a late write.

Writers tell the cache what they changed once they commit (``assessment_cache``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from infra_mind.kit.cache import Cache
from infra_mind.kit.pubsub import Channel, committed, publish_on_commit
from infra_mind.models import Assessment, AssessmentResultRow, IdempotencyKey, Membership
from infra_mind.repositories.assessment_cache import changed_on_commit, result_on_commit

#: A run is in flight: it cannot be edited, and asking to run it again returns it.
ACTIVE = ("queued", "running")
#: A run is over; an event stream ends here.
TERMINAL = ("completed", "failed", "cancelled")


#: What a list shows of each assessment (``AssessmentRepository.page``): not the
#: requirements, which can be large and are not listed.
SUMMARY_COLUMNS = ("id", "organization_id", "owner_id", "title", "status", "progress",
                   "current_step", "error", "attempts", "queued_at", "started_at",
                   "finished_at", "created_at", "updated_at")
#: The latest result's recommendation, beside each listed assessment.
RECOMMENDATION_COLUMNS = ("recommended_provider", "recommended_region",
                          "recommended_monthly_cost_usd")


@dataclass(frozen=True)
class LatestRecommendation:
    """What an assessment's latest result recommends (each None when it recommends none)."""

    provider: str | None
    region: str | None
    monthly_cost_usd: float | None


def _page_statement(by_status: bool) -> Select[Any]:
    """A page of summaries and the total (a window count, taken before the limit) in a
    subquery, joined to each listed assessment's latest result, of which only the three
    recommendation fields are read (a JSON path on both databases), never the whole
    result. Built once: building it per request cost more than running it on SQLite."""
    where = [Assessment.organization_id.in_(bindparam("organization_ids", expanding=True))]
    if by_status:
        where.append(Assessment.status == bindparam("status"))
    listed = (select(*(getattr(Assessment, name) for name in SUMMARY_COLUMNS),
                     func.count().over().label("total"))
              .where(*where)
              .order_by(Assessment.created_at.desc(), Assessment.id.desc())
              .limit(bindparam("limit", type_=Integer))
              .offset(bindparam("offset", type_=Integer)).subquery())
    results, versions = AssessmentResultRow, aliased(AssessmentResultRow)
    newest = (select(func.max(versions.version))
              .where(versions.assessment_id == listed.c.id)
              .correlate(listed).scalar_subquery())
    recommended = results.result
    return (select(listed,
                   recommended[("recommended", "provider")].as_string()
                   .label(RECOMMENDATION_COLUMNS[0]),
                   recommended[("recommended", "region")].as_string()
                   .label(RECOMMENDATION_COLUMNS[1]),
                   recommended[("recommended", "monthly_cost_usd")].as_float()
                   .label(RECOMMENDATION_COLUMNS[2]))
            .outerjoin(results, and_(results.assessment_id == listed.c.id,
                                     results.version == newest))
            .order_by(listed.c.created_at.desc(), listed.c.id.desc()))


_PAGE = {False: _page_statement(False), True: _page_statement(True)}
#: (organization id, newest result version) of a visible assessment: access and version
#: in one read.
_RESULT_VERSION = (
    select(Assessment.organization_id,
           select(func.max(AssessmentResultRow.version))
           .where(AssessmentResultRow.assessment_id == Assessment.id)
           .correlate(Assessment).scalar_subquery())
    .where(Assessment.id == bindparam("assessment_id"),
           Assessment.organization_id.in_(bindparam("organization_ids", expanding=True))))


class AssessmentRepository:
    """Assessments of ``organization_ids`` only (the tenant filter is in every query)."""

    def __init__(self, session: AsyncSession, organization_ids: Iterable[str]) -> None:
        self.session = session
        self.organization_ids = sorted(set(organization_ids))

    def _tenant(self) -> Any:
        return Assessment.organization_id.in_(self.organization_ids)

    def _select(self) -> Select[tuple[Assessment]]:
        return select(Assessment).where(self._tenant())

    def add(self, assessment: Assessment) -> Assessment:
        if assessment.organization_id not in self.organization_ids:
            raise ValueError("assessment outside the repository's organizations")
        self.session.add(assessment)
        return assessment

    async def get(self, assessment_id: str) -> Assessment | None:
        row = await self.session.execute(self._select().where(Assessment.id == assessment_id))
        return row.scalar_one_or_none()

    async def refresh(self, assessment: Assessment) -> Assessment:
        """Re-read a row after a bulk UPDATE changed it behind the identity map."""
        await self.session.refresh(assessment)
        return assessment

    async def page(self, *, status: str | None, limit: int, offset: int
                   ) -> tuple[list[dict[str, Any]], int]:
        """Newest first (the ``organization_id, created_at`` index), and the total: each
        item the columns of ``SUMMARY_COLUMNS`` (not the requirements) and the latest
        result's recommendation (``RECOMMENDATION_COLUMNS``), in one statement
        (``_page_statement``). Past the last row the page is empty and a count says the
        total."""
        params: dict[str, Any] = {"organization_ids": self.organization_ids, "limit": limit,
                                  "offset": offset}
        if status is not None:
            params["status"] = status
        rows = (await self.session.execute(_PAGE[status is not None], params)).all()
        if rows:
            total = rows[0].total
        else:
            where = [self._tenant()]
            if status is not None:
                where.append(Assessment.status == status)
            total = await self.session.scalar(select(func.count()).select_from(Assessment)
                                              .where(*where))
        items = []
        for row in rows:
            item = row._asdict()
            del item["total"]
            items.append(item)
        return items, int(total or 0)

    async def update_unless_active(self, assessment_id: str, values: dict[str, Any]) -> bool:
        """Apply ``values`` unless a run is queued or running; False when one is."""
        result = await self.session.execute(
            update(Assessment)
            .where(Assessment.id == assessment_id, self._tenant(),
                   Assessment.status.not_in(ACTIVE))
            .values(**values).execution_options(synchronize_session=False))
        return result.rowcount == 1

    async def mark_queued(self, assessment_id: str, now: datetime) -> bool:
        """Queue a new run, atomically: False when a run is already queued or running."""
        return await self.update_unless_active(assessment_id, {
            "status": "queued", "progress": 0, "current_step": None, "error": None,
            "attempts": 0, "worker_id": None, "heartbeat_at": None, "queued_at": now,
            "started_at": None, "finished_at": None, "updated_at": now})

    async def cancel(self, assessment_id: str, now: datetime) -> bool:
        """Queued or running -> cancelled; False when there was no run to cancel."""
        result = await self.session.execute(
            update(Assessment)
            .where(Assessment.id == assessment_id, self._tenant(),
                   Assessment.status.in_(ACTIVE))
            .values(status="cancelled", current_step=None, finished_at=now, updated_at=now)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    async def delete(self, assessment_id: str) -> bool:
        result = await self.session.execute(
            delete(Assessment).where(Assessment.id == assessment_id, self._tenant())
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    async def latest_result(self, assessment_id: str) -> AssessmentResultRow | None:
        row = await self.session.execute(
            select(AssessmentResultRow)
            .join(Assessment, Assessment.id == AssessmentResultRow.assessment_id)
            .where(AssessmentResultRow.assessment_id == assessment_id, self._tenant())
            .order_by(AssessmentResultRow.version.desc()).limit(1))
        return row.scalar_one_or_none()

    async def latest_recommendations(self, assessment_ids: Sequence[str]
                                     ) -> dict[str, LatestRecommendation]:
        """The latest result's recommendation of each assessment that has a result.

        Only the three fields are read out of each result document (a JSON path on both
        databases), never the whole result with its line items.
        """
        if not assessment_ids:
            return {}
        latest = (select(AssessmentResultRow.assessment_id,
                         func.max(AssessmentResultRow.version).label("version"))
                  .join(Assessment, Assessment.id == AssessmentResultRow.assessment_id)
                  .where(AssessmentResultRow.assessment_id.in_(assessment_ids),
                         self._tenant())
                  .group_by(AssessmentResultRow.assessment_id).subquery())
        result = AssessmentResultRow.result
        rows = await self.session.execute(
            select(AssessmentResultRow.assessment_id,
                   result[("recommended", "provider")].as_string(),
                   result[("recommended", "region")].as_string(),
                   result[("recommended", "monthly_cost_usd")].as_float())
            .join(latest, and_(latest.c.assessment_id == AssessmentResultRow.assessment_id,
                               latest.c.version == AssessmentResultRow.version)))
        return {aid: LatestRecommendation(provider, region, cost)
                for aid, provider, region, cost in rows.all()}

    async def result_version(self, assessment_id: str) -> tuple[str | None, int | None]:
        """(the assessment's organization, None when it is not there for this user; its
        newest result's version or None): one statement, no result JSON read."""
        row = (await self.session.execute(_RESULT_VERSION, {
            "assessment_id": assessment_id,
            "organization_ids": self.organization_ids})).one_or_none()
        return (None, None) if row is None else (row[0], row[1])

    async def latest_result_version(self, assessment_id: str) -> int | None:
        """The newest result's version (cheap: no result JSON is read)."""
        row = await self.session.execute(
            select(func.max(AssessmentResultRow.version))
            .join(Assessment, Assessment.id == AssessmentResultRow.assessment_id)
            .where(AssessmentResultRow.assessment_id == assessment_id, self._tenant()))
        return row.scalar_one_or_none()

    async def status_of(self, assessment_id: str) -> dict[str, Any] | None:
        """What an event stream reports: status, progress, current step and error."""
        row = await self.session.execute(
            select(Assessment.status, Assessment.progress, Assessment.current_step,
                   Assessment.error)
            .where(Assessment.id == assessment_id, self._tenant()))
        found = row.one_or_none()
        return None if found is None else dict(found._mapping)

    async def idempotency_key(self, user_id: str, key: str) -> IdempotencyKey | None:
        row = await self.session.execute(select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == key))
        return row.scalar_one_or_none()

    async def claim_idempotency_key(self, user_id: str, key: str, assessment_id: str) -> bool:
        """Store the key; False when the same user already used it (a concurrent twin).

        A savepoint keeps the request's transaction usable after the unique violation.
        """
        try:
            async with self.session.begin_nested():
                self.session.add(IdempotencyKey(user_id=user_id, key=key,
                                                assessment_id=assessment_id))
        except IntegrityError:
            return False
        return True


#: Columns an event stream reports (``statuses_by_id``).
STATUS_COLUMNS = ("status", "progress", "current_step", "error")


async def statuses_by_id(session: AsyncSession, assessment_ids: Sequence[str]
                         ) -> dict[str, tuple[str, dict[str, Any]]]:
    """(organization id, status columns) of each of ``assessment_ids`` that exists.

    For the process's event-stream poller, which serves many users' streams with one
    query; the organization comes back so each stream applies its own tenant filter
    (``services.events``), as ``AssessmentRepository.status_of`` does.
    """
    rows = await session.execute(
        select(Assessment.id, Assessment.organization_id, Assessment.status,
               Assessment.progress, Assessment.current_step, Assessment.error)
        .where(Assessment.id.in_(list(assessment_ids))))
    return {row.id: (row.organization_id, {name: getattr(row, name) for name in STATUS_COLUMNS})
            for row in rows.all()}


#: The pub/sub channel (``kit.pubsub``) an assessment's status is published on when a
#: transaction that changed it commits; ``services.events`` feeds the streams from it.
STATUS_CHANNEL = "assessment-status"


def announce_status(session: AsyncSession, channel: Channel, assessment_id: str,
                    organization_id: str, status: dict[str, Any] | None) -> None:
    """Publish the status ``assessment_id`` has now (``STATUS_COLUMNS``; None: deleted) on
    ``channel`` once ``session`` commits. The organization travels with it, so each
    stream applies its own tenant filter without a query."""
    publish_on_commit(session, channel, {
        "id": assessment_id, "organization_id": organization_id,
        "status": None if status is None else {name: status[name]
                                               for name in STATUS_COLUMNS}})


async def first_writable_organization(session: AsyncSession, user_id: str,
                                      roles: Iterable[str]) -> str | None:
    """The user's oldest membership with one of ``roles`` (a stable default)."""
    row = await session.execute(
        select(Membership.organization_id)
        .where(Membership.user_id == user_id, Membership.role.in_(tuple(roles)))
        .order_by(Membership.created_at, Membership.organization_id).limit(1))
    return row.scalar_one_or_none()


def _run_key(assessment_id: str, digest: str | None = None, latest: int | None = None
             ) -> str:
    return f"{assessment_id}:v{(latest or 0) + 1}:{(digest or '')[:16]}"


class RunRepository:
    """A worker's queries, by assessment id; every write is guarded by the expected state.

    With a ``channel``, each write that changes a status (or a run's progress) reads the
    new values back (``RETURNING``, no extra round trip) and announces them once the
    session commits (``announce_status``); with a ``cache``, the cached lists of the
    assessment's organization and its cached access (a new result) are brought up to date
    then (``assessment_cache``)."""

    def __init__(self, session: AsyncSession, channel: Channel | None = None,
                 cache: Cache | None = None) -> None:
        self.session = session
        self.channel = channel
        self.cache = cache

    async def settled(self) -> None:
        """Wait for what the session's commits started (cache writes, announcements)."""
        await committed(self.session)

    async def _changed(self, statement: Any) -> bool:
        """Run a status-changing UPDATE of at most one assessment; whether it changed
        one (announced when this repository has a channel)."""
        result = await self.session.execute(
            statement.returning(Assessment.id, Assessment.organization_id,
                                *(getattr(Assessment, name) for name in STATUS_COLUMNS))
            .execution_options(synchronize_session=False))
        row = result.one_or_none()
        if row is None:
            return False
        if self.channel is not None:
            announce_status(self.session, self.channel, row.id, row.organization_id,
                            row._asdict())
        if self.cache is not None:
            changed_on_commit(self.session, self.cache, row.organization_id)
        return True

    def _ours(self, assessment_id: str, worker_id: str) -> Any:
        return and_(Assessment.id == assessment_id, Assessment.status == "running",
                    Assessment.worker_id == worker_id)

    def _still_silent(self, assessment_id: str, cutoff: datetime) -> Any:
        """The sweeper's guard: still running, and still no heartbeat since ``cutoff``."""
        return and_(Assessment.id == assessment_id, Assessment.status == "running",
                    _silent_since(cutoff))

    def _still_waiting(self, assessment_id: str, cutoff: datetime) -> Any:
        """The sweeper's guard: still queued, and still since before ``cutoff``."""
        return and_(Assessment.id == assessment_id, Assessment.status == "queued",
                    _waiting_since(cutoff))

    async def claim(self, assessment_id: str, worker_id: str, now: datetime) -> bool:
        """queued -> running for ``worker_id``; False when another worker has it, or it
        was cancelled or deleted. The database decides: two claims never both win."""
        return await self._changed(
            update(Assessment)
            .where(Assessment.id == assessment_id, Assessment.status == "queued")
            .values(status="running", worker_id=worker_id, attempts=Assessment.attempts + 1,
                    started_at=now, heartbeat_at=now, updated_at=now, progress=0,
                    current_step="starting", finished_at=None))

    async def run_inputs(self, assessment_id: str) -> tuple[dict[str, Any] | None, str]:
        """The requirements a run assesses, and its key (``run_key``), in one query."""
        row = await self._with_key(assessment_id, Assessment.requirements)
        return (row[0] if row else None), _run_key(assessment_id, *(row[1:] if row else ()))

    async def run_key(self, assessment_id: str) -> str:
        """Names this run's agent checkpoints: the result version it will write and the
        requirements' hash. Retries of one run share it; a new run or changed requirements
        get a new one (so a stale checkpoint is never resumed)."""
        row = await self._with_key(assessment_id)
        return _run_key(assessment_id, *(row or ()))

    async def _with_key(self, assessment_id: str, *columns: Any) -> Any:
        """``columns`` of the assessment, then its requirements' hash and its latest result
        version (what ``_run_key`` is made of); None when it is gone."""
        return (await self.session.execute(
            select(*columns, Assessment.requirements_hash,
                   select(func.max(AssessmentResultRow.version))
                   .where(AssessmentResultRow.assessment_id == assessment_id)
                   .scalar_subquery())
            .where(Assessment.id == assessment_id))).one_or_none()

    async def step(self, assessment_id: str, worker_id: str, *, progress: int,
                   current_step: str, now: datetime) -> bool:
        """Record progress (and a heartbeat); False when the run is no longer ours."""
        return await self._changed(
            update(Assessment).where(self._ours(assessment_id, worker_id))
            .values(progress=progress, current_step=current_step, heartbeat_at=now,
                    updated_at=now))

    async def heartbeat(self, assessment_id: str, worker_id: str, now: datetime) -> bool:
        result = await self.session.execute(
            update(Assessment).where(self._ours(assessment_id, worker_id))
            .values(heartbeat_at=now).execution_options(synchronize_session=False))
        return result.rowcount == 1

    async def complete(self, assessment_id: str, worker_id: str, now: datetime) -> bool:
        return await self._changed(
            update(Assessment).where(self._ours(assessment_id, worker_id))
            .values(status="completed", progress=100, current_step=None, error=None,
                    heartbeat_at=now, finished_at=now, updated_at=now))

    async def fail(self, assessment_id: str, worker_id: str, error: str, now: datetime) -> bool:
        return await self._changed(
            update(Assessment).where(self._ours(assessment_id, worker_id))
            .values(status="failed", current_step=None, error=error, finished_at=now,
                    updated_at=now))

    async def add_result(self, assessment_id: str, result: dict[str, Any],
                         catalog_as_of: date) -> AssessmentResultRow:
        """The next version of the result (previous highest + 1), served from the commit on
        where the cache answers reads (``assessment_cache.result_on_commit``)."""
        organization_id, latest = (await self.session.execute(
            select(Assessment.organization_id,
                   select(func.max(AssessmentResultRow.version))
                   .where(AssessmentResultRow.assessment_id == assessment_id)
                   .scalar_subquery())
            .where(Assessment.id == assessment_id))).one()
        row = AssessmentResultRow(assessment_id=assessment_id, version=(latest or 0) + 1,
                                  catalog_as_of=catalog_as_of, result=result)
        self.session.add(row)
        await self.session.flush()
        if self.cache is not None:
            result_on_commit(self.session, self.cache, assessment_id, organization_id,
                             row.version)
        return row

    async def holder(self, assessment_id: str) -> tuple[str, str | None] | None:
        """(status, worker_id), or None when the assessment is gone."""
        row = await self.session.execute(select(Assessment.status, Assessment.worker_id)
                                         .where(Assessment.id == assessment_id))
        found = row.one_or_none()
        return None if found is None else (found.status, found.worker_id)

    async def hand_back(self, assessment_id: str, worker_id: str, *, now: datetime,
                        max_attempts: int, retry_note: str, give_up_note: str) -> str | None:
        """running (ours) -> queued, with ``retry_note`` in ``error``, or -> failed with
        ``give_up_note`` once ``max_attempts`` claims are spent: the worker cannot go on
        (its database connection was lost) and hands the run back at once rather than
        leave it to the sweeper. 'queued', 'failed', or None when it is no longer ours."""
        if await self._changed(
                update(Assessment)
                .where(self._ours(assessment_id, worker_id),
                       Assessment.attempts < max_attempts)
                .values(status="queued", worker_id=None, progress=0, current_step=None,
                        error=retry_note, queued_at=now, updated_at=now)):
            return "queued"
        failed = await self.fail(assessment_id, worker_id, give_up_note, now)
        return "failed" if failed else None

    async def queued_ids(self) -> list[str]:
        """Every queued run (to send again after the broker lost its messages)."""
        rows = await self.session.execute(select(Assessment.id)
                                          .where(Assessment.status == "queued"))
        return list(rows.scalars().all())

    async def requeue(self, assessment_id: str, cutoff: datetime, note: str | None,
                      now: datetime, queued_at: datetime | None = None) -> bool:
        """running (and still silent) -> queued, with ``note`` in ``error``, as if queued
        at ``queued_at`` (default ``now``)."""
        return await self._changed(
            update(Assessment)
            .where(self._still_silent(assessment_id, cutoff))
            .values(status="queued", worker_id=None, progress=0, current_step=None,
                    error=note, queued_at=queued_at or now, updated_at=now))

    async def give_up(self, assessment_id: str, cutoff: datetime, error: str | None,
                      now: datetime) -> bool:
        """running (and still silent) -> failed: the retries are spent."""
        return await self._failed(self._still_silent(assessment_id, cutoff), error, now)

    async def fail_queued(self, assessment_id: str, cutoff: datetime, error: str | None,
                          now: datetime) -> bool:
        """queued (and still waiting since before ``cutoff``) -> failed with ``error``."""
        return await self._failed(self._still_waiting(assessment_id, cutoff), error, now)

    async def _failed(self, guard: Any, error: str | None, now: datetime) -> bool:
        """The sweeper's -> failed, where ``guard`` still holds."""
        return await self._changed(
            update(Assessment).where(guard)
            .values(status="failed", worker_id=None, current_step=None, error=error,
                    finished_at=now, updated_at=now))

    async def touch_queued(self, assessment_id: str, cutoff: datetime,
                           queued_at: datetime) -> bool:
        """queued (and still waiting since before ``cutoff``): now counts as queued at
        ``queued_at``, as it is about to be sent again. The status is the same, so nothing
        is announced; the organization's cached lists are dropped, as they show the time."""
        result = await self.session.execute(
            update(Assessment)
            .where(self._still_waiting(assessment_id, cutoff))
            .values(queued_at=queued_at)
            .returning(Assessment.organization_id)
            .execution_options(synchronize_session=False))
        organization_id = result.scalar_one_or_none()
        if organization_id is None:
            return False
        if self.cache is not None:
            changed_on_commit(self.session, self.cache, organization_id)
        return True

    async def count_queued(self) -> int:
        total = await self.session.scalar(select(func.count()).select_from(Assessment)
                                          .where(Assessment.status == "queued"))
        return int(total or 0)


def _silent_since(cutoff: datetime) -> Any:
    """A running assessment with no heartbeat since ``cutoff`` (none at all: started
    before it)."""
    return or_(Assessment.heartbeat_at < cutoff,
               and_(Assessment.heartbeat_at.is_(None), Assessment.started_at < cutoff))


def _waiting_since(cutoff: datetime) -> Any:
    """A queued assessment queued before ``cutoff``, or with no time of queueing."""
    return or_(Assessment.queued_at < cutoff, Assessment.queued_at.is_(None))
