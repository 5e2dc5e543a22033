"""``REDIS_NAMESPACE``: everything a deployment keeps in Redis goes under its namespace.

Several deployments, or test runs, share one Redis database; each touches only names
under its own prefix. Empty (the default), the names are the ones they always were. The
task stream's use by real ``serve`` and ``worker`` processes is checked by the
integration tests, which all run in a namespace of their own
(``tests.integration.procs.redis_namespace``); these check the platform's parts
in process, on $INFRA_MIND_TEST_REDIS (default DB 15), under a fresh namespace whose keys
are deleted afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from infra_mind.config import load_settings
from infra_mind.kit.platform import Platform
from infra_mind.kit.pubsub import channel_of, close_channels
from infra_mind.ops.health import check_broker
from infra_mind.services.events import leases_of
from infra_mind.worker.queue import task_stream
from tests.integration.procs import RedisSpace, redis_namespace

REDIS_URL = os.environ.get("INFRA_MIND_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture()
def space() -> Iterator[RedisSpace]:
    with redis_namespace(REDIS_URL) as s:
        yield s


def test_the_default_names_are_the_ones_they_always_were(monkeypatch):
    monkeypatch.delenv("REDIS_NAMESPACE", raising=False)
    settings = load_settings(environment="test", jwt_secret_key="t" * 48)
    assert settings.redis_namespace == ""
    assert task_stream(settings.redis_namespace) == "infra-mind:tasks"


async def test_cache_leases_and_channels_are_under_the_namespace(space: RedisSpace, tmp_path):
    settings = load_settings(environment="test", jwt_secret_key="t" * 48,
                             database_url=f"sqlite+aiosqlite:///{tmp_path}/ns.db",
                             redis_url=space.url, redis_namespace=space.prefix)
    platform = Platform.build(settings)
    try:
        await platform.cache.set("probe", "1", 60)
        assert await leases_of(platform).acquire("probe-lease", 1, 60) is not None
        channel = channel_of(platform, "status")
        database = REDIS_URL.rsplit("/", 1)[1]
        assert channel.name == f"{space.prefix}infra-mind:{database}:status"  # type: ignore[attr-defined]
    finally:
        await leases_of(platform).close()  # type: ignore[attr-defined]
        await close_channels(platform)
        await platform.close()
    assert {k.decode() for k in space.names()} == {f"{space.prefix}im:probe",
                                                  f"{space.prefix}im:lease:probe-lease"}


async def test_the_health_check_reads_the_namespaced_stream(space: RedisSpace):
    missing = await check_broker(space.url, space.prefix)
    assert missing.status == "degraded"
    assert missing.detail.startswith(f"no task stream {space.prefix}infra-mind:tasks yet")
    with space.client() as client:
        client.xgroup_create(space.stream, "infra-mind-workers", id="0", mkstream=True)
        client.xadd(space.stream, {"data": "x"})
    found = await check_broker(space.url, space.prefix)
    assert found.status == "ok" and found.data["stream"] == space.stream
    assert found.data["messages"] == 1


def test_cleaning_a_namespace_leaves_every_other_key(space: RedisSpace):
    other = f"{space.prefix[:-1]}-other:kept"  # shares the prefix's text, not its ':'
    with space.client() as client:
        client.set(f"{space.prefix}a", "1")
        client.set(other, "1")
        try:
            space.clean()
            assert space.names() == [] and client.get(other) == b"1"
        finally:
            client.delete(other)
