"""Side by side: our API against a bare app serving the same bytes, and runs per worker.

``python bench/api_load.py`` (by hand; asserts nothing). Part 1, reads: for SQLite (tasks
in-process, memory cache) and for PostgreSQL + Redis (broker, cache, one worker), a real
``infra-mind serve`` (one process) is started on a free loopback port, a user and ten
completed assessments are created, and the bytes of three answers are kept:

  GET /api/v1/assessments/{id}/result   (authenticated; a completed result)
  GET /api/v1/assessments               (authenticated; the list)
  GET /health

A bare FastAPI app (``bench/bare_app.py``: no authentication, no database, one process,
same uvicorn) then serves those same bytes at the same paths, and each path is loaded on
ours and on the bare app in turn, in the same run, with ``wrk -t2 -c50 --latency``
(``apt-get install wrk``; without it an httpx client in this process does the load, and
says so: it is then the bottleneck, and the ratios are closer to 1 than they are). Printed:
requests/s of each, their ratio (ours / bare), p50 and p99, and each server's resident
memory when idle (after start-up and the seeding, before the load), with that of our
server's child processes then (on SQLite, the run process that ran the seeding's runs,
until ``RUN_PROCESS_IDLE_S`` passes).

Part 2, runs (PostgreSQL + Redis): 40 assessments are created and queued at once, and the
time until all have completed is taken with one ``infra-mind worker`` process, then with
two, each on a fresh database and task stream; printed with the ratio (two / one), and
where the CPU went meanwhile (from /proc, Linux): the worker processes (their event loop),
their engine processes (``kit.compute``), the API process, and the rest of the machine
(PostgreSQL, Redis, and anything else running), in CPU-milliseconds per run and as cores
busy on average. On a machine with C cores the two-worker run cannot take less than
(CPU of all its processes) / C, which bounds the ratio; the bound is printed with it.

Part 3, runs without a worker (SQLite, as ``infra-mind serve`` runs them by default): one
client reads a cached result every 5 ms, for 3 s with nothing else going on, then while
40 assessments are created and queued and the API process has them run. Twice: first on
the API process's own event loop (``RUN_PROCESS=false``, the baseline), then in its run
process (``worker.run_process``, the default). Printed: how long queueing took, when all
had completed, the reads' p50, p99 and worst latency before and during (how much the
runs hold the API's event loop back), and the resident memory of the API process and of
its child processes a second after the last run.

PostgreSQL: $INFRA_MIND_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres);
Redis: $INFRA_MIND_TEST_REDIS_BROKER (default redis://127.0.0.1:6379/14), under a key
namespace of the bench's own (``REDIS_NAMESPACE``). Everything started is stopped, each
database dropped and the namespace's keys deleted at the end; nothing else is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

# run as `python bench/api_load.py`: the repository root on the path, for the process
# tooling shared with tests/integration
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.integration.procs import (  # noqa: E402
    REDIS_URL,
    WEB_SERVICE,
    Proc,
    RedisSpace,
    base_env,
    create_pg_database,
    drop_pg_database,
    free_port,
    new_redis_space,
    pg_admin,
    serve,
    sign_up,
    start,
    wait_ready,
)

#: Seconds a process gets to exit on SIGTERM before the SIGKILL.
STOP_GRACE_S = 15.0
#: Completed assessments the reads are spread over.
SEEDED = 10


def bench_env(database_url: str, redis: RedisSpace | None, **extra: str) -> dict[str, str]:
    # the bench measures the service, not the per-user write limit
    return base_env(database_url, redis, **{"LOG_LEVEL": "WARNING",
                                            "WRITE_RATE_PER_MINUTE": str(10**9), **extra})


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
def redis_db() -> Iterator[RedisSpace]:
    """A fresh namespace in the Redis DB (the processes' ``REDIS_NAMESPACE``: task stream,
    cache and channels of their own), its keys deleted afterwards."""
    space = new_redis_space(REDIS_URL)
    try:
        yield space
    finally:
        space.clean()


def unavailable() -> str | None:
    """Why PostgreSQL + Redis cannot be used here, or None."""
    try:
        asyncio.run(pg_admin("SELECT 1"))
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


# -- load ------------------------------------------------------------------------------


@dataclass
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS_MS[unit]


def wrk(url: str, headers: dict[str, str], args: argparse.Namespace) -> Figures:
    command = ["wrk", f"-t{args.threads}", f"-c{args.concurrency}", f"-d{args.duration_s}s",
               "--latency", url]
    for name, value in headers.items():
        command[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True,
                         timeout=args.duration_s + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return Figures(rps, p50, p99, errors)


async def httpx_load(url: str, headers: dict[str, str], args: argparse.Namespace) -> Figures:
    """The fallback without wrk: ``concurrency`` httpx clients for ``duration_s``."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + args.duration_s

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(headers=headers, timeout=30) as http:
            while time.monotonic() < deadline:
                begun = time.perf_counter()
                try:
                    ok = (await http.get(url)).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - begun)
                else:
                    errors += 1

    begun = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - begun
    if len(latencies) < 2:
        return Figures(len(latencies) / elapsed, float("nan"), float("nan"), errors)
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return Figures(len(latencies) / elapsed, q[49] * 1000, q[98] * 1000, errors)


