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
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

# run as `python bench/api_load.py`: the repository root on the path, for the process
# tooling shared with tests/integration
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.procs import (
    REDIS_URL,
    WEB_SERVICE,
    Proc,
    base_env,
    create_pg_database,
    drop_pg_database,
    exclusive,
    pg_admin,
    serve,
    start,
    wait_ready,
)

REQUIREMENTS = WEB_SERVICE
#: Seconds a process gets to exit on SIGTERM before the SIGKILL.
STOP_GRACE_S = 15.0


def bench_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    # the bench measures the service, not the per-user write limit
    return base_env(database_url, redis_url, LOG_LEVEL="WARNING",
                    WRITE_RATE_PER_MINUTE=str(10**9))


# -- databases -------------------------------------------------------------------------


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="im-bench-") as tmp:
        yield f"sqlite+aiosqlite:///{tmp}/bench.db"


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    name, url = create_pg_database("im_bench")
    try:
        yield url
    finally:
        drop_pg_database(name)


@contextlib.contextmanager
def redis_db() -> Iterator[str]:
    """The Redis DB, flushed before and after, used by nothing else on this host meanwhile
    (the same lock as tests/integration: the task stream's name is fixed)."""
    import redis

    with exclusive(REDIS_URL, timeout_s=None):
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
        client.flushdb()
        try:
            yield REDIS_URL
        finally:
            client.flushdb()
            client.close()


def pg_available() -> str | None:
    try:
        asyncio.run(pg_admin("SELECT 1"))
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


async def _wait_ready(procs: list[Proc]) -> None:
    async with httpx.AsyncClient(timeout=2) as http:
        await wait_ready(http, procs[:1], procs, timeout_s=60)


def run_backend(label: str, database_url: str, redis_url: str | None,
                args: argparse.Namespace, tmp: Path) -> list[str]:
    env = bench_env(database_url, redis_url)
    procs: list[Proc] = []
    print(f"\n{label}", flush=True)
    try:
        procs.append(serve(f"{label}-serve", env, tmp, extra=["--workers", str(args.workers)]))
        url = procs[0].url
        if redis_url:
            procs.append(start(f"{label}-worker", ["worker", "--workers", "1"], env, tmp))
        asyncio.run(_wait_ready(procs))
        return [label, *asyncio.run(scenarios(url, args))]
    except Exception as exc:
        print(f"  failed: {type(exc).__name__}: {exc}")
        for proc in procs:
            print(f"  --- {proc.name} ---\n{proc.tail()}")
        return [label, f"  failed: {type(exc).__name__}: {exc}"]
    finally:
        for proc in procs:
            proc.stop(STOP_GRACE_S)


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
