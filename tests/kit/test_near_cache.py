"""The near cache (``kit.near_cache``): values read from Redis kept in the process and
dropped when Redis says they changed.

Two ``RedisCache``s on one prefix stand for two processes (an API and a worker, or two
APIs). The Redis tests use $INFRA_MIND_TEST_REDIS (default DB 15) under a fresh key prefix
and delete their keys; the listener's connection is killed with CLIENT KILL, or silenced
through a relay that holds what it is sent. The rules about reads in flight are checked
without Redis, on the near cache itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from infra_mind.config import load_settings
from infra_mind.kit.cache import RedisCache
from infra_mind.kit.near_cache import INVALIDATE_CHANNEL, MISS, NearCache
from infra_mind.kit.platform import Platform
from tests.kit.relay import Relay
from tests.platform_fixtures import REDIS_URL, redis_cache_or_skip


async def _until(condition, what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:g} s"
        await asyncio.sleep(0.01)


async def _listening(cache: RedisCache) -> None:
    """Reads once (which starts the listener) and waits until it has subscribed."""
    await cache.get("warm-up")
    near = cache._near
    assert near is not None
    await _until(lambda: near.ready, "the near cache listening")


@pytest.fixture()
async def pair() -> AsyncIterator[tuple[RedisCache, RedisCache]]:
    """(a reader with a near cache, a writer with one too), one fresh prefix."""
    plain = await redis_cache_or_skip()  # skips (or fails in CI) without Redis
    prefix = plain._prefix
    reader = RedisCache(REDIS_URL, prefix=prefix, near_ttl_s=60)
    writer = RedisCache(REDIS_URL, prefix=prefix, near_ttl_s=60)
    try:
        await _listening(reader)
        await _listening(writer)
        yield reader, writer
    finally:
        for key in await plain.items(""):
            await plain.delete(key)
        for cache in (reader, writer, plain):
            await cache.close()


async def test_a_kept_value_is_read_without_asking_redis(pair):
    reader, writer = pair
    await writer.set("state", "one", 60)
    assert await reader.get_many(["state", "absent"]) == ["one", None]
    near = reader._near
    hits = near.hits
    assert await reader.get_many(["state", "absent"]) == ["one", None]  # absence is kept too
    assert await reader.get("state") == "one"
    assert near.hits == hits + 3


async def test_the_next_read_after_another_process_writes_sees_the_write(pair):
    # no waiting between the write and the read: Redis sends the invalidation before it
    # acknowledges the write, and the listener applies it in the turn it arrives
    reader, writer = pair
    assert await reader.get("revoked") is None
    assert await reader.get("revoked") is None  # kept as absent
    await writer.set("revoked", "1700000000.000", 60)
    assert await reader.get("revoked") == "1700000000.000"
    assert await writer.add("entry", "0 org", 60)
    assert await reader.get("entry") == "0 org"
    assert await writer.set_if_higher("entry", "3 org", 60)
    assert await reader.get("entry") == "3 org"
    await writer.delete("entry")
    assert await reader.get_many(["entry", "revoked"]) == [None, "1700000000.000"]


async def test_a_process_reads_its_own_writes(pair):
    reader, _ = pair
    assert await reader.get("mine") is None
    await reader.set("mine", "new", 60)
    assert await reader.get("mine") == "new"
    await reader.delete("mine")
    assert await reader.get("mine") is None


async def test_a_lost_listener_drops_what_was_kept_until_it_listens_again(pair):
    reader, writer = pair
    await writer.set("k", "before", 60)
    assert await reader.get("k") == "before"
    near = reader._near
    admin = Redis.from_url(REDIS_URL)
    try:
        assert await admin.client_kill_filter(_id=str(near.client_id)) == 1
        assert not near.ready  # the connection's end was seen in the same turn
        await writer.set("k", "after", 60)  # no invalidation can reach the reader now
        assert await reader.get("k") == "after"
        await _until(lambda: near.ready, "listening again")
        await writer.set("k", "again", 60)
        assert await reader.get("k") == "again"
    finally:
        await admin.aclose()


async def test_a_listener_that_gets_no_answer_gives_up():
    """A connection that stays open but carries nothing (a network gone quiet) is given
    up after one PING goes unanswered: nothing kept is used meanwhile."""
    plain = await redis_cache_or_skip()
    kwargs = plain._redis.connection_pool.connection_kwargs
    relay = Relay(kwargs["host"], kwargs["port"])
    await relay.start()
    reader = RedisCache(f"redis://127.0.0.1:{relay.port}/{kwargs.get('db', 0)}",
                        prefix=plain._prefix, near_ttl_s=60)
    near = reader._near
    near.ping_every_s = 0.2
    near.retry_after_s = 0.05
    try:
        await _listening(reader)
        await plain.set("k", "before", 60)
        assert await reader.get("k") == "before"
        relay.held = True
        await _until(lambda: not near.ready, "giving up a silent connection", 5)
        relay.held = False
        await _until(lambda: near.ready, "listening again")
        await plain.set("k", "after", 60)
        assert await reader.get("k") == "after"
    finally:
        relay.held = False
        with contextlib.suppress(Exception):
            await relay.cut()
        await plain.delete("k")
        await reader.close()
        await plain.close()


async def test_the_platform_exposes_its_near_cache_to_prometheus(tmp_path):
    """Hits, misses and whether it listens, read off the near cache when scraped."""
    plain = await redis_cache_or_skip()  # skips (or fails in CI) without Redis
    settings = load_settings(environment="test",
                             database_url=f"sqlite+aiosqlite:///{tmp_path}/m.db",
                             redis_url=REDIS_URL, redis_namespace=plain._prefix,
                             jwt_secret_key="n" * 48, cache_near_ttl_s=60)
    platform = Platform.build(settings)
    try:
        assert _series(platform) == {'near_cache_lookups_total{result="hit"}': 0.0,
                                     'near_cache_lookups_total{result="miss"}': 0.0,
                                     "near_cache_listening": 0.0}
        await _listening(platform.cache)
        await platform.cache.get_many(["a", "b"])  # kept, then read from the copy
        await platform.cache.get_many(["a", "b"])
        series = _series(platform)
        assert series["near_cache_listening"] == 1.0
        assert series['near_cache_lookups_total{result="hit"}'] == 2.0
        assert series['near_cache_lookups_total{result="miss"}'] >= 2.0  # and the warm-up
    finally:
        await platform.close()
        await plain.close()


async def test_without_a_near_cache_nothing_says_it_does_not_listen(tmp_path):
    """No Redis (or CACHE_NEAR_TTL_S=0): no ``near_cache_listening`` series, so the alert
    on its 0 (deploy/prometheus/alerts.yml) names only processes whose near cache is
    down."""
    settings = load_settings(environment="test",
                             database_url=f"sqlite+aiosqlite:///{tmp_path}/m.db",
                             redis_url=None, jwt_secret_key="n" * 48)
    platform = Platform.build(settings)
    try:
        assert _series(platform) == {'near_cache_lookups_total{result="hit"}': 0.0,
                                     'near_cache_lookups_total{result="miss"}': 0.0}
    finally:
        await platform.close()


def _series(platform: Platform) -> dict[str, float]:
    lines = platform.metrics.render().decode().splitlines()
    return {name: float(value) for name, _, value in (
        line.rpartition(" ") for line in lines if line.startswith("near_cache_"))}


# -- reads in flight and invalidations, on the near cache alone (no Redis) ----------------

PREFIX = "ns:im:"


def _near() -> NearCache:
    near = NearCache("redis://127.0.0.1:1/0", PREFIX, ttl_s=60)
    near._subscribed()  # as the listener does once Redis confirms the subscription
    return near


def _invalidation(*keys: str) -> list[object]:
    return [b"message", INVALIDATE_CHANNEL, [(PREFIX + k).encode() for k in keys]]


def test_a_read_that_a_change_overtook_is_not_kept():
    near = _near()
    token = near.begin(["a", "b"])
    near.apply(_invalidation("a"))  # changed while Redis's answer was on its way
    near.end(token, ["a", "b"], ["old a", "b"])
    assert near.lookup(["a", "b"]) == [MISS, "b"]
    token = near.begin(["a"])
    near.end(token, ["a"], ["new a"])  # a read begun after the change is kept
    assert near.lookup(["a"]) == ["new a"]


def test_a_write_of_this_process_during_a_read_is_not_undone_by_it():
    near = _near()
    first = near.begin(["k"])
    second = near.begin(["k"])
    near.forget("k")  # this process writes k while both reads are out
    near.end(first, ["k"], ["old"])
    near.end(second, ["k"], ["old"])
    assert near.lookup(["k"]) == [MISS]


def test_a_flush_or_a_lost_connection_drops_everything():
    near = _near()
    near.end(near.begin(["a", "b"]), ["a", "b"], ["1", None])
    assert near.lookup(["a", "b"]) == ["1", None]
    near.apply([b"message", INVALIDATE_CHANNEL, None])  # FLUSHDB / FLUSHALL
    assert near.lookup(["a", "b"]) == [MISS, MISS]
    token = near.begin(["a"])
    near._drop_all()  # the listener lost its connection while a read was out
    near._subscribed()
    near.end(token, ["a"], ["1"])
    assert near.lookup(["a"]) == [MISS]


def test_nothing_is_kept_while_not_listening_nor_when_redis_did_not_answer():
    near = NearCache("redis://127.0.0.1:1/0", PREFIX, ttl_s=60)
    near.end(near.begin(["a"]), ["a"], ["1"])
    assert near.lookup(["a"]) == [MISS]
    near._subscribed()
    near.end(near.begin(["a"]), ["a"], None)  # answered from the fallback memory
    assert near.lookup(["a"]) == [MISS]


def test_keys_of_other_prefixes_and_other_messages_change_nothing():
    near = _near()
    near.end(near.begin(["a"]), ["a"], ["1"])
    near.apply([b"message", INVALIDATE_CHANNEL, [b"other:im:a", b"ns:im:ab"]])
    near.apply([b"subscribe", INVALIDATE_CHANNEL, 1])
    assert near.lookup(["a"]) == ["1"]


def test_a_kept_value_lives_at_most_ttl_s():
    near = _near()
    near._store._clock = lambda: 0.0
    near.end(near.begin(["a"]), ["a"], ["1"])
    near._store._clock = lambda: 59.0
    assert near.lookup(["a"]) == ["1"]
    near._store._clock = lambda: 60.5
    assert near.lookup(["a"]) == [MISS]


async def test_a_redis_that_refuses_tracking_is_said_once_and_reads_go_to_it(caplog):
    """An old Redis or one whose ACL forbids CLIENT: nothing is kept, one warning says why
    and how to turn the near cache off, and the listener keeps trying, ever less often."""
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            writer.write(b"-ERR unknown command 'CLIENT'\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(refuse, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    near = NearCache(f"redis://127.0.0.1:{port}/0", PREFIX, ttl_s=60)
    near.retry_after_s = 0.01
    near.retry_max_s = 0.04
    try:
        with caplog.at_level("WARNING"):
            near.start()
            await asyncio.sleep(0.3)  # several tries
            gc.collect()  # a failure left unretrieved in a future would be logged now
        assert not near.ready
        near.end(near.begin(["a"]), ["a"], ["1"])
        assert near.lookup(["a"]) == [MISS]
        said = [r.getMessage() for r in caplog.records if "near cache" in r.getMessage()]
        assert len(said) == 1, said
        assert "CACHE_NEAR_TTL_S=0" in said[0] and "unknown command" in said[0]
        assert not [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    finally:
        await near.close()
        server.close()
        await server.wait_closed()