def measure(url: str, headers: dict[str, str], args: argparse.Namespace) -> Figures:
    if args.client == "wrk":
        return wrk(url, headers, args)
    return asyncio.run(httpx_load(url, headers, args))


def rss_mib(pid: int) -> float:
    """Resident memory of a process (uvicorn with one worker serves in the process it
    was started as)."""
    total_kib = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total_kib = int(line.split()[1])
    return total_kib / 1024


def proc_stats() -> Iterator[tuple[Path, list[str]]]:
    """Each process's /proc folder and the fields of its ``stat`` after "(comm)", which may
    hold spaces and parentheses (Linux): index 1 is field 4 of stat, the parent."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        yield entry, stat.rsplit(")", 1)[1].split()


def descendants_rss_mib(pid: int) -> float:
    """Resident memory of a process's descendants (its run process, engine processes)."""
    parents = {int(entry.name): int(fields[1]) for entry, fields in proc_stats()}
    found, frontier = [], [pid]
    while frontier:
        kids = [child for child, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    total = 0.0
    for child in found:
        with contextlib.suppress(OSError):
            total += rss_mib(child)
    return total


# -- part 1: reads ---------------------------------------------------------------------


async def seed(url: str) -> tuple[dict[str, str], list[str]]:
    """A user and ``SEEDED`` completed assessments: (Authorization header, ids)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        headers = await sign_up(http, url)
        http.headers.update(headers)
        ids = []
        for i in range(SEEDED):
            created = await http.post("/api/v1/assessments", json={
                "title": f"Read {i}", "requirements": WEB_SERVICE})
            created.raise_for_status()
            ids.append(created.json()["id"])
            (await http.post(f"/api/v1/assessments/{ids[-1]}/run")).raise_for_status()
        deadline = time.monotonic() + 120
        while True:
            page = await http.get("/api/v1/assessments",
                                  params={"status": "completed", "limit": 1})
            if page.json()["total"] >= SEEDED:
                return headers, ids
            if time.monotonic() > deadline:
                raise RuntimeError("the seed assessments did not complete in 120 s")
            await asyncio.sleep(0.2)


def start_bare(bodies: dict[str, bytes], folder: Path, log_dir: Path) -> Proc:
    routes = {}
    for i, (path, body) in enumerate(bodies.items()):
        (folder / f"{i}.json").write_bytes(body)
        routes[path] = f"{i}.json"
    (folder / "routes.json").write_text(json.dumps(routes))
    port = free_port()
    log = log_dir / "bare.log"
    with log.open("ab") as out:
        popen = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_app.py"),
                                  "--port", str(port), "--dir", str(folder)],
                                 stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    return Proc(name="bare", popen=popen, log=log, port=port)


async def wait_answering(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer in {timeout_s} s")
            await asyncio.sleep(0.2)


def reads(label: str, database_url: str, redis: RedisSpace | None, args: argparse.Namespace,
          tmp: Path) -> list[str]:
    env = bench_env(database_url, redis)
    procs: list[Proc] = []
    lines = [f"\n{label}: ours vs the bare app, same bytes, 1 process each, {args.client} "
             f"-c{args.concurrency} {args.duration_s} s",
             f"  {'endpoint':<26} {'ours rps':>9} {'bare rps':>9} {'ratio':>6}  "
             f"{'ours p50/p99 ms':>16}  {'bare p50/p99 ms':>16}  errors"]
    print("\n".join(lines), flush=True)
    try:
        procs.append(serve(f"{label[:6]}-serve", env, tmp, extra=["--workers", "1"]))
        url = procs[0].url
        if redis:
            procs.append(start(f"{label[:6]}-worker", ["worker", "--workers", "1"], env, tmp))

        async def ready() -> None:
            async with httpx.AsyncClient(timeout=2) as http:
                await wait_ready(http, procs[:1], procs, timeout_s=60,
                                 redis_url=redis.url if redis else None,
                                 readers=1 if redis else 0)

        asyncio.run(ready())
        headers, ids = asyncio.run(seed(url))
        paths = {"result": f"/api/v1/assessments/{ids[0]}/result",
                 "list": "/api/v1/assessments", "health": "/health"}
        bodies = {}
        for path in paths.values():
            response = httpx.get(url + path, headers=headers, timeout=30)
            response.raise_for_status()
            bodies[path] = response.content
        bare_dir = tmp / f"bare-{label[:6]}"
        bare_dir.mkdir()
        procs.append(bare := start_bare(bodies, bare_dir, tmp))
        asyncio.run(wait_answering(bare.url + "/health"))
        time.sleep(1)  # both idle
        idle = (rss_mib(procs[0].popen.pid), rss_mib(bare.popen.pid),
                descendants_rss_mib(procs[0].popen.pid))
        for name, path in paths.items():
            ours = measure(url + path, headers if name != "health" else {}, args)
            base = measure(bare.url + path, {}, args)
            row = (f"  GET {name} ({len(bodies[path]) / 1024:.0f} KB)".ljust(28)
                   + f" {ours.rps:9.0f} {base.rps:9.0f} {ours.rps / base.rps:6.3f}  "
                   f"{ours.p50_ms:7.1f}/{ours.p99_ms:7.1f}  {base.p50_ms:7.1f}/{base.p99_ms:7.1f}"
                   f"  {ours.errors}/{base.errors}")
            lines.append(row)
            print(row, flush=True)
        lines.append(f"  idle resident memory: ours {idle[0]:.0f} MiB, bare {idle[1]:.0f} MiB "
                     f"(its child processes then: {idle[2]:.0f} MiB)")
        print(lines[-1], flush=True)
    except Exception as exc:
        lines.append(f"  failed: {type(exc).__name__}: {exc}")
        print(lines[-1])
        for proc in procs:
            print(f"  --- {proc.name} ---\n{proc.tail()}")
    finally:
        for proc in procs:
            proc.stop(STOP_GRACE_S)
    return lines


# -- part 2: runs ----------------------------------------------------------------------


async def drain(url: str, runs: int) -> tuple[float, float]:
    """Create and queue ``runs`` assessments (for a user of their own): seconds until all
    were queued, and until all had completed."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        http.headers.update(await sign_up(http, url))
        begun = time.monotonic()
        for i in range(runs):
            created = await http.post("/api/v1/assessments", json={
                "title": f"Run {i}", "requirements": WEB_SERVICE})
            created.raise_for_status()
            run = await http.post(f"/api/v1/assessments/{created.json()['id']}/run")
            run.raise_for_status()
        queued_s = time.monotonic() - begun
        while True:
            counts = {}
            for status in ("completed", "failed"):
                page = await http.get("/api/v1/assessments",
                                      params={"status": status, "limit": 1})
                counts[status] = page.json()["total"]
            if counts["failed"]:
                raise RuntimeError(f"{counts['failed']} runs failed")
            if counts["completed"] >= runs:
                return queued_s, time.monotonic() - begun
            if time.monotonic() - begun > 600:
                raise RuntimeError(f"{counts['completed']} of {runs} done after 600 s")
            await asyncio.sleep(0.1)


#: Clock ticks per second of /proc's CPU times.
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy_s() -> float:
    """CPU-seconds all cores have been busy since boot (/proc/stat: all but idle, iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICKS


def group_cpu_s(pgid: int) -> tuple[float, float]:
    """CPU-seconds (user + system) of a process group, as /proc says now: of its
    processes that multiprocessing started (a worker's engine processes, its resource
    tracker) and of the others (``infra-mind worker`` and taskiq's worker processes)."""
    own = spawned = 0.0
    for entry, fields in proc_stats():
        if int(fields[2]) != pgid:  # field 5 of stat: the process group
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        cpu = (int(fields[11]) + int(fields[12])) / TICKS  # fields 14, 15: utime, stime
        if b"multiprocessing" in cmdline:
            spawned += cpu
        else:
            own += cpu
    return own, spawned


@dataclass
class RunCpu:
    """CPU-seconds spent while the runs drained, by where."""

    wall_s: float
    #: Of ``wall_s``: until the last run was queued (the API's 2 requests a run, in turn).
    queued_s: float
    workers_s: float
    engines_s: float
    api_s: float
    machine_s: float

    @property
    def rest_s(self) -> float:
        return max(0.0, self.machine_s - self.workers_s - self.engines_s - self.api_s)

    def line(self, runs: int) -> str:
        per = 1000 / runs
        return (f"    CPU per run: workers {self.workers_s * per:.0f} ms, engine processes "
                f"{self.engines_s * per:.0f} ms, API {self.api_s * per:.0f} ms, rest of the "
                f"machine (PostgreSQL, Redis, other) {self.rest_s * per:.0f} ms; "
                f"{self.machine_s / self.wall_s:.2f} cores busy on average")


def cpu_now(api: Proc, workers: list[Proc]) -> tuple[float, float, float, float]:
    api_s = sum(group_cpu_s(api.pgid))
    worker_s = engine_s = 0.0
    for proc in workers:
        leader, others = group_cpu_s(proc.pgid)
        worker_s += leader
        engine_s += others
    return worker_s, engine_s, api_s, machine_busy_s()


def runs_with(workers: int, args: argparse.Namespace, tmp: Path) -> RunCpu:
    with pg_database() as database_url, redis_db() as redis:
        env = bench_env(database_url, redis)
        procs: list[Proc] = []
        try:
            procs.append(serve(f"runs{workers}-serve", env, tmp, extra=["--workers", "1"]))
            procs.extend(start(f"runs{workers}-worker{i}", ["worker", "--workers", "1"], env,
                               tmp) for i in range(workers))

            async def go() -> RunCpu:
                async with httpx.AsyncClient(timeout=2) as http:
                    await wait_ready(http, procs[:1], procs, timeout_s=60,
                                     redis_url=redis.url, readers=workers)
                before = cpu_now(procs[0], procs[1:])
                queued, wall = await drain(procs[0].url, args.runs)
                after = cpu_now(procs[0], procs[1:])
                spent = [b - a for a, b in zip(before, after, strict=True)]
                return RunCpu(wall, queued, *spent)

            return asyncio.run(go())
        except Exception:
            for proc in procs:
                print(f"  --- {proc.name} ---\n{proc.tail()}")
            raise
        finally:
            for proc in procs:
                proc.stop(STOP_GRACE_S)


def runs(args: argparse.Namespace, tmp: Path) -> list[str]:
    lines = [f"\nRuns (PostgreSQL + Redis): {args.runs} queued at once, until all completed"]
    print(lines[0], flush=True)
    try:
        cores = os.cpu_count() or 1
        one = runs_with(1, args, tmp)
        lines += [f"  1 worker process:  {one.wall_s:6.1f} s "
                  f"({args.runs / one.wall_s:.2f} runs/s; all queued after "
                  f"{one.queued_s:.1f} s)", one.line(args.runs)]
        print("\n".join(lines[-2:]), flush=True)
        two = runs_with(2, args, tmp)
        bound = two.machine_s / cores / one.wall_s
        lines += [f"  2 worker processes: {two.wall_s:6.1f} s "
                  f"({args.runs / two.wall_s:.2f} runs/s; all queued after "
                  f"{two.queued_s:.1f} s); time ratio two/one "
                  f"{two.wall_s / one.wall_s:.2f} (on {cores} cores the CPU it used allows "
                  f"no less than {bound:.2f})", two.line(args.runs)]
        print("\n".join(lines[-2:]), flush=True)
    except Exception as exc:
        lines.append(f"  failed: {type(exc).__name__}: {exc}")
        print(lines[-1])
    return lines


# -- part 3: runs in the API process ----------------------------------------------------


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float
    max_ms: float
    reads: int

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        ordered = sorted(seconds)

        def at(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

        return cls(at(0.5), at(0.99), ordered[-1] * 1000, len(ordered))

    def __str__(self) -> str:
        return (f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms "
                f"({self.reads} reads)")


async def read_while(url: str, runs: int) -> tuple[Latency, Latency, float, float]:
    """One client reads a cached result every 5 ms: for 3 s idle, then while ``runs``
    runs are created, queued and executed by the API process itself. (idle, during,
    seconds to queue them all, seconds until all completed)."""
    headers, ids = await seed(url)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        async def reads(until: asyncio.Event, into: list[float]) -> None:
            while not until.is_set():
                begun = time.perf_counter()
                (await http.get(f"/api/v1/assessments/{ids[0]}/result")).raise_for_status()
                into.append(time.perf_counter() - begun)
                await asyncio.sleep(0.005)

        idle: list[float] = []
        stop = asyncio.Event()
        reader = asyncio.create_task(reads(stop, idle))
        await asyncio.sleep(3)
        stop.set()
        await reader
        during: list[float] = []
        stop = asyncio.Event()
        reader = asyncio.create_task(reads(stop, during))
        try:
            queued_s, done_s = await drain(url, runs)
        finally:
            stop.set()
            await reader
    return Latency.of(idle), Latency.of(during), queued_s, done_s


#: Part 3's two ways (``RUN_PROCESS``): the baseline first.
WHERE_RUNS = (("on the API's own event loop (RUN_PROCESS=false)", {"RUN_PROCESS": "false"}),
              ("in the API's run process (the default)", {}))


def in_process(args: argparse.Namespace, tmp: Path) -> list[str]:
    lines = [f"\nRuns in the API process (SQLite, no worker): {args.runs} queued at once, "
             "a cached result read every 5 ms meanwhile"]
    print(lines[0], flush=True)
    for where, extra in WHERE_RUNS:
        lines.append(f"  {where}:")
        print(lines[-1], flush=True)
        with sqlite_database() as url:
            proc = serve("inproc-serve", bench_env(url, None, **extra), tmp,
                         extra=["--workers", "1"])
            try:
                asyncio.run(wait_answering(proc.url + "/health"))
                idle, during, queued_s, done_s = asyncio.run(read_while(proc.url, args.runs))
                time.sleep(1)
                pid = proc.popen.pid
                lines += [f"    queued in {queued_s:.1f} s, all completed {done_s:.1f} s "
                          "after the first was created",
                          f"    reads before: {idle}", f"    reads during: {during}",
                          f"    resident memory after: API process {rss_mib(pid):.0f} MiB, "
                          f"its child processes {descendants_rss_mib(pid):.0f} MiB"]
                print("\n".join(lines[-4:]), flush=True)
            except Exception as exc:
                lines.append(f"    failed: {type(exc).__name__}: {exc}")
                print(f"{lines[-1]}\n{proc.tail()}")
            finally:
                proc.stop(STOP_GRACE_S)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration-s", type=int, default=20, help="per endpoint and server")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--runs", type=int, default=40, help="runs queued in parts 2 and 3")
    parser.add_argument("--client", choices=["wrk", "httpx"],
                        default="wrk" if shutil.which("wrk") else "httpx")
    parser.add_argument("--only", choices=["sqlite", "postgresql+redis", "runs", "in-process"],
                        action="append", help="run only these parts (repeatable)")
    args = parser.parse_args()
    only = set(args.only or ["sqlite", "postgresql+redis", "runs", "in-process"])
    if args.client == "httpx":
        print("wrk not found (apt-get install wrk): the load comes from httpx in this "
              "process, which then limits both servers; the ratios read closer to 1")
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at the start")
    out: list[str] = []
    with tempfile.TemporaryDirectory(prefix="im-bench-logs-") as logs:
        tmp = Path(logs)
        if "sqlite" in only:
            with sqlite_database() as url:
                out += reads("SQLite (runs in the run process, memory cache)", url, None, args, tmp)
        down = unavailable() if only & {"postgresql+redis", "runs"} else None
        if down is not None:
            out.append(f"\nPostgreSQL + Redis skipped: {down}")
        else:
            if "postgresql+redis" in only:
                with pg_database() as url, redis_db() as redis:
                    out += reads("PostgreSQL + Redis (broker, cache; 1 worker)", url,
                                 redis, args, tmp)
            if "runs" in only:
                out += runs(args, tmp)
        if "in-process" in only:
            out += in_process(args, tmp)
    print("\nSummary" + "\n".join(out))


if __name__ == "__main__":
    main()
