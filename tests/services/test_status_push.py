"""Status changes are pushed to open ``/events`` streams (``services.events``, issue #14).

Before, one poller per process read every followed assessment every 0.5 s, and a change
reached a stream only through such a read. Now whoever changes a status announces it when
its transaction commits, and the stream is woken with the status the message carries:

- a run executed in this process (the in-process default) reaches its stream, step by
  step, with no status read in between;
- a request's cancel and delete reach the streams when the request commits;
- with ``REDIS_URL``, a message published by another process (here a second Redis
  client, speaking the wire format) reaches the stream, and this process's own changes
  go out through Redis and come back;
- a change made without an announcement (a row edited by hand, a message
  lost) is found by the feed's safety re-read, and several API processes without Redis
  (each announcing in its own memory) re-read often;
- a change that rolls back is never announced.

Streams are held through the service (``AssessmentService.watch``), since the test client
collects a response whole.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import event, update

from infra_mind.kit.pubsub import (
    CHANNELS,
    MemoryChannel,
    RedisChannel,
    channel_of,
    publish_on_commit,
)
from infra_mind.models import Assessment, utcnow
from infra_mind.repositories.assessments import STATUS_CHANNEL
from infra_mind.services import events
from infra_mind.services.assessments import AssessmentService
from infra_mind.services.events import STATUS_FEED, StatusFeed, status_feed
from infra_mind.worker import tasks
from tests.api.helpers import Member, create_assessment, create_member

BASE = "/api/v1/assessments"
REDIS_URL = os.environ.get("INFRA_MIND_TEST_REDIS", "redis://127.0.0.1:6379/15")
REQUIRE = os.environ.get("INFRA_MIND_REQUIRE_SERVICES") == "1"


@dataclass
class Actor:
    id: str
    roles: dict[str, str] = field(default_factory=dict)
    client_address: str | None = "127.0.0.1"


async def watch(app, member: Member, assessment_id: str) -> AsyncIterator[dict | None]:
    async with app.state.platform.sessions() as session:
        service = AssessmentService(session, Actor(member.user_id,
                                                   {member.organization_id: member.role}),
                                    app.state.platform)
        return await service.watch(assessment_id)


async def queued(app, client, member: Member) -> str:
    aid = (await create_assessment(client, member))["id"]
    response = await client.post(f"{BASE}/{aid}/run", headers=member.headers)
    assert response.json()["assessment"]["status"] == "queued"
    return aid


async def changes_until_the_end(stream: AsyncIterator[dict | None], timeout_s: float = 60
                                ) -> list[dict]:
    """Every status the stream sends until it ends (heartbeats dropped); bounded."""
    seen: list[dict] = []

    async def drain() -> None:
        async for change in stream:
            if change is not None:
                seen.append(change)

    await asyncio.wait_for(drain(), timeout_s)
    return seen


async def next_change(stream: AsyncIterator[dict | None]) -> dict:
    """The next status the stream sends (None: woken with nothing new, e.g. a message
    repeating what the stream sent already)."""
    while (change := await anext(stream)) is None:
        pass
    return change


@pytest.fixture()
def status_reads(monkeypatch) -> list[list[str]]:
    """The ids of each status read the feed makes (its re-reads; the poller's polls)."""
    reads: list[list[str]] = []
    real = events.statuses_by_id

    async def counted(session, assessment_ids):
        reads.append(list(assessment_ids))
        return await real(session, assessment_ids)

    monkeypatch.setattr(events, "statuses_by_id", counted)
    return reads


async def test_a_run_reaches_its_stream_step_by_step_with_no_status_read(
        app, client, held, status_reads):
    platform = app.state.platform
    platform.settings.run_progress_every_s = 0  # every step written at once
    owner = await create_member(app)
    aid = await queued(app, client, owner)
    stream = await watch(app, owner, aid)
    assert await anext(stream) == {"status": "queued", "progress": 0, "current_step": None,
                                   "error": None}
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = platform.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        outcome, seen = await asyncio.gather(tasks.run_assessment(aid),
                                             changes_until_the_end(stream))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert outcome == "completed"
    assert seen[0] == {"status": "running", "progress": 0, "current_step": "starting",
                       "error": None}
    assert seen[-1] == {"status": "completed", "progress": 100, "current_step": None,
                        "error": None}
    steps = [change["current_step"] for change in seen]
    assert "validating requirements" in steps and "agent research" in steps, steps
    assert "saving result" in steps, steps
    progress = [change["progress"] for change in seen]
    assert progress == sorted(progress), progress
    assert status_reads == []
    # nothing read the status columns the stream reports: the run's writes return them
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT")
                and "assessments.current_step" in s], statements


async def test_cancel_and_delete_reach_the_streams_when_the_request_commits(
        app, client, held, status_reads):
    owner = await create_member(app)
    cancelled = await queued(app, client, owner)
    deleted = await queued(app, client, owner)
    streams = {aid: await watch(app, owner, aid) for aid in (cancelled, deleted)}
    for stream in streams.values():
        assert (await anext(stream))["status"] == "queued"
    assert (await client.post(f"{BASE}/{cancelled}/cancel",
                              headers=owner.headers)).status_code == 200
    assert [c["status"] for c in await changes_until_the_end(streams[cancelled], 10)] == [
        "cancelled"]
    # a deleted assessment's stream ends with no further status
    assert (await client.delete(f"{BASE}/{deleted}", headers=owner.headers)).status_code \
        == 204
    assert await changes_until_the_end(streams[deleted], 10) == []
    assert status_reads == []


