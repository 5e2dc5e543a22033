"""Cached reads with no SQL at all (#14): a warm result or list is answered from the cache
(``repositories.assessment_cache``) without a statement or a connection, and stays as
strict as the database: a new result, a deletion, a removed member are seen at once; a
reader that read before a change and writes after it cannot bring old news back; several
processes on their own memory read the database every time; on Redis, one process's
write is seen by the next read of another.

Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event

from infra_mind.api.app import create_app
from infra_mind.api.deps import Principal
from infra_mind.config import load_settings
from infra_mind.kit.cache import RedisCache
from infra_mind.kit.db import session_scope
from infra_mind.kit.platform import Platform
from infra_mind.kit.pubsub import CHANNELS, MemoryChannel, channel_of, committed
from infra_mind.repositories import assessment_cache
from infra_mind.repositories.assessments import STATUS_CHANNEL, AssessmentRepository
from infra_mind.services.assessments import AssessmentService
from infra_mind.services.auth import remove_membership
from infra_mind.worker import tasks
from tests.api.helpers import REQUIREMENTS, create_assessment, create_member
from tests.platform_fixtures import CHEAP_HASHING, REDIS_URL, redis_cache_or_skip

BASE = "/api/v1/assessments"


@dataclass
class DatabaseUse:
    statements: list[str] = field(default_factory=list)
    checkouts: int = 0

    @property
    def none(self) -> bool:
        return not self.statements and self.checkouts == 0


@contextlib.contextmanager
def database_use(app) -> Iterator[DatabaseUse]:
    """The statements the app's engine runs, and the connections it checks out."""
    use = DatabaseUse()

    def statement(conn, cursor, text, parameters, context, executemany) -> None:
        use.statements.append(text)

    def checkout(dbapi_connection, record, proxy) -> None:
        use.checkouts += 1

    engine = app.state.platform.engine.sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "checkout", checkout)
    try:
        yield use
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "checkout", checkout)


async def run(client, member, assessment_id: str) -> None:
    queued = await client.post(f"{BASE}/{assessment_id}/run", headers=member.headers)
    assert queued.status_code == 202, queued.text
    assert await tasks.run_assessment(assessment_id) == "completed"


async def completed(client, member) -> str:
    assessment = await create_assessment(client, member)
    await run(client, member, assessment["id"])
    return assessment["id"]


def bigger_requirements() -> dict:
    bigger = copy.deepcopy(REQUIREMENTS)
    for workload in bigger["workloads"]:
        if "peak_rps" in workload:
            workload["peak_rps"] *= 20
    return bigger


async def test_a_warm_result_and_list_run_no_sql_and_take_no_connection(app, client, held):
    owner = await create_member(app)
    aid = await completed(client, owner)
    for path in (f"{BASE}/{aid}/result", BASE, f"{BASE}?status=completed&limit=5"):
        cold = await client.get(path, headers=owner.headers)
        assert cold.status_code == 200, cold.text
        with database_use(app) as use:
            warm = await client.get(path, headers=owner.headers)
        assert use.none, (path, use)
        assert warm.content == cold.content
    result_etag = (await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
                   ).headers["etag"]
    with database_use(app) as use:
        not_modified = await client.get(f"{BASE}/{aid}/result",
                                        headers={**owner.headers,
                                                 "If-None-Match": result_etag})
    assert not_modified.status_code == 304 and use.none, use
    listed = (await client.get(BASE, headers=owner.headers)).json()
    assert [item["id"] for item in listed["items"]] == [aid]
    assert listed["items"][0]["status"] == "completed"


async def test_a_result_written_by_a_run_is_served_at_once(app, client, held):
    owner = await create_member(app)
    aid = await completed(client, owner)
    old = await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
    old_list = (await client.get(BASE, headers=owner.headers)).json()["items"][0]
    assert (await client.get(f"{BASE}/{aid}/result", headers=owner.headers)).content \
        == old.content  # cached now
    patched = await client.patch(f"{BASE}/{aid}", headers=owner.headers,
                                 json={"requirements": bigger_requirements()})
    assert patched.status_code == 200, patched.text
    assert (await client.get(BASE, headers=owner.headers)).json()["items"][0]["status"] \
        == "draft"
    await run(client, owner, aid)
    with database_use(app) as use:
        new = await client.get(f"{BASE}/{aid}/result",
                               headers={**owner.headers, "If-None-Match": old.headers["etag"]})
    assert new.status_code == 200 and new.json()["version"] == 2, new.text
    assert new.headers["etag"] != old.headers["etag"] and new.headers["etag"].startswith('"2-')
    # the run told the cache its version: only the new document was read
    assert len(use.statements) == 1 and "assessment_results" in use.statements[0], use
    listed = (await client.get(BASE, headers=owner.headers)).json()["items"][0]
    assert listed["status"] == "completed"
    assert listed["recommended_monthly_cost_usd"] != old_list["recommended_monthly_cost_usd"]


