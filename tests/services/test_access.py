"""``services.auth.current_access`` and what it relies on: the cache's ``get_many`` on
memory and Redis, revocation seen at once by every process sharing Redis, the bound on
changes made around the services (``ACCESS_STATE_TTL_S``), and the verified-token memo.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from infra_mind.kit import security
from infra_mind.kit.cache import MemoryCache
from infra_mind.kit.db import session_scope
from infra_mind.kit.security import TokenError, decode_token, issue_token
from infra_mind.models import User
from infra_mind.services.auth import ACCESS_STATE_TTL_S, set_user_active
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
