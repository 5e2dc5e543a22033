"""Assessment use cases: create, read, edit, delete, run, cancel, results, what-if, events.

Rules live here: who may see (members of the assessment's organization; anyone else
gets "not found", never "forbidden", so existence does not leak), who may change
(owner, admin, member; never a viewer), who may delete (owner or admin, or the
assessment's owner), and when (not while a run is queued or running).

No FastAPI, no commits: the caller owns the transaction. ``request_run`` returns
whether a job must be enqueued; the caller enqueues it only after the commit, so a
worker never looks for a row that is not there yet.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.engine.load import RequirementsError, parse_requirements
from infra_mind.engine.requirements import Requirements
from infra_mind.kit.compute import EngineBusy, engine_budget
from infra_mind.kit.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from infra_mind.kit.platform import Platform
from infra_mind.kit.pubsub import channel_of
from infra_mind.models import Assessment, utcnow
from infra_mind.repositories import assessment_cache
from infra_mind.repositories.assessments import (
    ACTIVE,
    STATUS_CHANNEL,
    STATUS_COLUMNS,
    AssessmentRepository,
    announce_status,
    first_writable_organization,
)
from infra_mind.services import audit, result_documents
from infra_mind.services.events import leases_of, open_stream
from infra_mind.services.result_documents import ResultDocument

WRITERS = ("owner", "admin", "member")
MANAGERS = ("owner", "admin")
#: A what-if's engine work ends within this long (else 503); its per-user lease (one at
#: a time) outlives that, and expires on its own if the process dies.
WHAT_IF_TIMEOUT_S = 30.0
WHAT_IF_LEASE_S = 60.0
WHAT_IF_RETRY_AFTER_S = 1


def page_keys(roles: Mapping[str, str], query: tuple[str | None, int, int]) -> list[str]:
    """The cache keys ``page_json`` reads for a user with ``roles`` and this (status,
    limit, offset): for a caller that reads them along with the user's state."""
    return assessment_cache.list_keys(roles, query)


def result_keys(assessment_id: str) -> list[str]:
    """The cache keys ``latest_result_json`` reads first (its access entry)."""
    return [assessment_cache.access_key(assessment_id)]


class Actor(Protocol):
    """Who is asking (the API's ``Principal`` fits)."""

    @property
    def id(self) -> str: ...

    @property
    def roles(self) -> Mapping[str, str]: ...  # organization id -> role

    @property
    def client_address(self) -> str | None: ...


@dataclass(frozen=True)
class RunRequested:
    assessment: Assessment
    #: True when a new run was queued: the caller enqueues ``assessment.run`` after commit.
    enqueue: bool
    #: True when an Idempotency-Key seen before answered the request.
    replayed: bool = False