async def test_a_deleted_assessment_is_not_found_at_once_though_it_was_cached(app, client,
                                                                              held):
    owner = await create_member(app)
    aid = await completed(client, owner)
    for _ in range(2):
        assert (await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
                ).status_code == 200
    assert (await client.get(BASE, headers=owner.headers)).json()["total"] == 1
    deleted = await client.delete(f"{BASE}/{aid}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text
    with database_use(app) as use:
        gone = await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
    assert (gone.status_code, gone.json()) == (404, {"detail": "assessment not found"})
    assert use.none, use  # the tombstone answered
    assert (await client.get(BASE, headers=owner.headers)).json()["total"] == 0


async def test_a_late_reader_cannot_bring_a_deleted_assessment_back(app, client, held):
    """The race, in order: a reader reads the database, the deletion commits, then the
    reader adds what it read; and a run's result write that arrives after the deletion."""
    platform = app.state.platform
    owner = await create_member(app)
    aid = await completed(client, owner)
    await platform.cache.delete(assessment_cache.access_key(aid))  # no entry: a miss
    async with session_scope(platform.sessions) as session:
        organization_id, version = await AssessmentRepository(
            session, [owner.organization_id]).result_version(aid)
    assert (organization_id, version) == (owner.organization_id, 1)
    assert (await client.delete(f"{BASE}/{aid}", headers=owner.headers)).status_code == 204
    await assessment_cache.add_access(platform, aid, organization_id, version)
    assert not await platform.cache.set_if_higher(
        assessment_cache.access_key(aid),
        assessment_cache.access_value(organization_id, version + 1),
        assessment_cache.ACCESS_TTL_S)
    gone = await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
    assert (gone.status_code, gone.json()) == (404, {"detail": "assessment not found"})


async def test_a_list_read_before_a_change_and_written_after_it_is_never_served(app, client,
                                                                                held):
    platform = app.state.platform
    owner = await create_member(app)
    await create_assessment(client, owner, title="first")
    before = await client.get(BASE, headers=owner.headers)
    roles, query = {owner.organization_id: "owner"}, (None, 20, 0)
    key = assessment_cache.list_key(roles, query)
    _, generations = await assessment_cache.cached_list(platform, roles, query)
    tags = await assessment_cache.current_generations(platform.cache,
                                                      [owner.organization_id], generations)
    assert tags is not None
    await create_assessment(client, owner, title="second")  # commits, then a new generation
    await assessment_cache.store_list(platform.cache, key, tags, before.content)
    after = (await client.get(BASE, headers=owner.headers)).json()
    assert [item["title"] for item in after["items"]] == ["second", "first"]


async def test_a_removed_member_is_refused_at_once_on_the_cached_path(app, client, held):
    owner = await create_member(app)
    viewer = await create_member(app, role="viewer", organization_id=owner.organization_id)
    aid = await completed(client, owner)
    for _ in range(2):
        assert (await client.get(f"{BASE}/{aid}/result", headers=viewer.headers)
                ).status_code == 200
        assert (await client.get(BASE, headers=viewer.headers)).json()["total"] == 1
    assert await remove_membership(app.state.platform, user_id=viewer.user_id,
                                   organization_id=owner.organization_id)
    with database_use(app) as use:
        refused = await client.get(f"{BASE}/{aid}/result", headers=viewer.headers)
    assert (refused.status_code, refused.json()) == (404, {"detail": "assessment not found"})
    # one statement, for the caller's new roles; the assessment's access came from the cache
    assert len(use.statements) == 1 and "memberships" in use.statements[0], use
    assert (await client.get(BASE, headers=viewer.headers)).json()["total"] == 0
    stranger = await create_member(app)
    assert (await client.get(f"{BASE}/{aid}/result", headers=stranger.headers)
            ).status_code == 404


@contextlib.asynccontextmanager
async def app_with(database_url: str, **settings: object
                   ) -> AsyncIterator[tuple[object, httpx.AsyncClient]]:
    application = create_app(load_settings(environment="test", database_url=database_url,
                                           redis_url=None, jwt_secret_key="t" * 48,
                                           **CHEAP_HASHING, **settings))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield application, c


async def test_several_processes_on_their_own_memory_read_the_database(database_url, held):
    async with app_with(database_url, server_workers=2) as (app, client):
        owner = await create_member(app)
        aid = await completed(client, owner)
        for path in (f"{BASE}/{aid}/result", BASE):
            assert (await client.get(path, headers=owner.headers)).status_code == 200
            with database_use(app) as use:
                response = await client.get(path, headers=owner.headers)
            assert response.status_code == 200, response.text
            assert len(use.statements) == 1, (path, use)  # who may read, and which version
        # the run wrote its access entry to this process's memory: held, not trusted
        assert await app.state.platform.cache.get(assessment_cache.access_key(aid)) \
            == f"1 {owner.organization_id}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



@contextlib.asynccontextmanager
async def another_process_on_redis(platform: Platform, **fields: Any
                                   ) -> AsyncIterator[Platform]:
    """This app's platform on a Redis namespace of its own, as one of several processes
    (``server_workers`` 2), and another process's platform on the same namespace: its own
    cache client and in-memory channels, ``fields`` replaced. On exit the app's own cache
    and settings come back and the namespace's keys are deleted."""
    channel_of(platform, STATUS_CHANNEL)  # made now: stays in memory when settings change
    prefix = f"test:{uuid.uuid4().hex}:"
    serving, other_cache = await redis_cache_or_skip(prefix), await redis_cache_or_skip(prefix)
    own_cache, own_settings = platform.cache, platform.settings
    platform.cache = serving
    platform.settings = own_settings.model_copy(update={"redis_url": REDIS_URL,
                                                        "server_workers": 2})
    other = dataclasses.replace(platform, cache=other_cache, _slots={}, **fields)
    other[CHANNELS] = {STATUS_CHANNEL: MemoryChannel()}
    try:
        yield other
    finally:
        platform.cache, platform.settings = own_cache, own_settings
        for key in await serving.items(""):
            await serving.delete(key)
        for cache in (serving, other_cache):
            await cache.close()


async def test_on_redis_another_process_write_is_seen_by_the_next_read(app, client, held):
    """Two processes on one Redis: this app reads; ``elsewhere`` (a worker, another API
    process) stores a new result, adds an assessment and deletes one."""
    platform = app.state.platform
    owner = await create_member(app)
    aid = await completed(client, owner)
    actor = Principal(id=owner.user_id, roles={owner.organization_id: "owner"},
                      client_address=None)
    # another process: its own cache client and channels, the same agents
    async with another_process_on_redis(platform,
                                        agents=tasks.agents_of(platform)) as elsewhere:
        for path in (f"{BASE}/{aid}/result", BASE):
            assert (await client.get(path, headers=owner.headers)).status_code == 200
            with database_use(app) as use:
                assert (await client.get(path, headers=owner.headers)).status_code == 200
            assert use.none, (path, use)
        old_etag = (await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
                    ).headers["etag"]
        patched = await client.patch(f"{BASE}/{aid}", headers=owner.headers,
                                     json={"requirements": bigger_requirements()})
        assert patched.status_code == 200, patched.text
        assert (await client.post(f"{BASE}/{aid}/run", headers=owner.headers)
                ).status_code == 202
        assert await tasks.execute_run(elsewhere, aid) == "completed"
        new = await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
        assert new.json()["version"] == 2 and new.headers["etag"] != old_etag
        async with session_scope(platform.sessions) as session:
            added = await AssessmentService(session, actor, elsewhere).create(
                title="elsewhere", requirements=REQUIREMENTS,
                organization_id=owner.organization_id)
        await committed(session)
        listed = (await client.get(BASE, headers=owner.headers)).json()
        assert {item["id"] for item in listed["items"]} == {aid, added.id}
        async with session_scope(platform.sessions) as session:
            await AssessmentService(session, actor, elsewhere).delete(aid)
        await committed(session)
        with database_use(app) as use:
            gone = await client.get(f"{BASE}/{aid}/result", headers=owner.headers)
        assert (gone.status_code, gone.json()) == (404, {"detail": "assessment not found"})
        assert use.none, use
        listed = (await client.get(BASE, headers=owner.headers)).json()
        assert [item["id"] for item in listed["items"]] == [added.id]


async def test_while_redis_is_unreachable_reads_use_the_database(app, client, held):
    platform = app.state.platform
    owner = await create_member(app)
    aid = await completed(client, owner)
    channel_of(platform, STATUS_CHANNEL)
    own_cache, own_settings = platform.cache, platform.settings
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    platform.cache = RedisCache(unreachable)
    platform.settings = own_settings.model_copy(update={"redis_url": unreachable})
    try:
        for path in (f"{BASE}/{aid}/result", BASE):
            for _ in range(2):
                with database_use(app) as use:
                    response = await client.get(path, headers=owner.headers)
                assert response.status_code == 200, response.text
                assert not platform.cache.shared
                assert any("FROM assessments" in s for s in use.statements), (path, use)
    finally:
        await platform.cache.close()
        platform.cache, platform.settings = own_cache, own_settings
