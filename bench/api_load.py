"""Load the HTTP API of a real ``infra-mind serve``: ``python bench/api_load.py``.

For each database (a fresh SQLite file; a fresh PostgreSQL database, tasks in-process;
and, when Redis answers, the same PostgreSQL setup with the Redis broker and one
``infra-mind worker``), a server is started on a free loopback port and 50 concurrent
clients (one ``httpx.AsyncClient`` each) send, per scenario, a bounded number of
requests within a time limit:

  (a) GET /api/v1/assessments/{id}          (b) GET /api/v1/assessments/{id}/result
  (c) POST /api/v1/assessments + POST /api/v1/assessments/{id}/run (pairs)

Prints requests/s and p50/p95/p99 latency; asserts nothing. The figures include the
client's own overhead (httpx, in this one process), and in (c) the server also runs
the queued assessments unless a worker does. Everything started is stopped, the
database dropped and the Redis DB flushed at the end.

PostgreSQL: $INFRA_MIND_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres);
Redis: $INFRA_MIND_TEST_REDIS_BROKER (default redis://127.0.0.1:6379/14, flushed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import hashlib
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

PG_ADMIN = os.environ.get("INFRA_MIND_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("INFRA_MIND_TEST_REDIS_BROKER", "redis://127.0.0.1:6379/14")

REQUIREMENTS: dict[str, Any] = {
    "name": "Small shop",
    "business": {"monthly_budget_usd": 2000},
    "preferences": {"providers": ["aws", "gcp"]},
    "workloads": [
        {"name": "web", "type": "web_service", "peak_rps": 60, "cpu_ms_per_request": 20,
         "egress_gb_per_month": 100},
        {"name": "db", "type": "database", "storage_gb": 50},
    ],
}


# -- processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM to its process group (its children too), then SIGKILL."""
        pgid = self.popen.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _group_alive(pgid):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=0.1)
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


def start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Proc:
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen([sys.executable, "-m", "infra_mind", *args], env=env,
                                 stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    return Proc(name, popen, log)


def base_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("DATABASE_", "REDIS_", "JWT_", "ENVIRONMENT", "WRITE_RATE", "LOG_LEVEL"))}
    env.update(ENVIRONMENT="production", JWT_SECRET_KEY=secrets.token_urlsafe(36)[:48],
               DATABASE_URL=database_url, LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
               # the bench measures the service, not the per-user write limit
               WRITE_RATE_PER_MINUTE=str(10**9))
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


# -- databases -------------------------------------------------------------------------


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="im-bench-") as tmp:
        yield f"sqlite+aiosqlite:///{tmp}/bench.db"


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    name = f"im_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def redis_db() -> Iterator[str]:
    """The Redis DB, flushed before and after, used by nothing else on this host meanwhile
    (the same lock as tests/integration: the task stream's name is fixed)."""
    import redis

    digest = hashlib.sha256(REDIS_URL.encode()).hexdigest()[:12]
    lock = Path(tempfile.gettempdir()) / f"infra-mind-redis-{digest}.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
        client.flushdb()
        try:
            yield REDIS_URL
        finally:
            client.flushdb()
            client.close()
            fcntl.flock(handle, fcntl.LOCK_UN)


def pg_available() -> str | None:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def redis_available() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


# -- load ------------------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    latencies_s: list[float]
    errors: int
    elapsed_s: float
    #: requests per unit (2 for create + run pairs)
    per_unit: int = 1

    def line(self) -> str:
        n = len(self.latencies_s)
        if n < 2:
            return f"  {self.name:<34} too few requests ({n}); errors {self.errors}"
        q = statistics.quantiles(self.latencies_s, n=100, method="inclusive")
        rate = n * self.per_unit / self.elapsed_s
        unit = " (pairs: x2 requests)" if self.per_unit > 1 else ""
        return (f"  {self.name:<34} {n:>5} in {self.elapsed_s:5.1f} s  "
                f"{rate:7.0f} req/s  p50 {q[49] * 1000:6.1f} ms  p95 {q[94] * 1000:6.1f} ms  "
                f"p99 {q[98] * 1000:6.1f} ms  errors {self.errors}{unit}")


async def load(base_url: str, headers: dict[str, str], concurrency: int, total: int,
               limit_s: float, call: Callable[[httpx.AsyncClient, int], Awaitable[bool]],
               name: str, per_unit: int = 1) -> Figures:
    """``total`` calls of ``call`` by ``concurrency`` clients, stopping at ``limit_s``."""
    latencies: list[float] = []
    errors = 0
    next_index = 0
    deadline = time.monotonic() + limit_s

    async def client() -> None:
        nonlocal next_index, errors
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
            while next_index < total and time.monotonic() < deadline:
                i = next_index
                next_index += 1
                start = time.perf_counter()
                try:
                    ok = await call(http, i)
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Figures(name, latencies, errors, time.perf_counter() - started, per_unit)


