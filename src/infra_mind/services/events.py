"""Event streams of assessment status: pushed, one feed per process, a few streams per user.

History: each ``/events`` stream polled the database every 0.5 s with its own session;
then (issue #10, item 6) one poller per process read every followed assessment every
0.5 s (100 streams on different runs: 2 queries a second per process, whether anything
changed or not). Now (issue #14) a change is pushed:

- **Published at commit.** Whoever changes a status (the worker's claim, progress,
  completion, failure, hand-back; the sweeper; a request, cancel or delete) announces the
  new status when its transaction commits (``repositories.assessments.announce_status``),
  on a ``kit.pubsub`` channel: Redis pub/sub with ``REDIS_URL``, so every API process
  hears every worker, else this process's memory (the embedded default runs the tasks in
  the API process). The message carries the status and the organization: a stream is
  woken with it and sends it, with no query.
- **One feed per process** (``StatusFeed``) subscribes while streams are open and hands
  each message to the streams of its assessment; each stream applies its own tenant
  filter. A stream follows only a run: a stream whose assessment is not ``queued`` or
  ``running`` sends its status and ends.
- **Subscribed before the first read.** A stream joins the feed, waits for the
  subscription, then reads the status it sends first; a change committed after that read
  is a message it gets. (A message older than the read may arrive just after it; the
  newer one follows it from the same publisher.)
- **A safety re-read.** A message can be lost (Redis restarted, a process died between
  commit and publish, a change made by hand in the database). The feed reads the status
  of every followed assessment in one query every
  ``STREAM_REREAD_S``, at once when the subscription breaks or comes back, and every
  ``STREAM_POLL_S`` while the channel cannot reach this process: Redis unreachable, or
  several API processes without Redis (a run in another process announces in that
  process's memory). PostgreSQL ``LISTEN``/``NOTIFY`` would push in that last case too.
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
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from infra_mind.kit.errors import NotFound, TooManyRequests
from infra_mind.kit.leases import Leases, make_leases
from infra_mind.kit.platform import Platform
from infra_mind.kit.pubsub import Channel, Message, channel_of
from infra_mind.kit.slots import Slot
from infra_mind.repositories.assessments import (
    ACTIVE,
    STATUS_CHANNEL,
    STATUS_COLUMNS,
    statuses_by_id,
)

log = logging.getLogger("infra_mind.events")

#: An event stream ends after this long even if the run has not (clients reconnect).
STREAM_MAX_S = 3600.0
#: How often the feed re-reads the followed assessments while changes are pushed to it.
STREAM_REREAD_S = 20.0
#: How often it re-reads them while they cannot be (see the module).
STREAM_POLL_S = 0.5
#: A stream with no change yields None this often (the API sends a heartbeat comment).
STREAM_QUIET_S = 15.0
#: An open stream's lease lives this long past its last renewal (a third of it apart).
STREAM_LEASE_S = 60.0
#: Retry-After for a user at the cap: streams end when runs finish or clients leave.
STREAM_RETRY_AFTER_S = 10
#: Assessments read per query by the re-read.
POLL_BATCH = 500
#: Changes one stream holds while its client reads slowly (then only the latest count).
FOLLOWER_BACKLOG = 64

Status = dict[str, Any]
#: What a stream last heard of its assessment: (organization id, status), or one of these.
_GONE = None  # deleted (or not the stream's to see)
_UNSEEN = "unseen"  # nothing yet since the stream joined


class Follower:
    """One stream's place in the feed: what it heard and has not sent yet, in order (the
    oldest dropped past ``FOLLOWER_BACKLOG``), and a wake-up."""

    __slots__ = ("changed", "latest", "pending")

    def __init__(self) -> None:
        self.latest: tuple[str, Status] | str | None = _UNSEEN  # the last heard
        self.pending: deque[tuple[str, Status] | None] = deque(maxlen=FOLLOWER_BACKLOG)
        self.changed = asyncio.Event()

    def offer(self, seen: tuple[str, Status] | None) -> None:
        self.latest = seen
        self.pending.append(seen)
        self.changed.set()


class StatusFeed:
    """This process's feed of every open event stream (see the module).

    ``alone``: the channel reaches every process that changes statuses (Redis, or memory
    in the only API process); otherwise the feed re-reads every ``poll_s``."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], channel: Channel, *,
                 alone: bool = True, reread_s: float = STREAM_REREAD_S,
                 poll_s: float = STREAM_POLL_S) -> None:
        self._sessions = sessions
        self._channel = channel
        self._alone = alone
        self._reread_s = reread_s
        self._poll_s = poll_s
        self._followers: dict[str, set[Follower]] = {}
        self._subscribed = False
        self._reread_now = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.reads = 0  # queries made
        self.messages = 0  # messages that reached a stream

    @property
    def pushed(self) -> bool:
        """Whether changes reach this process as messages (else it polls)."""
        return self._alone and self._channel.live

    @contextlib.asynccontextmanager
    async def joined(self, assessment_id: str) -> AsyncIterator[Follower]:
        """A follower of ``assessment_id``, subscribed (or the subscription has failed and
        the feed re-reads quickly) before the caller reads the status it starts from."""
        follower = Follower()
        self._followers.setdefault(assessment_id, set()).add(follower)
        try:
            if not self._subscribed:
                self._subscribed = True
                self._channel.subscribe(self._on_message)
            await self._channel.ready()
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._reread(), name="event-stream re-read")
            yield follower
        finally:
            followers = self._followers.get(assessment_id)
            if followers is not None:
                followers.discard(follower)
                if not followers:
                    del self._followers[assessment_id]
            if not self._followers:  # nothing to follow: no subscriber, no re-read
                if self._subscribed:
                    self._subscribed = False
                    self._channel.unsubscribe(self._on_message)
                if self._task is not None:
                    self._task.cancel()
                    self._task = None

    async def follow(self, follower: Follower, first: Status, organization_ids: Iterable[str],
                     *, max_s: float = STREAM_MAX_S, quiet_s: float = STREAM_QUIET_S
                     ) -> AsyncIterator[Status | None]:
        """``first``, then the status at each change, in order, or None after ``quiet_s``
        without one. Ends after a status that is not queued or running, when the
        assessment is gone or moves out of ``organization_ids``, or after ``max_s``."""
        organizations = set(organization_ids)
        deadline = time.monotonic() + max_s
        current, last = first, None
        while True:
            yield current if current != last else None
            last = current
            if current["status"] not in ACTIVE or time.monotonic() >= deadline:
                return
            if not follower.pending:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        follower.changed.wait(),
                        min(quiet_s, max(0.0, deadline - time.monotonic())))
                follower.changed.clear()
                if not follower.pending:
                    continue
            seen = follower.pending.popleft()
            if seen is _GONE or seen[0] not in organizations:
                return
            current = seen[1]

    def _on_message(self, message: Message | None) -> None:
        if message is None:  # messages may have been lost: read the truth now
            self._reread_now.set()
            return
        try:
            followers = self._followers.get(message["id"])
            if not followers:
                return
            status = message["status"]
            seen = _GONE if status is None else (
                str(message["organization_id"]), {name: status[name] for name in STATUS_COLUMNS})
        except (KeyError, TypeError):
            log.warning("ignored a status message of an unexpected shape")
            return
        self.messages += 1
        for follower in followers:
            follower.offer(seen)

    async def _reread(self) -> None:
        failing = False
        while self._followers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reread_now.wait(),
                                       self._reread_s if self.pushed else self._poll_s)
            self._reread_now.clear()
            ids = list(self._followers)
            try:
                found: dict[str, tuple[str, Status]] = {}
                for start in range(0, len(ids), POLL_BATCH):
                    async with self._sessions() as session:
                        found.update(await statuses_by_id(session, ids[start:start + POLL_BATCH]))
                    self.reads += 1
            except Exception as exc:  # the database is away: streams wait, then go on
                if not failing:
                    log.warning("event-stream re-read failed (%s); retrying", type(exc).__name__)
                failing = True
                continue
            if failing:
                log.warning("event-stream re-read works again")
            failing = False
            for assessment_id in ids:
                seen = found.get(assessment_id, _GONE)
                for follower in self._followers.get(assessment_id, ()):
                    if follower.latest != seen:
                        follower.offer(seen)


