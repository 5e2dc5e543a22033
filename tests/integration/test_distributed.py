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
import contextlib
import fcntl
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis

PG_ADMIN = os.environ.get("INFRA_MIND_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("INFRA_MIND_TEST_REDIS_BROKER", "redis://127.0.0.1:6379/14")
REQUIRE = os.environ.get("INFRA_MIND_REQUIRE_SERVICES") == "1"

ASSESSMENTS = 50
#: The task stream and consumer group (``infra_mind.worker.broker``).
STREAM = "infra-mind:tasks"
GROUP = "infra-mind-workers"
READY_TIMEOUT_S = 60.0
COMPLETE_TIMEOUT_S = 120.0
STOP_GRACE_S = 10.0

#: Small requirements the engine answers in milliseconds.
STATIC_SITE: dict[str, Any] = {
    "name": "Marketing site",
    "business": {"monthly_budget_usd": 50},
    "availability_target": 99.5,
    "preferences": {"providers": ["aws"]},
    "workloads": [{"name": "site", "type": "static_site", "storage_gb": 2,
                   "egress_gb_per_month": 100}],
}
WEB_SERVICE: dict[str, Any] = {
    "name": "Small shop",
    "business": {"monthly_budget_usd": 2000},
    "preferences": {"providers": ["aws", "gcp"]},
    "workloads": [
        {"name": "web", "type": "web_service", "peak_rps": 60, "cpu_ms_per_request": 20,
         "egress_gb_per_month": 100},
        {"name": "db", "type": "database", "storage_gb": 50},
    ],
}


def _unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} unreachable ({type(exc).__name__}: {exc})"
    if REQUIRE:
        pytest.fail(f"{message}; INFRA_MIND_REQUIRE_SERVICES=1 makes this a failure")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Proc:
    """One subprocess in its own process group (so its children stop with it)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to the group, then SIGKILL after ``STOP_GRACE_S``.

        The group, not the pid: ``infra-mind worker`` runs taskiq as a child process,
        which a SIGTERM to the parent alone leaves running.
        """
        pgid = self.popen.pid  # start_new_session: the group id is the leader's pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and _group_alive(pgid):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=0.1)  # reaps the leader once it exits
        if _group_alive(pgid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Cluster:
    database_url: str
    apis: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)

    @property
    def all(self) -> list[Proc]:
        return [*self.apis, *self.workers]

    def report(self) -> str:
        parts = []
        for proc in self.all:
            code = proc.popen.poll()
            state = "running" if code is None else f"exited {code}"
            parts.append(f"----- {proc.name} (pid {proc.popen.pid}, {state}) -----\n"
                         f"{proc.tail()}")
        return "\n".join(parts)