async def wait_ready(url: str, server: Proc, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            if server.popen.poll() is not None:
                raise RuntimeError(f"server exited {server.popen.returncode}:\n{server.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/health/ready")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after {timeout_s} s:\n{server.tail()}")
            await asyncio.sleep(0.2)


async def count_status(http: httpx.AsyncClient, status: str) -> int:
    response = await http.get("/api/v1/assessments", params={"status": status, "limit": 1})
    response.raise_for_status()
    return int(response.json()["total"])


async def scenarios(url: str, args: argparse.Namespace) -> list[str]:
    out: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        password = secrets.token_urlsafe(18)
        (await http.post("/api/v1/auth/register", json={
            "email": email, "password": password, "full_name": "Bench"})).raise_for_status()
        login = await http.post("/api/v1/auth/login", json={"email": email,
                                                             "password": password})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        http.headers.update(headers)
        ids = []
        for i in range(10):  # a few completed assessments to read
            created = await http.post("/api/v1/assessments", json={
                "title": f"Read {i}", "requirements": REQUIREMENTS})
            created.raise_for_status()
            ids.append(created.json()["id"])
            (await http.post(f"/api/v1/assessments/{ids[-1]}/run")).raise_for_status()
        deadline = time.monotonic() + 60
        while await count_status(http, "completed") < len(ids):
            if time.monotonic() > deadline:
                raise RuntimeError("the seed assessments did not complete in 60 s")
            await asyncio.sleep(0.1)

    async def get_one(c: httpx.AsyncClient, i: int) -> bool:
        return (await c.get(f"/api/v1/assessments/{ids[i % len(ids)]}")).status_code == 200

    async def get_result(c: httpx.AsyncClient, i: int) -> bool:
        response = await c.get(f"/api/v1/assessments/{ids[i % len(ids)]}/result")
        return response.status_code == 200

    async def create_run(c: httpx.AsyncClient, i: int) -> bool:
        created = await c.post("/api/v1/assessments", json={"title": f"Load {i}",
                                                             "requirements": REQUIREMENTS})
        if created.status_code != 201:
            return False
        run = await c.post(f"/api/v1/assessments/{created.json()['id']}/run")
        return run.status_code == 202

    # a short warm-up (imports, caches, connection pools), not counted
    await load(url, headers, args.concurrency, 200, 20, get_one, "warm-up")
    for name, call, per_unit in (("(a) GET assessment", get_one, 1),
                                 ("(b) GET result", get_result, 1),
                                 ("(c) POST create + POST run", create_run, 2)):
        figures = await load(url, headers, args.concurrency, args.requests // per_unit,
                             args.limit_s, call, name, per_unit)
        out.append(figures.line())
        print(out[-1], flush=True)
    # how long the queued runs of (c) take to finish (the task side's throughput)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
        started = time.monotonic()
        while True:
            queued = await count_status(http, "queued") + await count_status(http, "running")
            if queued == 0 or time.monotonic() - started > args.limit_s:
                break
            await asyncio.sleep(0.25)
        done = await count_status(http, "completed")
        failed = await count_status(http, "failed")
        line = (f"  {'runs drained after (c)':<34} {time.monotonic() - started:5.1f} s more; "
                f"completed {done}, failed {failed}, still queued/running {queued}")
        out.append(line)
        print(line, flush=True)
        if failed:
            page = await http.get("/api/v1/assessments", params={"status": "failed",
                                                                 "limit": 5})
            for item in page.json()["items"]:
                print(f"    failed {item['id']}: {item['error']}", flush=True)
    return out


def run_backend(label: str, database_url: str, redis_url: str | None,
                args: argparse.Namespace, tmp: Path) -> list[str]:
    env = base_env(database_url, redis_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs: list[Proc] = []
    print(f"\n{label}", flush=True)
    try:
        procs.append(start(f"{label}-serve", ["serve", "--host", "127.0.0.1", "--port",
                                              str(port), "--workers", str(args.workers)],
                           env, tmp))
        if redis_url:
            procs.append(start(f"{label}-worker", ["worker", "--workers", "1"], env, tmp))
        asyncio.run(wait_ready(url, procs[0]))
        return [label, *asyncio.run(scenarios(url, args))]
    except Exception as exc:
        print(f"  failed: {type(exc).__name__}: {exc}")
        for proc in procs:
            print(f"  --- {proc.name} ---\n{proc.tail()}")
        return [label, f"  failed: {type(exc).__name__}: {exc}"]
    finally:
        for proc in procs:
            proc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per scenario")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--limit-s", type=float, default=60.0, help="per scenario")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--only", choices=["sqlite", "postgresql", "postgresql+redis"],
                        action="append", help="run only these setups (repeatable)")
    args = parser.parse_args()
    only = set(args.only or ["sqlite", "postgresql", "postgresql+redis"])
    print(f"{args.concurrency} clients, up to {args.requests} requests and {args.limit_s:.0f} s "
          f"per scenario; uvicorn workers {args.workers}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="im-bench-logs-") as logs:
        tmp = Path(logs)
        if "sqlite" in only:
            with sqlite_database() as url:
                run_backend("SQLite (tasks in-process, memory cache)", url, None, args, tmp)
        pg_down = pg_available()
        if pg_down is not None:
            print(f"\nPostgreSQL skipped: {pg_down}")
            return
        if "postgresql" in only:
            with pg_database() as url:
                run_backend("PostgreSQL (tasks in-process, memory cache)", url, None, args,
                            tmp)
        if "postgresql+redis" in only:
            redis_down = redis_available()
            if redis_down is not None:
                print(f"\nPostgreSQL + Redis skipped: {redis_down}")
                return
            with pg_database() as url, redis_db() as redis_url:
                run_backend("PostgreSQL + Redis (broker, cache; 1 worker)", url, redis_url,
                            args, tmp)


if __name__ == "__main__":
    main()