#: The platform's status feed and leases (``status_feed``, ``leases_of``).
STATUS_FEED: Slot[StatusFeed] = Slot("status_feed")
LEASES: Slot[Leases] = Slot("leases")


def status_feed(platform: Platform) -> StatusFeed:
    """This platform's feed (made on first use)."""
    feed = platform.get(STATUS_FEED)
    if feed is None:
        channel = channel_of(platform, STATUS_CHANNEL)
        alone = channel.reaches_other_processes or platform.settings.server_workers == 1
        feed = platform[STATUS_FEED] = StatusFeed(platform.sessions, channel, alone=alone)
    return feed


def leases_of(platform: Platform) -> Leases:
    """This platform's leases: in Redis with ``REDIS_URL`` (made on first use)."""
    leases = platform.get(LEASES)
    if leases is None:
        settings = platform.settings
        leases = platform[LEASES] = make_leases(settings.redis_url, settings.redis_namespace)
    return leases


async def open_stream(platform: Platform, user_id: str, assessment_id: str,
                      organization_ids: Iterable[str],
                      read: Callable[[], Awaitable[Status | None]]
                      ) -> AsyncIterator[Status | None]:
    """The stream of ``assessment_id`` for ``user_id``: ``read()`` (the access-checked
    status, None when not found: ``NotFound``) once the feed listens, then a single
    status when no run is queued or running, else a followed one holding one of the
    user's ``event_streams_per_user`` leases (429 past that).

    The refusals come from here, before the response starts: the stream is started (its
    first status read) before it is returned."""
    stream = _stream(platform, user_id, assessment_id, organization_ids, read)
    try:
        first = await anext(stream)
    except BaseException:
        await stream.aclose()
        raise
    return _starting_with(first, stream)


