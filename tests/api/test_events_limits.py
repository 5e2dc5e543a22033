"""What one user's ``/events`` streams and what-ifs may cost (issue #10, item 6).

- A stream of an assessment with no run queued or running sends its status and ends
  (a draft's stream stayed open for an hour).
- A user holds at most ``event_streams_per_user`` open streams (429 with Retry-After).
- Changes are pushed to one feed per process: no query per stream, nor per poll (each
  stream polled every 0.5 s on its own, then one poller per process did).
- One what-if at a time per user (429), and 503 when this process's engine slots are
  all taken (both with Retry-After); the engine runs in an engine process.

Open streams are held through the service (``AssessmentService.watch``), since the test
client collects a response whole; the refusals go through HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field

from sqlalchemy import event

from infra_mind.kit.compute import engine_budget
from infra_mind.kit.pubsub import channel_of
from infra_mind.models import utcnow
from infra_mind.repositories.assessments import STATUS_CHANNEL, RunRepository
from infra_mind.services.assessments import AssessmentService
from infra_mind.services.events import leases_of, status_feed
from tests.api.helpers import Member, create_assessment, create_member

BASE = "/api/v1/assessments"


@dataclass
class Actor:
    id: str
    roles: dict[str, str] = field(default_factory=dict)
    client_address: str | None = "127.0.0.1"


def actor_of(member: Member) -> Actor:
    return Actor(member.user_id, {member.organization_id: member.role})


async def watch(app, member: Member, assessment_id: str):
    async with app.state.platform.sessions() as session:
        service = AssessmentService(session, actor_of(member), app.state.platform)
        return await service.watch(assessment_id)


async def queued(app, client, member: Member) -> str:
    aid = (await create_assessment(client, member))["id"]
    response = await client.post(f"{BASE}/{aid}/run", headers=member.headers)
    assert response.json()["assessment"]["status"] == "queued"
    return aid


def events_of(text: str) -> list[dict]:
    blocks = [b for b in text.split("\n\n") if b.startswith("event: status")]
    return [json.loads(b.splitlines()[1].removeprefix("data: ")) for b in blocks]


async def test_a_drafts_stream_sends_its_status_and_ends(app, client):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    response = await asyncio.wait_for(
        client.get(f"{BASE}/{aid}/events", headers=owner.headers), timeout=5)
    assert response.status_code == 200
    assert events_of(response.text) == [
        {"status": "draft", "progress": 0, "current_step": None, "error": None}]
    # and it took no stream slot
    leases = leases_of(app.state.platform)
    assert await leases.acquire(f"event-streams:{owner.user_id}", 1, 60) is not None


async def test_a_user_holds_at_most_the_configured_streams(app, client, held):
    platform = app.state.platform
    platform.settings.event_streams_per_user = 2
    owner = await create_member(app)
    aid = await queued(app, client, owner)
    streams = [await watch(app, owner, aid) for _ in range(2)]
    assert [await anext(s) for s in streams] == [
        {"status": "queued", "progress": 0, "current_step": None, "error": None}] * 2

    refused = await asyncio.wait_for(  # (an accepted stream would not end: bounded)
        client.get(f"{BASE}/{aid}/events", headers=owner.headers), timeout=5)
    assert refused.status_code == 429, refused.text
    assert refused.json() == {"detail": "more than 2 open event streams; close one, or "
                                        "retry in 10 s"}
    assert refused.headers["Retry-After"] == "10"
    # another user is not affected
    other = await create_member(app, organization_id=owner.organization_id, role="viewer")
    theirs = await watch(app, other, aid)
    assert (await anext(theirs))["status"] == "queued"

    await streams[0].aclose()  # a stream that ends gives its slot back
    again = await watch(app, owner, aid)
    assert (await anext(again))["status"] == "queued"
    for stream in (streams[1], theirs, again):
        await stream.aclose()


async def test_streams_end_with_the_run_and_share_one_feed(app, client, held):
    """Forty streams on four queued runs: no query while they wait, and the run that
    finishes reaches its ten streams as a message (40 streams polled 80 times a second
    at first, then one poller per process read them twice a second)."""
    platform = app.state.platform
    platform.settings.event_streams_per_user = 100
    owner = await create_member(app)
    ids = [await queued(app, client, owner) for _ in range(4)]
    streams = [await watch(app, owner, ids[i % 4]) for i in range(40)]
    for stream in streams:
        assert (await anext(stream))["status"] == "queued"

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    received: list[list[dict | None]] = [[] for _ in streams]

    async def drain(i: int) -> None:
        async for change in streams[i]:
            received[i].append(change)

    engine = platform.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    tasks = [asyncio.create_task(drain(i)) for i in range(len(streams))]
    try:
        await asyncio.sleep(1.6)  # three polls of the poller that was
        # the first run finishes: its ten streams get the change and end; the rest go on
        async with platform.sessions() as session, session.begin():
            runs = RunRepository(session, channel_of(platform, STATUS_CHANNEL))
            assert await runs.claim(ids[0], "w:1:test", utcnow())
            assert await runs.complete(ids[0], "w:1:test", utcnow())
        done, _ = await asyncio.wait([tasks[i] for i in range(0, 40, 4)], timeout=5)
        assert len(done) == 10
    finally:
        event.remove(engine, "before_cursor_execute", count)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert statements == []
    assert status_feed(platform).reads == 0
    for i in range(0, 40, 4):
        assert received[i][-1]["status"] == "completed", received[i]
    assert all(not r or r[-1] is None or r[-1]["status"] == "queued"
               for i, r in enumerate(received) if i % 4), received


async def test_one_what_if_at_a_time_per_user(app, client):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    leases = leases_of(app.state.platform)
    busy = await leases.acquire(f"what-if:{owner.user_id}", 1, 60)  # one in progress
    assert busy is not None
    refused = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                                json={"traffic_multiplier": 2})
    assert refused.status_code == 429, refused.text
    assert refused.json() == {"detail": "one what-if at a time: wait for the one in "
                                        "progress"}
    assert refused.headers["Retry-After"] == "1"
    other = await create_member(app, organization_id=owner.organization_id, role="viewer")
    assert (await client.post(f"{BASE}/{aid}/what-if", headers=other.headers,
                              json={"traffic_multiplier": 2})).status_code == 200
    await leases.release(f"what-if:{owner.user_id}", busy)
    assert (await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                              json={"traffic_multiplier": 2})).status_code == 200
    # its lease was given back: the next one is accepted too
    assert (await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                              json={"traffic_multiplier": 3})).status_code == 200


async def test_a_what_if_past_the_engines_capacity_is_503(app, client):
    owner = await create_member(app)
    aid = (await create_assessment(client, owner))["id"]
    settings = app.state.platform.settings
    budget = engine_budget(settings.engine_processes, settings.engine_queue)
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(budget.capacity - budget.in_flight):
            await stack.enter_async_context(budget.admitted())
        busy = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                                 json={"traffic_multiplier": 2})
    assert busy.status_code == 503, busy.text
    assert busy.json() == {"detail": "the engine is busy with other requests; try again "
                                     "shortly"}
    assert busy.headers["Retry-After"] == "2"
    fine = await client.post(f"{BASE}/{aid}/what-if", headers=owner.headers,
                             json={"traffic_multiplier": 2})
    assert fine.status_code == 200
    assert budget.in_flight == 0
