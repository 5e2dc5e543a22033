"""Two API processes and two workers on one PostgreSQL database and one Redis.

Real subprocesses on loopback: ``infra-mind serve`` twice (free ports, the same
``JWT_SECRET_KEY``, ``DATABASE_URL`` and ``REDIS_URL``) and ``infra-mind worker`` twice.
A user registers on one API and signs in on the other; 50 assessments are created and
run, alternating between the APIs; each must complete exactly once (one result row,
version 1, one attempt) and both workers must have taken work.

Skips, with the reason, when PostgreSQL ($INFRA_MIND_TEST_PG) or Redis
($INFRA_MIND_TEST_REDIS_BROKER, default DB 14, flushed before and after) is
unreachable, unless INFRA_MIND_REQUIRE_SERVICES=1 (CI), which makes it fail instead.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.integration.procs import (
    GROUP,
    STATIC_SITE,
    WEB_SERVICE,
    Proc,
    RedisSpace,
    base_env,
    create_pg_database,
    drop_pg_database,
    group_name,
    logs_on_failure,
    migrate,
    ok,
    pid_of_worker_id,
    redis_namespace,
    serve,
    sign_up,
    start,
    unavailable,
    wait_ready,
)

ASSESSMENTS = 50
READY_TIMEOUT_S = 60.0
COMPLETE_TIMEOUT_S = 120.0


@dataclass
class Cluster:
    database_url: str
    redis: RedisSpace
    apis: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)

    @property
    def all(self) -> list[Proc]:
        return [*self.apis, *self.workers]


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    # the services first: a clear skip (or failure) rather than processes that never start
    with redis_namespace() as space:
        yield from _cluster(tmp_path, space)


def _cluster(tmp_path: Path, space: RedisSpace) -> Iterator[Cluster]:
    try:
        name, database_url = create_pg_database("im_dist")
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)

    # 50 creates + 50 runs by one user in well under a minute
    env = base_env(database_url, space, WRITE_RATE_PER_MINUTE="1000")
    assert len(env["JWT_SECRET_KEY"]) == 48
    cluster = Cluster(database_url=database_url, redis=space)
    try:
        migrate(env)
        for i in (1, 2):
            cluster.apis.append(serve(f"api{i}", env, tmp_path))
        for i in (1, 2):
            cluster.workers.append(start(f"worker{i}", ["worker", "--workers", "1"], env,
                                         tmp_path))
        yield cluster
    finally:
        for proc in cluster.all:
            proc.stop()
        drop_pg_database(name)


async def _create_and_run(http: httpx.AsyncClient, api: Proc, headers: dict[str, str],
                          i: int) -> str:
    requirements = STATIC_SITE if i % 2 else WEB_SERVICE
    created = ok(await http.post(f"{api.url}/api/v1/assessments", headers=headers,
                                  json={"title": f"Assessment {i}",
                                        "requirements": requirements}), 201)
    accepted = ok(await http.post(f"{api.url}/api/v1/assessments/{created['id']}/run",
                                   headers=headers), 202)
    assert accepted["assessment"]["status"] in ("queued", "running", "completed")
    return created["id"]


async def _wait_completed(cluster: Cluster, http: httpx.AsyncClient,
                          headers: dict[str, str], ids: list[str]) -> None:
    deadline = time.monotonic() + COMPLETE_TIMEOUT_S
    statuses: Counter[str] = Counter()
    n = 0
    while True:
        api = cluster.apis[n % 2]
        n += 1
        statuses = Counter()
        for status in ("completed", "failed", "cancelled"):
            page = ok(await http.get(f"{api.url}/api/v1/assessments", headers=headers,
                                      params={"status": status, "limit": 1}), 200)
            statuses[status] = page["total"]
        assert statuses["failed"] == 0 and statuses["cancelled"] == 0, (
            f"{dict(statuses)}")
        if statuses["completed"] == len(ids):
            return
        for proc in cluster.workers:
            code = proc.popen.poll()
            assert code is None, f"{proc.name} exited with {code}"
        assert time.monotonic() < deadline, (
            f"after {COMPLETE_TIMEOUT_S} s: {dict(statuses)} of {len(ids)}")
        await asyncio.sleep(0.25)


def _worker_groups(cluster: Cluster, worker_ids: list[str]) -> Counter[str]:
    """Which ``infra-mind worker`` ran each assessment: the process group of the pid in
    its worker_id (host:pid:run), while the processes are still alive."""
    return Counter(group_name(pid_of_worker_id(w), cluster.all) for w in worker_ids)


async def test_fifty_runs_across_two_apis_and_two_workers_each_run_once(cluster: Cluster):
    with logs_on_failure(cluster.all):
        await _fifty_runs(cluster)


async def _fifty_runs(cluster: Cluster) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        await wait_ready(http, cluster.apis, cluster.all, READY_TIMEOUT_S, cluster.redis.url,
                         readers=len(cluster.workers))
        api1, api2 = cluster.apis
        headers = await sign_up(http, api1.url, login_at=api2.url)
        # the token minted by API 2 is good on API 1 (one secret)
        ok(await http.get(f"{api1.url}/api/v1/auth/me", headers=headers), 200)

        started = time.monotonic()
        ids = list(await asyncio.gather(*(
            _create_and_run(http, cluster.apis[i % 2], headers, i)
            for i in range(ASSESSMENTS))))
        assert len(set(ids)) == ASSESSMENTS
        await _wait_completed(cluster, http, headers, ids)
        elapsed = time.monotonic() - started

        result = ok(await http.get(f"{api2.url}/api/v1/assessments/{ids[0]}/result",
                                    headers=headers), 200)
        assert result["version"] == 1 and result["result"]

    conn = await asyncpg.connect(cluster.database_url.replace("+asyncpg", ""), timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT a.id, a.status, a.attempts, a.worker_id, "
            "       count(r.id) AS results, coalesce(array_agg(r.version) "
            "       FILTER (WHERE r.id IS NOT NULL), '{}') AS versions "
            "FROM assessments a LEFT JOIN assessment_results r ON r.assessment_id = a.id "
            "GROUP BY a.id")
    finally:
        await conn.close()
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == set(ids)
    wrong = [dict(row) for row in rows
             if row["status"] != "completed" or row["attempts"] != 1 or row["results"] != 1
             or list(row["versions"]) != [1]]
    assert not wrong, wrong

    worker_ids = [row["worker_id"] for row in rows]
    assert all(worker_ids), worker_ids
    groups = _worker_groups(cluster, worker_ids)
    print(f"\n{ASSESSMENTS} runs completed in {elapsed:.1f} s; by worker: {dict(groups)}")
    # every run was done by one of the two workers (none in an API process), and both
    # workers took some
    assert set(groups) == {"worker1", "worker2"}, groups

    # the broker: one message per run, each acknowledged once its task finished
    stream = cluster.redis.stream
    client = cluster.redis.client(socket_timeout=5)
    try:
        assert client.xlen(stream) == ASSESSMENTS
        deadline = time.monotonic() + 10
        while (pending := client.xpending(stream, GROUP)["pending"]) and \
                time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert pending == 0, client.xpending(stream, GROUP)
    finally:
        client.close()