async def test_a_change_that_rolls_back_is_never_announced(app, client, held):
    platform = app.state.platform
    channel = channel_of(platform, STATUS_CHANNEL)
    owner = await create_member(app)
    aid = await queued(app, client, owner)
    heard: list[dict | None] = []
    channel.subscribe(heard.append)
    touch = update(Assessment).where(Assessment.id == aid).values(updated_at=utcnow())
    try:
        async with platform.sessions() as session:
            await session.execute(touch)
            publish_on_commit(session, channel, {"id": "rolled-back"})
            await session.rollback()
            await session.execute(touch)
            publish_on_commit(session, channel, {"id": "committed"})
            assert heard == []  # not before the commit
            await session.commit()
        assert heard == [{"id": "committed"}]
    finally:
        channel.unsubscribe(heard.append)


async def test_a_change_nobody_announced_is_found_by_the_safety_re_read(app, client, held):
    """A row edited by hand (or a lost message) writes with no message: the
    feed's slow re-read finds it (here its interval is shortened to 0.2 s)."""
    platform = app.state.platform
    platform[STATUS_FEED] = StatusFeed(platform.sessions, MemoryChannel(), reread_s=0.2)
    owner = await create_member(app)
    aid = await queued(app, client, owner)
    stream = await watch(app, owner, aid)
    assert (await anext(stream))["status"] == "queued"
    async with platform.sessions() as session, session.begin():
        await session.execute(update(Assessment).where(Assessment.id == aid).values(
            status="failed", error="given up by an administrator", finished_at=utcnow()))
    assert await changes_until_the_end(stream, 10) == [
        {"status": "failed", "progress": 0, "current_step": None,
         "error": "given up by an administrator"}]
    assert status_feed(platform).reads >= 1


async def test_several_api_processes_without_redis_poll(app, client, held):
    """``serve --workers 2`` without Redis: a run in another process announces in that
    process's memory only, so the feed re-reads every 0.5 s, as the poller did."""
    platform = app.state.platform
    platform.settings.server_workers = 2
    owner = await create_member(app)
    aid = await queued(app, client, owner)
    stream = await watch(app, owner, aid)
    assert (await anext(stream))["status"] == "queued"
    feed = status_feed(platform)
    assert not feed.pushed
    async with platform.sessions() as session, session.begin():  # "another process"
        await session.execute(update(Assessment).where(Assessment.id == aid).values(
            status="cancelled", finished_at=utcnow()))
    assert [c["status"] for c in await changes_until_the_end(stream, 30)] == ["cancelled"]
    assert feed.reads >= 1


# -- Redis ---------------------------------------------------------------------------------


@pytest.fixture()
async def redis_channel(app) -> AsyncIterator[RedisChannel]:
    """The app's status channel on Redis, under a name of this test's own (pub/sub
    channels hold no keys: nothing to clean but the connections)."""
    probe = Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        await probe.ping()
    except (RedisError, OSError) as exc:
        if REQUIRE:
            pytest.fail(f"Redis unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    finally:
        await probe.aclose()
    channel = RedisChannel(REDIS_URL, f"test-{uuid.uuid4().hex}")
    platform = app.state.platform
    platform[CHANNELS] = {**(platform.get(CHANNELS) or {}), STATUS_CHANNEL: channel}
    yield channel
    await channel.close()


async def test_a_message_from_another_process_reaches_the_stream(app, client, held,
                                                                  redis_channel,
                                                                  status_reads):
    platform = app.state.platform
    owner = await create_member(app)
    aid = await queued(app, client, owner)
    stream = await watch(app, owner, aid)
    assert (await anext(stream))["status"] == "queued"
    assert redis_channel.live  # subscribed before the first status was read
    other = Redis.from_url(REDIS_URL, socket_timeout=2)  # another process's connection
    try:
        running = {"status": "running", "progress": 45, "current_step": "agent compliance",
                   "error": None}
        heard = await other.publish(redis_channel.name, json.dumps(
            {"id": aid, "organization_id": owner.organization_id, "status": running}))
        assert heard >= 1
        assert await asyncio.wait_for(next_change(stream), 10) == running
        # another organization's message for this id is not this stream's to show: it ends
        await other.publish(redis_channel.name, json.dumps(
            {"id": aid, "organization_id": "someone-else", "status": running}))
        assert await changes_until_the_end(stream, 10) == []
    finally:
        await other.aclose()
    # this process's own changes go out through Redis and come back to its streams
    again = await watch(app, owner, aid)
    assert (await anext(again))["status"] == "queued"
    assert (await client.post(f"{BASE}/{aid}/cancel",
                              headers=owner.headers)).status_code == 200
    assert [c["status"] for c in await changes_until_the_end(again, 10)] == ["cancelled"]
    assert status_reads == []
    assert status_feed(platform).messages >= 2
