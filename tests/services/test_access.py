"""``services.auth.current_access`` and what it relies on: the cache's ``get_many`` on
memory and Redis, revocation seen at once by every process sharing Redis, the bound on
changes made around the services (``ACCESS_STATE_TTL_S``), and the verified-token memo.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import event, update

from infra_mind.kit import security
from infra_mind.kit.cache import MemoryCache
from infra_mind.kit.db import session_scope
from infra_mind.kit.security import TokenError, decode_token, issue_token
from infra_mind.models import User
from infra_mind.repositories import auth as auth_repo
from infra_mind.services.auth import (
    ACCESS_STATE_TTL_S,
    STATE_READS,
    current_access,
    set_user_active,
)
from tests.api.helpers import create_member
from tests.platform_fixtures import redis_cache_or_skip

BASE = "/api/v1/assessments"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now



@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_get_many_answers_in_order_with_none_for_absent_keys(backend):
    cache = MemoryCache() if backend == "memory" \
        else await redis_cache_or_skip(f"test:{uuid.uuid4().hex}:")
    try:
        await cache.set("a", "1", 60)
        await cache.set("c", "3", 60)
        assert await cache.get_many(["a", "b", "c"]) == ["1", None, "3"]
        assert await cache.get_many([]) == []
    finally:
        await cache.delete("a")
        await cache.delete("c")
        await cache.close()


async def test_a_deactivation_is_seen_at_once_by_every_process_sharing_redis(app, client):
    """Two API processes on one Redis: the one that deactivates and the one asked next."""
    prefix = f"test:{uuid.uuid4().hex}:"
    platform = app.state.platform
    serving, elsewhere = await redis_cache_or_skip(prefix), await redis_cache_or_skip(prefix)
    own_cache, platform.cache = platform.cache, serving
    try:
        owner = await create_member(app)
        assert (await client.get(BASE, headers=owner.headers)).status_code == 200
        other_process = dataclasses.replace(platform, cache=elsewhere)
        assert await set_user_active(other_process, owner.user_id, False)
        assert (await client.get(BASE, headers=owner.headers)).status_code == 401
    finally:
        platform.cache = own_cache
        for cache in (serving, elsewhere):
            for key in await cache.items("access:"):
                await cache.delete(key)
            await cache.close()


async def test_a_change_made_around_the_services_applies_within_the_state_ttl(app, client):
    """A user deactivated by hand in the database (not through ``services.auth``) keeps the
    access cached for them until it expires, ``ACCESS_STATE_TTL_S`` at most."""
    clock = Clock()
    platform = app.state.platform
    own_cache, platform.cache = platform.cache, MemoryCache(clock=clock)
    try:
        owner = await create_member(app)
        assert (await client.get(BASE, headers=owner.headers)).status_code == 200
        async with session_scope(platform.sessions) as session:
            await session.execute(update(User).where(User.id == owner.user_id)
                                  .values(is_active=False))
        clock.now += ACCESS_STATE_TTL_S - 1
        assert (await client.get(BASE, headers=owner.headers)).status_code == 200
        clock.now += 2
        assert (await client.get(BASE, headers=owner.headers)).status_code == 401
    finally:
        platform.cache = own_cache


def test_a_remembered_token_is_refused_once_it_expires(monkeypatch):
    secret = "m" * 48
    token, claims = issue_token(secret, subject="u1", kind="access", ttl_s=60)
    assert decode_token(secret, token, "access") == \
        dataclasses.replace(claims, expires_at=claims.expires_at.replace(microsecond=0))
    expires_at = claims.expires_at.replace(microsecond=0).timestamp()
    monkeypatch.setattr(security, "time", SimpleNamespace(time=lambda: expires_at))
    with pytest.raises(TokenError, match="token expired"):
        decode_token(secret, token, "access")  # remembered, and expired now
    with pytest.raises(TokenError, match="not an refresh token"):
        decode_token(secret, token, "refresh")
    with pytest.raises(TokenError, match="invalid token"):
        decode_token("x" * 48, token, "access")


def test_tokens_carry_their_issue_time_to_the_millisecond():
    now = datetime.now(UTC).replace(microsecond=123_456)
    token, claims = issue_token("m" * 48, subject="u1", kind="access", ttl_s=60,
                                family_id="f1", now=now)
    assert claims.issued_at == round(now.timestamp(), 3)
    assert round(claims.issued_at % 1, 3) == 0.123
    decoded = decode_token("m" * 48, token, "access")
    assert (decoded.issued_at, decoded.family_id) == (claims.issued_at, "f1")


async def test_requests_that_find_the_state_expired_together_read_it_once(app, client):
    """50 requests of one user meeting an expired state: one SQL read of it, the others
    wait on that read (they had each gone to the database: p99 over 100 ms)."""
    platform = app.state.platform
    owner = await create_member(app)
    assert (await client.get(BASE, headers=owner.headers)).status_code == 200
    await platform.cache.delete(f"access:user:{owner.user_id}")  # expired
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if "memberships" in statement and "users.is_active" in statement:
            statements.append(statement)

    engine = platform.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        answers = await asyncio.gather(*(client.get(BASE, headers=owner.headers)
                                         for _ in range(50)))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert {a.status_code for a in answers} == {200}
    assert len(statements) == 1, statements
    assert not platform[STATE_READS]  # nothing left in flight


async def test_a_request_whose_shared_read_was_cancelled_reads_for_itself(app, monkeypatch):
    """The read others wait on belongs to a request that may go away: its cancellation
    sends the waiters to read for themselves, never to fail."""
    platform = app.state.platform
    owner = await create_member(app)
    await platform.cache.delete(f"access:user:{owner.user_id}")
    claims = decode_token(platform.settings.secret(),
                          owner.headers["Authorization"].removeprefix("Bearer "), "access")
    started = asyncio.Event()
    real = auth_repo.access_of

    async def held(db, user_id):  # the first read hangs until it is cancelled
        started.set()
        await asyncio.Event().wait()
        return await real(db, user_id)

    monkeypatch.setattr(auth_repo, "access_of", held)
    async with session_scope(platform.sessions) as db, \
            session_scope(platform.sessions) as other_db:
        leader = asyncio.create_task(current_access(platform, db, claims))
        await started.wait()
        monkeypatch.setattr(auth_repo, "access_of", real)
        waiter = asyncio.create_task(current_access(platform, other_db, claims))
        await asyncio.sleep(0.05)  # the waiter is waiting on the leader's read
        assert not waiter.done()
        leader.cancel()
        access = await asyncio.wait_for(waiter, 10)
        with pytest.raises(asyncio.CancelledError):
            await leader
    assert access is not None and access.user_id == owner.user_id
    assert not platform[STATE_READS]
