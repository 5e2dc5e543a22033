"""Platform test fixtures: the app on SQLite and on PostgreSQL, and an HTTP client.

PostgreSQL tests run against a database created for the session on
$INFRA_MIND_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres). They skip
with the reason when PostgreSQL is unreachable, unless INFRA_MIND_REQUIRE_SERVICES=1
(CI), which makes them fail instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from infra_mind.api.app import create_app
from infra_mind.config import load_settings
from infra_mind.kit import compute
from infra_mind.kit.cache import RedisCache
from infra_mind.kit.migrate import upgrade

PG_ADMIN = os.environ.get("INFRA_MIND_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE = os.environ.get("INFRA_MIND_REQUIRE_SERVICES") == "1"
#: The Redis the cache tests use, each under a key prefix of its own.
REDIS_URL = os.environ.get("INFRA_MIND_TEST_REDIS", "redis://127.0.0.1:6379/15")
#: argon2id at its cheapest (one pass, 8 KiB, one lane), for the suite's thousands of
#: sign-ups: production's cost (``config.settings``: 3 passes, 64 MiB, 4 lanes) is some
#: 0.15 s of CPU a hash, which made sign-ups a fifth of the suite's CPU time. Tests about
#: hashing itself (tests/api/test_auth_hardening.py, the integration tests' production
#: processes) keep the production cost.
CHEAP_HASHING = {"password_hash_time_cost": 1, "password_hash_memory_kib": 8,
                 "password_hash_parallelism": 1}
TABLES = ["chat_messages", "conversations", "assessment_results", "idempotency_keys",
          "assessments", "audit_events", "refresh_tokens", "memberships",
          "organization_secrets", "organizations", "users"]


def _unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} unreachable ({type(exc).__name__}: {exc})"
    if REQUIRE:
        pytest.fail(f"{message}; INFRA_MIND_REQUIRE_SERVICES=1 makes this a failure")
    pytest.skip(message)


async def redis_cache_or_skip(prefix: str | None = None, url: str = REDIS_URL) -> RedisCache:
    """A ``RedisCache`` under ``prefix`` (a fresh one by default); the test skips with the
    reason when Redis does not answer, or fails under INFRA_MIND_REQUIRE_SERVICES=1.
    Every key under the prefix is deleted when the test ends (``_redis_keys_deleted``):
    what the test wrote, and what platforms it built on that prefix wrote."""
    cache = RedisCache(url, prefix=prefix or f"test:{uuid.uuid4().hex}:")
    if not await cache.ping():
        await cache.close()
        message = f"Redis unreachable at {url}"
        if REQUIRE:
            pytest.fail(f"{message}; INFRA_MIND_REQUIRE_SERVICES=1 makes this a failure")
        pytest.skip(message)
    _REDIS_PREFIXES.add((url, cache._prefix))
    return cache


#: (Redis URL, key prefix) handed out by ``redis_cache_or_skip`` during the running test.
_REDIS_PREFIXES: set[tuple[str, str]] = set()


@pytest.fixture(autouse=True)
def _redis_keys_deleted() -> Iterator[None]:
    """After each test (and its fixtures' teardown: an app's shutdown writes too), delete
    the keys under the prefixes it was handed. They expired on their own, up to a day
    later (a list's generation), and a test leaves nothing behind."""
    yield
    if not _REDIS_PREFIXES:
        return
    import redis

    for url, prefix in sorted(_REDIS_PREFIXES):
        with contextlib.closing(redis.Redis.from_url(url, socket_connect_timeout=2,
                                                     socket_timeout=5)) as client:
            keys = list(client.scan_iter(match=f"{prefix}*", count=500))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start:start + 500])
    _REDIS_PREFIXES.clear()


@pytest.fixture(scope="session", autouse=True)
def _engine_processes_outlive_each_app() -> Iterator[None]:
    """One engine process pool (``kit.compute``) for the whole test process.

    An app's shutdown stops the process's engine processes, because in production the
    process exits next, by a signal that runs no exit handlers. Here a test process starts
    and stops hundreds of apps, and each app's first run or what-if started the pool
    again: a spawned Python that imports the engine and loads the catalog, about 0.3 s of
    CPU each time (some 60 s of the suite's CPU). So the suite stops them once, at its
    end; the stop itself runs in every test that starts a real ``serve`` or ``worker``
    (tests/integration), and a broken pool is still replaced (tests/worker/test_offload.py).
    """
    patch = pytest.MonkeyPatch()
    patch.setattr(compute, "stop_engine_processes", lambda: None)
    try:
        yield
    finally:
        patch.undo()
        compute.stop_engine_processes()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated; dropped at the end."""
    with fresh_pg_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Callable[[Path], str]:
    """``migrated_sqlite(path)`` puts an empty SQLite database at head at ``path`` and
    returns its URL: a byte copy of one that ``upgrade`` made once for this test process
    (each xdist worker has its own), not the migrations run again (some 35 ms of CPU each,
    for hundreds of tests). Tests of the migrations themselves, and of backups and
    restores, still run ``upgrade``.
    """
    template = tmp_path_factory.mktemp("sqlite-at-head") / "head.db"
    # alembic runs its own event loop: made here, at set-up, never inside an async test
    upgrade(f"sqlite+aiosqlite:///{template}")
    # the database is in WAL mode; a -wal or -shm file left beside it would hold part of it
    left = [side.name for side in template.parent.iterdir() if side != template]
    assert not left, f"upgrade left {left} beside the database: the copy would miss them"

    def migrated_sqlite(path: Path) -> str:  # the template's path never leaves here
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"

    return migrated_sqlite


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        yield request.getfixturevalue("migrated_sqlite")(tmp_path / "test.db")
        return
    url = request.getfixturevalue("pg_database")
    yield url

    async def truncate() -> None:
        conn = await asyncpg.connect(url.replace("+asyncpg", ""), timeout=5)
        try:
            await conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        finally:
            await conn.close()

    asyncio.run(truncate())


@pytest.fixture()
def held(monkeypatch) -> list[str]:
    """Ids sent to ``assessment.run``, recorded and not delivered: runs stay queued, and a
    test runs them by hand when it wants them run."""
    from infra_mind.worker import queue

    sent: list[str] = []

    async def hold(assessment_id: str) -> None:
        sent.append(assessment_id)

    monkeypatch.setattr(queue.runs, "send", hold)
    return sent


@contextlib.contextmanager
def fresh_pg_database(prefix: str = "im_test") -> Iterator[str]:
    """A new, empty PostgreSQL database (asyncpg URL), dropped afterwards; skips (or fails
    with INFRA_MIND_REQUIRE_SERVICES=1) when PostgreSQL is unreachable."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable("PostgreSQL", exc)
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture()
def settings(database_url):
    return load_settings(environment="test", database_url=database_url, redis_url=None,
                         jwt_secret_key="t" * 48, **CHEAP_HASHING)


@pytest.fixture()
async def app(settings):
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture()
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