def requirements_digest(requirements: Requirements) -> str:
    """The same requirements, however written, give the same digest."""
    canonical = json.dumps(requirements.model_dump(mode="json"), sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def validated(data: Any, message: str = "invalid requirements") -> Requirements:
    try:
        return parse_requirements(data)
    except RequirementsError as exc:
        raise Invalid(message, exc.problems) from None


class AssessmentService:
    """Use cases for one actor, in the caller's session (transaction)."""

    def __init__(self, session: AsyncSession, actor: Actor, platform: Platform,
                 read_ahead: Mapping[str, str | None] = assessment_cache.NOTHING_AHEAD
                 ) -> None:
        self.session = session
        self.actor = actor
        self.platform = platform
        self.repo = AssessmentRepository(session, actor.roles.keys())
        #: Cache values this request's first cache read took along (``api.assessments``'
        #: direct handlers: ``services.auth.current_access``).
        self.read_ahead = read_ahead

    # -- rules -------------------------------------------------------------------------

    async def count_write(self) -> None:
        """One change by this user; 429 past ``write_rate_per_minute``."""
        limit = self.platform.settings.write_rate_per_minute
        hits, retry_after_s = await self.platform.cache.incr(f"writes:{self.actor.id}", 60)
        if hits > limit:
            self.platform.metrics.throttled.labels(limit="writes").inc()
            raise TooManyRequests(f"more than {limit} changes a minute; retry in "
                                  f"{retry_after_s} s", retry_after_s)

    def _require_writer(self, organization_id: str) -> None:
        if self.actor.roles.get(organization_id) not in WRITERS:
            raise Forbidden("viewers cannot change assessments")

    async def _visible(self, assessment_id: str) -> Assessment:
        assessment = await self.repo.get(assessment_id)
        if assessment is None:
            raise NotFound("assessment not found")
        return assessment

    async def _writable(self, assessment_id: str) -> Assessment:
        assessment = await self._visible(assessment_id)
        self._require_writer(assessment.organization_id)
        return assessment

    def _audit(self, action: str, assessment: Assessment, **detail: Any) -> None:
        audit.record(self.session, action=action, actor_id=self.actor.id,
                     organization_id=assessment.organization_id, object_type="assessment",
                     object_id=assessment.id, client_address=self.actor.client_address,
                     detail=detail or None)

    # -- create, read, edit, delete -------------------------------------------------------

    async def create(self, *, title: str, requirements: dict[str, Any],
                     organization_id: str | None) -> Assessment:
        if organization_id is not None:
            if organization_id not in self.actor.roles:
                raise NotFound("organization not found")
            self._require_writer(organization_id)
        else:
            organization_id = await first_writable_organization(self.session, self.actor.id,
                                                                WRITERS)
            if organization_id is None:
                raise Forbidden("viewers cannot change assessments" if self.actor.roles
                                else "you are not a member of any organization")
        parsed = validated(requirements)
        now = utcnow()
        assessment = self.repo.add(Assessment(
            organization_id=organization_id, owner_id=self.actor.id, title=title,
            requirements=requirements, requirements_hash=requirements_digest(parsed),
            status="draft", progress=0, attempts=0, created_at=now, updated_at=now))
        await self.session.flush()
        self._changed(assessment, announce=False)
        self._audit("assessment.created", assessment, title=title)
        self.platform.metrics.assessments.labels(event="created").inc()
        return assessment

    async def page(self, *, status: str | None, limit: int, offset: int
                   ) -> tuple[list[dict[str, Any]], int]:
        """A page of assessment summaries, each with its latest result's recommendation
        (``repositories.assessments.SUMMARY_COLUMNS``, ``RECOMMENDATION_COLUMNS``), and
        the total: one statement."""
        return await self.repo.page(status=status, limit=limit, offset=offset)

    async def page_json(self, *, status: str | None, limit: int, offset: int,
                        render: Callable[[list[dict[str, Any]], int], bytes]) -> bytes:
        """A page as served (``render(items, total)``): from the cache, with no SQL, when
        none of the user's organizations changed since it was written and the cache is
        trusted (``repositories.assessment_cache``); else ``page``, cached for the next."""
        if not assessment_cache.trusted(self.platform):
            return render(*await self.page(status=status, limit=limit, offset=offset))
        cache, organization_ids = self.platform.cache, self.repo.organization_ids
        query = (status, limit, offset)
        body, generations = await assessment_cache.cached_list(
            self.platform, self.actor.roles, query, self.read_ahead)
        if body is not None:
            return body
        key = assessment_cache.list_key(self.actor.roles, query)
        # tagged with the generations read before the database: a change committed after
        # this read replaces one of them, and this page is never served
        tags = await assessment_cache.current_generations(cache, organization_ids, generations)
        body = render(*await self.page(status=status, limit=limit, offset=offset))
        if tags is not None:
            await assessment_cache.store_list(cache, key, tags, body)
        return body

    async def get(self, assessment_id: str) -> Assessment:
        return await self._visible(assessment_id)

    async def update(self, assessment_id: str, *, title: str | None,
                     requirements: dict[str, Any] | None) -> Assessment:
        """Edit the title or requirements; new requirements make the assessment a draft
        again (its results stay, versioned, but no longer describe it)."""
        assessment = await self._writable(assessment_id)
        values: dict[str, Any] = {}
        if title is not None:
            values["title"] = title
        if requirements is not None:
            digest = requirements_digest(validated(requirements))
            values["requirements"] = requirements
            if digest != assessment.requirements_hash:
                values.update(requirements_hash=digest, status="draft", progress=0,
                              current_step=None, error=None)
        if values:
            values["updated_at"] = utcnow()
            if not await self.repo.update_unless_active(assessment_id, values):
                raise Conflict("the assessment is queued or running; cancel it or wait")
            await self.repo.refresh(assessment)
            self._changed(assessment, announce=False)
            self._audit("assessment.updated", assessment, fields=sorted(values))
        return assessment

    async def delete(self, assessment_id: str) -> None:
        assessment = await self._writable(assessment_id)
        role = self.actor.roles.get(assessment.organization_id)
        if role not in MANAGERS and assessment.owner_id != self.actor.id:
            raise Forbidden("only the assessment's owner or an organization owner or admin "
                            "can delete it")
        self._audit("assessment.deleted", assessment, title=assessment.title)
        if await self.repo.delete(assessment_id):
            self._changed(assessment, gone=True)

    # -- runs ----------------------------------------------------------------------------

    async def request_run(self, assessment_id: str, idempotency_key: str | None
                          ) -> RunRequested:
        """Queue a run, or answer with the run already asked for.

        The same Idempotency-Key from the same user answers with the same run; the same
        requirements already queued or running (touched within ``dedupe_window_s``)
        answer with that run. Otherwise the row moves to ``queued`` in one conditional
        UPDATE, so two concurrent requests never queue two runs.
        """
        assessment = await self._writable(assessment_id)
        if idempotency_key is not None:
            replay = await self._replay(assessment, idempotency_key)
            if replay is not None:
                return replay
        if self._in_flight_recently(assessment):
            return RunRequested(assessment, enqueue=False)
        now = utcnow()
        if not await self.repo.mark_queued(assessment_id, now):
            await self.repo.refresh(assessment)
            if self._in_flight_recently(assessment):
                return RunRequested(assessment, enqueue=False)
            raise Conflict(f"a run is already {assessment.status} and silent for longer than "
                           f"{self.platform.settings.dedupe_window_s} s; cancel it first")
        await self._moved(assessment, "assessment.run_requested", "queued")
        return RunRequested(assessment, enqueue=True)

    async def _replay(self, assessment: Assessment, key: str) -> RunRequested | None:
        """The earlier answer to ``key``, or None after storing ``key`` for this run."""
        existing = await self.repo.idempotency_key(self.actor.id, key)
        if existing is None:
            if await self.repo.claim_idempotency_key(self.actor.id, key, assessment.id):
                return None
            # a concurrent request with the same key committed first: answer as it did
            existing = await self.repo.idempotency_key(self.actor.id, key)
        if existing is None or existing.assessment_id != assessment.id:
            raise Conflict("this Idempotency-Key was already used for another request")
        await self.repo.refresh(assessment)
        return RunRequested(assessment, enqueue=False, replayed=True)

    async def _moved(self, assessment: Assessment, action: str, event: str) -> None:
        """A request moved the run to a new status: read the row back, tell the cache and
        the streams once committed, audit ``action`` and count ``event``."""
        await self.repo.refresh(assessment)
        self._changed(assessment)
        self._audit(action, assessment)
        self.platform.metrics.assessments.labels(event=event).inc()

    def _changed(self, assessment: Assessment, *, gone: bool = False,
                 announce: bool = True) -> None:
        """Once the request's transaction commits: the cache's lists of the organization
        are stale, and a deleted assessment is "not found" to cached reads too
        (``repositories.assessment_cache``); with ``announce``, open event streams (in
        every API process) are told the new status (``services.events``)."""
        cache = self.platform.cache
        if gone:
            assessment_cache.deleted_on_commit(self.session, cache, assessment.id,
                                               assessment.organization_id)
        else:
            assessment_cache.changed_on_commit(self.session, cache, assessment.organization_id)
        if announce:
            announce_status(self.session, channel_of(self.platform, STATUS_CHANNEL),
                            assessment.id, assessment.organization_id,
                            None if gone else {name: getattr(assessment, name)
                                               for name in STATUS_COLUMNS})

    def _in_flight_recently(self, assessment: Assessment) -> bool:
        if assessment.status not in ACTIVE:
            return False
        window = timedelta(seconds=self.platform.settings.dedupe_window_s)
        return _aware(assessment.updated_at) >= datetime.now(UTC) - window

    async def cancel(self, assessment_id: str) -> Assessment:
        assessment = await self._writable(assessment_id)
        if not await self.repo.cancel(assessment_id, utcnow()):
            await self.repo.refresh(assessment)
            raise Conflict(f"only a queued or running assessment can be cancelled "
                           f"(it is {assessment.status})")
        await self._moved(assessment, "assessment.cancelled", "cancelled")
        return assessment

    async def latest_result(self, assessment_id: str) -> dict[str, Any]:
        """The newest result as data: ``latest_result_json`` parsed (for the reports, the
        chat and the cache warmer; the API serves the JSON itself)."""
        return json.loads((await self.latest_result_json(assessment_id)).body)

    async def latest_result_json(self, assessment_id: str) -> ResultDocument:
        """The newest result as the JSON document the API serves, and its ETag.

        Who may read it and its newest version come from the cache's access entry where
        the cache is trusted (``repositories.assessment_cache``: the same rule as the
        SQL, a member of the assessment's organization), else from one statement, whose
        answer is then added to the cache. The document comes from the cache when it
        holds that version: no SQL at all when both are there. A result version never
        changes once written, so a cached copy keyed by (assessment, version) is never
        stale; access is checked on every call.
        """
        entry = await assessment_cache.access_entry(self.platform, assessment_id,
                                                    self.read_ahead)
        if entry is not None:
            if entry.organization_id is None or entry.organization_id not in self.actor.roles:
                raise NotFound("assessment not found")
            version: int | None = entry.version
        else:
            organization_id, version = await self.repo.result_version(assessment_id)
            if organization_id is None:
                raise NotFound("assessment not found")
            await assessment_cache.add_access(self.platform, assessment_id, organization_id,
                                              version)
        if not version:
            raise NotFound("no result yet")
        document = await result_documents.cached(self.platform, assessment_id, version)
        if document is not None:
            return document
        row = await self.repo.latest_result(assessment_id)
        if row is None:  # deleted between the two reads
            raise NotFound("no result yet")
        return await result_documents.keep(self.platform, row)

    async def watch(self, assessment_id: str) -> AsyncIterator[dict[str, Any] | None]:
        """Check access and read the status now; then follow it (``services.events``):
        one event when no run is queued or running, else a stream that ends with the run
        and holds one of the user's ``event_streams_per_user`` slots (429 past them). The
        status is read once the stream listens for changes, so none falls in between."""
        return await open_stream(self.platform, self.actor.id, assessment_id,
                                 self.actor.roles.keys(),
                                 lambda: self.repo.status_of(assessment_id))

    # -- what-if -------------------------------------------------------------------------

    async def what_if(self, assessment_id: str, changes: Mapping[str, Any]
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run the engine on the stored requirements with ``changes``; nothing is saved.
        Returns (result, differences) against the latest result of the same requirements,
        or a fresh assessment of them (``what_if_results``)."""
        before, after = await self.what_if_results(assessment_id, changes)
        return after, differences(before, after)

    async def what_if_results(self, assessment_id: str, changes: Mapping[str, Any]
                              ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(before, after) of a what-if: the latest result of the stored requirements (or
        a fresh assessment of them, where they changed since), and the result with
        ``changes``; nothing is saved.

        The engine runs in an engine process (``kit.compute``), never on the event loop's
        GIL: 60 what-ifs took another user's GET median from 12 ms to 729 ms. One what-if
        at a time per user (429), within the process's engine budget (503).
        """
        leases, key = leases_of(self.platform), f"what-if:{self.actor.id}"
        lease = await leases.acquire(key, 1, WHAT_IF_LEASE_S)
        if lease is None:
            self.platform.metrics.throttled.labels(limit="what_if").inc()
            raise TooManyRequests("one what-if at a time: wait for the one in progress",
                                  WHAT_IF_RETRY_AFTER_S)
        try:
            assessment = await self._visible(assessment_id)
            current = validated(assessment.requirements,
                                "stored requirements are no longer valid")
            changed = validated(apply_what_if(current, changes), "invalid what-if")
            stored = await self._stored_result(assessment)
            # nothing more to read or write: hand the request's connection back before the
            # engine, which may wait for a slot
            await self.session.close()
            # here, not at module level: an API process loads the engine with its first what-if
            import infra_mind.engine.assess as engine_assess

            settings = self.platform.settings
            budget = engine_budget(settings.engine_processes, settings.engine_queue)
            snapshot = settings.infra_mind_catalog  # loaded by the engine process, once
            async with budget.admitted() as engine:
                try:
                    async with asyncio.timeout(WHAT_IF_TIMEOUT_S):
                        before = stored if stored is not None else (
                            await engine.run(engine_assess.assess, current, snapshot)
                        ).model_dump(mode="json")
                        after = (await engine.run(engine_assess.assess, changed, snapshot)
                                 ).model_dump(mode="json")
                except TimeoutError:
                    raise EngineBusy(f"the what-if took longer than {WHAT_IF_TIMEOUT_S:g} "
                                     "s; try again later", int(WHAT_IF_TIMEOUT_S)) from None
        finally:
            await leases.release(key, lease)
        return before, after

    async def _stored_result(self, assessment: Assessment) -> dict[str, Any] | None:
        """The latest result, if it was computed from the current requirements."""
        row = await self.repo.latest_result(assessment.id)
        if row is None:
            return None
        try:
            stored_for = requirements_digest(parse_requirements(row.result["requirements"]))
        except (RequirementsError, KeyError, TypeError):
            return None
        return row.result if stored_for == assessment.requirements_hash else None


def apply_what_if(requirements: Requirements, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The requirements (as data) with ``changes`` applied; the caller validates them."""
    data = requirements.model_dump(mode="json")
    multiplier = changes.get("traffic_multiplier")
    if multiplier is not None:
        for workload in data["workloads"]:
            for name in ("peak_rps", "avg_rps", "peak_tokens_per_sec", "egress_gb_per_month"):
                if workload.get(name) is not None:
                    workload[name] = workload[name] * multiplier
    for name in ("providers", "commitment", "managed_services", "spot_ok", "kubernetes",
                 "allow_arm"):
        if changes.get(name) is not None:
            data["preferences"][name] = changes[name]
    for name in ("availability_target", "data_residency", "compliance", "users",
                 "user_shares"):
        if changes.get(name) is not None:
            data[name] = changes[name]
    if changes.get("users") is not None and changes.get("user_shares") is None and (
            set(data["user_shares"]) != set(data["users"])):
        # the stored shares were for other places: every place counts the same (the
        # result's region_choice says which shares were used)
        data["user_shares"] = {}
    return data


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Monthly cost and recommended placement, before and after."""

    def cost(result: Mapping[str, Any]) -> float | None:
        chosen = result.get("recommended")
        return None if chosen is None else float(chosen["monthly_cost_usd"])

    def placement(result: Mapping[str, Any]) -> dict[str, str] | None:
        chosen = result.get("recommended")
        return None if chosen is None else {"provider": chosen["provider"],
                                            "region": chosen["region"]}

    cost_before, cost_after = cost(before), cost(after)
    delta = (round(cost_after - cost_before, 2)
             if cost_before is not None and cost_after is not None else None)
    return {"monthly_cost_usd": {"before": cost_before, "after": cost_after, "delta": delta},
            "recommended": {"before": placement(before), "after": placement(after)}}


def _aware(value: datetime) -> datetime:
    # SQLite returns times without a zone; they are stored in UTC
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
