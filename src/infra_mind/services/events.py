"""Event streams of assessment status: one poller per process, a few streams per user.

Before (issue #10, item 6), each ``/events`` stream polled the database every 0.5 s with
its own session, and a draft's stream stayed open for an hour: 1,000 streams on a draft
took 90% of a core on SQLite. Now:

- **A stream follows only a run.** The status is sent once; a stream whose assessment is
  not ``queued`` or ``running`` (a draft, a finished run) ends there.
- **One poller per process** (``StatusFeed``) reads the status of every followed
  assessment in one query per ``poll_s``, however many streams follow them, and wakes a
  stream only when its assessment changed, or after ``quiet_s`` (its heartbeat).
- **A cap per user** (``event_streams_per_user``): each open stream holds a lease
  (``kit.leases``; in Redis with ``REDIS_URL``, so the cap holds across API processes),
  renewed while the stream lives and released when it ends. A process that dies leaks
  its leases for ``STREAM_LEASE_S`` at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from infra_mind.kit.errors import TooManyRequests
from infra_mind.kit.leases import Leases, make_leases
from infra_mind.kit.platform import Platform
from infra_mind.repositories.assessments import ACTIVE, statuses_by_id

log = logging.getLogger("infra_mind.events")

#: An event stream ends after this long even if the run has not (clients reconnect).
STREAM_MAX_S = 3600.0
#: How often the process's poller reads the followed assessments' status.
STREAM_POLL_S = 0.5
#: A stream with no change yields None this often (the API sends a heartbeat comment).
STREAM_QUIET_S = 15.0
#: An open stream's lease lives this long past its last renewal (a third of it apart).
STREAM_LEASE_S = 60.0
#: Retry-After for a user at the cap: streams end when runs finish or clients leave.
STREAM_RETRY_AFTER_S = 10
#: Assessments read per query by the poller.
POLL_BATCH = 500

Status = dict[str, Any]
_GONE = None  # the assessment was deleted (or is not the stream's to see)


class StatusFeed:
    """This process's poller for every open event stream (see the module)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 poll_s: float = STREAM_POLL_S) -> None:
        self._sessions = sessions
        self._poll_s = poll_s
        self._watchers: Counter[str] = Counter()
        self._latest: dict[str, tuple[str, Status] | None] = {}
        self._changed: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        self.polls = 0  # queries made

    async def follow(self, assessment_id: str, organization_ids: Iterable[str], *,
                     first: Status, max_s: float = STREAM_MAX_S,
                     quiet_s: float = STREAM_QUIET_S) -> AsyncIterator[Status | None]:
        """``first``, then the status at each change, or None after ``quiet_s`` without
        one. Ends after a status that is not queued or running, when the assessment is
        gone or moves out of ``organization_ids``, or after ``max_s``."""
        organizations = set(organization_ids)
        deadline = time.monotonic() + max_s
        self._watchers[assessment_id] += 1
        try:
            current, last = first, None
            while True:
                yield current if current != last else None
                last = current
                if current["status"] not in ACTIVE or time.monotonic() >= deadline:
                    return
                self._ensure_polling()
                event = self._changed.setdefault(assessment_id, asyncio.Event())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(),
                                           min(quiet_s, max(0.0, deadline - time.monotonic())))
                if assessment_id not in self._latest:
                    continue  # not polled yet: nothing new
                seen = self._latest[assessment_id]
                if seen is _GONE or seen[0] not in organizations:
                    return
                current = seen[1]
        finally:
            self._watchers[assessment_id] -= 1
            if self._watchers[assessment_id] <= 0:
                del self._watchers[assessment_id]
                self._latest.pop(assessment_id, None)
                self._changed.pop(assessment_id, None)
            if not self._watchers and self._task is not None:
                self._task.cancel()  # nothing to follow: no poll outlives the streams
                self._task = None

    def _ensure_polling(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll(), name="event-stream poller")

    async def _poll(self) -> None:
        failing = False
        while self._watchers:
            ids = list(self._watchers)
            try:
                found: dict[str, tuple[str, Status]] = {}
                for start in range(0, len(ids), POLL_BATCH):
                    async with self._sessions() as session:
                        found.update(await statuses_by_id(session, ids[start:start + POLL_BATCH]))
                    self.polls += 1
            except Exception as exc:  # the database is away: streams wait, then go on
                if not failing:
                    log.warning("event-stream poll failed (%s); retrying every %g s",
                                type(exc).__name__, self._poll_s)
                failing = True
            else:
                if failing:
                    log.warning("event-stream poll works again")
                failing = False
                for assessment_id in ids:
                    now = found.get(assessment_id, _GONE)
                    if assessment_id not in self._latest or self._latest[assessment_id] != now:
                        if assessment_id in self._watchers:
                            self._latest[assessment_id] = now
                        event = self._changed.pop(assessment_id, None)
                        if event is not None:
                            event.set()
            await asyncio.sleep(self._poll_s)


def status_feed(platform: Platform) -> StatusFeed:
    """This platform's poller (made on first use)."""
    feed = platform.extras.get("status_feed")
    if feed is None:
        feed = platform.extras["status_feed"] = StatusFeed(platform.sessions)
    return feed  # type: ignore[return-value]


def leases_of(platform: Platform) -> Leases:
    """This platform's leases: in Redis with ``REDIS_URL`` (made on first use)."""
    leases = platform.extras.get("leases")
    if leases is None:
        leases = platform.extras["leases"] = make_leases(platform.settings.redis_url)
    return leases  # type: ignore[return-value]


async def open_stream(platform: Platform, user_id: str, assessment_id: str,
                      organization_ids: Iterable[str], first: Status
                      ) -> AsyncIterator[Status | None]:
    """The stream of ``assessment_id`` for ``user_id`` (access already checked, ``first``
    just read): a single status when no run is queued or running, else a followed one
    holding one of the user's ``event_streams_per_user`` leases (429 past that)."""
    feed = status_feed(platform)
    if first["status"] not in ACTIVE:
        return feed.follow(assessment_id, organization_ids, first=first)
    limit = platform.settings.event_streams_per_user
    leases, key = leases_of(platform), f"event-streams:{user_id}"
    lease = await leases.acquire(key, limit, STREAM_LEASE_S)
    if lease is None:
        raise TooManyRequests(f"more than {limit} open event streams; close one, or retry "
                              f"in {STREAM_RETRY_AFTER_S} s", STREAM_RETRY_AFTER_S)
    return _leased(feed.follow(assessment_id, organization_ids, first=first), leases, key,
                   lease)


async def _leased(changes: AsyncIterator[Status | None], leases: Leases, key: str,
                  lease: str) -> AsyncIterator[Status | None]:
    """``changes``, renewing the lease at least every third of its life (the stream yields
    at least every ``STREAM_QUIET_S``); released at the end, however it ends."""
    renew_at = time.monotonic() + STREAM_LEASE_S / 3
    try:
        async for change in changes:
            if time.monotonic() >= renew_at:
                await leases.renew(key, lease, STREAM_LEASE_S)
                renew_at = time.monotonic() + STREAM_LEASE_S / 3
            yield change
    finally:
        await leases.release(key, lease)