async def _starting_with(first: Status | None, rest: AsyncIterator[Status | None]
                         ) -> AsyncIterator[Status | None]:
    try:
        yield first
        async for change in rest:
            yield change
    finally:
        await rest.aclose()  # type: ignore[attr-defined]


async def _stream(platform: Platform, user_id: str, assessment_id: str,
                  organization_ids: Iterable[str],
                  read: Callable[[], Awaitable[Status | None]]
                  ) -> AsyncIterator[Status | None]:
    feed = status_feed(platform)
    async with feed.joined(assessment_id) as follower:
        first = await read()
        if first is None:
            raise NotFound("assessment not found")
        if first["status"] not in ACTIVE:
            yield first
            return
        limit = platform.settings.event_streams_per_user
        leases, key = leases_of(platform), f"event-streams:{user_id}"
        lease = await leases.acquire(key, limit, STREAM_LEASE_S)
        if lease is None:
            platform.metrics.throttled.labels(limit="event_streams").inc()
            raise TooManyRequests(f"more than {limit} open event streams; close one, or "
                                  f"retry in {STREAM_RETRY_AFTER_S} s", STREAM_RETRY_AFTER_S)
        # the lease is renewed at least every third of its life (the stream yields at
        # least every STREAM_QUIET_S), and released however the stream ends
        renew_at = time.monotonic() + STREAM_LEASE_S / 3
        try:
            async for change in feed.follow(follower, first, organization_ids):
                if time.monotonic() >= renew_at:
                    await leases.renew(key, lease, STREAM_LEASE_S)
                    renew_at = time.monotonic() + STREAM_LEASE_S / 3
                yield change
        finally:
            await leases.release(key, lease)