def _start(name: str, args: list[str], env: dict[str, str], log_dir: Path,
           port: int | None = None) -> Proc:
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen([sys.executable, "-m", "infra_mind", *args], env=env,
                                 stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    return Proc(name=name, popen=popen, log=log, port=port)


@contextlib.contextmanager
def _exclusive(url: str, timeout_s: float = 180.0) -> Iterator[None]:
    """One user of this Redis DB at a time on this host: the stream name is fixed
    (``infra_mind.worker.broker``), so two runs sharing the DB would take each other's
    messages, and each flushes the DB."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"infra-mind-redis-{digest}.lock"
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{url} stayed in use by another run for {timeout_s} s "
                                f"(lock {path})")
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with _exclusive(REDIS_URL):
        yield from _cluster(tmp_path)


def _cluster(tmp_path: Path) -> Iterator[Cluster]:
    # the services first: a clear skip (or failure) rather than processes that never start
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
        client.ping()
    except (OSError, redis.RedisError) as exc:
        _unavailable(f"Redis at {REDIS_URL}", exc)
    name = f"im_dist_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        client.close()
        _unavailable("PostgreSQL", exc)
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    database_url = f"{base}/{name}"
    client.flushdb()

    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("DATABASE_", "REDIS_", "JWT_", "ENVIRONMENT", "WRITE_RATE", "LOG_LEVEL"))}
    env.update(ENVIRONMENT="production", JWT_SECRET_KEY=secrets.token_urlsafe(36)[:48],
               DATABASE_URL=database_url, REDIS_URL=REDIS_URL, LOG_LEVEL="INFO",
               # 50 creates + 50 runs by one user in well under a minute
               WRITE_RATE_PER_MINUTE="1000", PYTHONUNBUFFERED="1")
    assert len(env["JWT_SECRET_KEY"]) == 48
    cluster = Cluster(database_url=database_url)
    try:
        # migrate first, as a deploy step would: `serve` migrates on start without a lock,
        # so two of them starting at once on an empty database can both create the
        # tables, and one exits (UniqueViolation on alembic_version)
        migrate = subprocess.run([sys.executable, "-m", "infra_mind", "migrate"], env=env,
                                 capture_output=True, text=True, timeout=60)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        for i in (1, 2):
            port = _free_port()
            cluster.apis.append(_start(f"api{i}", ["serve", "--host", "127.0.0.1",
                                                   "--port", str(port)], env, tmp_path, port))
        for i in (1, 2):
            cluster.workers.append(_start(f"worker{i}", ["worker", "--workers", "1"], env,
                                          tmp_path))
        yield cluster
    finally:
        for proc in cluster.all:
            proc.stop()
        client.flushdb()
        client.close()
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def _logs_on_failure(cluster: Cluster) -> Iterator[None]:
    """On any failure, print each process's log tail (pytest shows it with the failure)."""
    try:
        yield
    except BaseException:
        print("\n" + cluster.report(), file=sys.stderr)
        raise


def _stream_readers(client: redis.Redis) -> int:
    """Connections to our Redis DB blocked in XREADGROUP: one per listening worker.
    (``XINFO CONSUMERS`` will not do: Redis 7.0 adds a consumer only once it got a
    message.)"""
    db = str(client.connection_pool.connection_kwargs.get("db", 0))
    return sum(1 for c in client.client_list()
               if c.get("cmd") == "xreadgroup" and str(c.get("db")) == db)


async def _wait_ready(cluster: Cluster, http: httpx.AsyncClient) -> None:
    """Both APIs answer /health/ready with 200 and both workers read the task stream,
    so neither worker misses the first messages."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    waiting = list(cluster.apis)
    last: dict[str, str] = {}
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        while True:
            for proc in cluster.all:
                code = proc.popen.poll()
                assert code is None, f"{proc.name} exited with {code}"
            for proc in list(waiting):
                try:
                    response = await http.get(f"{proc.url}/health/ready", timeout=2)
                    last[proc.name] = f"{response.status_code} {response.text}"
                    if response.status_code == 200:
                        waiting.remove(proc)
                except httpx.HTTPError as exc:
                    last[proc.name] = f"{type(exc).__name__}: {exc}"
            consumers = _stream_readers(client)
            last["workers reading"] = str(consumers)
            if not waiting and consumers >= len(cluster.workers):
                return
            assert time.monotonic() < deadline, f"not ready after {READY_TIMEOUT_S} s: {last}"
            await asyncio.sleep(0.25)
    finally:
        client.close()


def _ok(response: httpx.Response, expected: int) -> dict[str, Any]:
    assert response.status_code == expected, (
        f"{response.request.method} {response.request.url}: {response.status_code} "
        f"{response.text}")
    return response.json()


async def _create_and_run(http: httpx.AsyncClient, api: Proc, headers: dict[str, str],
                          i: int) -> str:
    requirements = STATIC_SITE if i % 2 else WEB_SERVICE
    created = _ok(await http.post(f"{api.url}/api/v1/assessments", headers=headers,
                                  json={"title": f"Assessment {i}",
                                        "requirements": requirements}), 201)
    accepted = _ok(await http.post(f"{api.url}/api/v1/assessments/{created['id']}/run",
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
            page = _ok(await http.get(f"{api.url}/api/v1/assessments", headers=headers,
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
    names = {proc.popen.pid: proc.name for proc in cluster.all}
    groups: Counter[str] = Counter()
    for worker_id in worker_ids:
        pid = int(worker_id.split(":")[1])
        try:
            groups[names.get(os.getpgid(pid), f"pid {pid} (group {os.getpgid(pid)})")] += 1
        except ProcessLookupError:
            groups[f"pid {pid} (gone)"] += 1
    return groups


async def test_fifty_runs_across_two_apis_and_two_workers_each_run_once(cluster: Cluster):
    with _logs_on_failure(cluster):
        await _fifty_runs(cluster)


async def _fifty_runs(cluster: Cluster) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        await _wait_ready(cluster, http)
        api1, api2 = cluster.apis
        email = f"dist-{uuid.uuid4().hex[:8]}@example.com"
        password = secrets.token_urlsafe(18)
        _ok(await http.post(f"{api1.url}/api/v1/auth/register",
                            json={"email": email, "password": password,
                                  "full_name": "Distributed Test"}), 201)
        tokens = _ok(await http.post(f"{api2.url}/api/v1/auth/login",
                                     json={"email": email, "password": password}), 200)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        # the token minted by API 2 is good on API 1 (one secret)
        _ok(await http.get(f"{api1.url}/api/v1/auth/me", headers=headers), 200)

        started = time.monotonic()
        ids = list(await asyncio.gather(*(
            _create_and_run(http, cluster.apis[i % 2], headers, i)
            for i in range(ASSESSMENTS))))
        assert len(set(ids)) == ASSESSMENTS
        await _wait_completed(cluster, http, headers, ids)
        elapsed = time.monotonic() - started

        result = _ok(await http.get(f"{api2.url}/api/v1/assessments/{ids[0]}/result",
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
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        assert client.xlen(STREAM) == ASSESSMENTS
        deadline = time.monotonic() + 10
        while (pending := client.xpending(STREAM, GROUP)["pending"]) and \
                time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert pending == 0, client.xpending(STREAM, GROUP)
    finally:
        client.close()
