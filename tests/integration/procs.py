"""Real ``infra-mind`` processes on loopback, for the integration tests and ``bench/``.

Each process runs in its own process group, so stopping (or killing) it takes its children
too: ``infra-mind worker`` execs taskiq, which forks its worker processes. Logs go to a
file per process; ``report`` prints their tails.

Services: PostgreSQL at $INFRA_MIND_TEST_PG (a fresh database per use, dropped after) and
Redis at $INFRA_MIND_TEST_REDIS_BROKER (default DB 14), where each use gets a namespace of
its own (``redis_namespace``: the processes' ``REDIS_NAMESPACE``) and deletes only the keys
under it, so runs on one server (in parallel, or someone else's) never meet. Nothing here
imports pytest at module level, so ``bench/`` can use it without a test session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from infra_mind.worker.queue import CONSUMER_GROUP, task_stream

PG_ADMIN = os.environ.get("INFRA_MIND_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("INFRA_MIND_TEST_REDIS_BROKER", "redis://127.0.0.1:6379/14")
REQUIRE = os.environ.get("INFRA_MIND_REQUIRE_SERVICES") == "1"

#: The workers' consumer group on the task stream (``RedisSpace.stream``).
GROUP = CONSUMER_GROUP
STOP_GRACE_S = 10.0
#: Settings the processes get from the caller, never from the developer's shell: a real
#: LLM key or endpoint there would otherwise send the tests' prompts to a vendor.
_CONTROLLED_ENV = ("DATABASE_", "REDIS_", "JWT_", "ENVIRONMENT", "WRITE_RATE", "LOG_LEVEL",
                   "OPENAI_", "ANTHROPIC_", "LLM_PROVIDER_ORDER", "AGENTS_CONFIG",
                   "CONFIG_DIR", "CHECKPOINT_URL", "JOB_TIMEOUT_S", "RUN_PROCESS")

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


def unavailable(what: str, exc: BaseException) -> None:
    """Skip the test, or fail it under INFRA_MIND_REQUIRE_SERVICES=1 (CI)."""
    import pytest

    message = f"{what} unreachable ({type(exc).__name__}: {exc})"
    if REQUIRE:
        pytest.fail(f"{message}; INFRA_MIND_REQUIRE_SERVICES=1 makes this a failure")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- processes -------------------------------------------------------------------------


@dataclass
class Proc:
    """One ``python -m infra_mind ...`` in its own process group."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None
    #: The leader's start time (made right after it is started): see ``_group_is_ours``.
    started: int | None = field(init=False)

    def __post_init__(self) -> None:
        self.started = start_time(self.popen.pid)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pgid(self) -> int:
        return self.popen.pid  # start_new_session: the group id is the leader's pid

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def _group_is_ours(self) -> bool:
        """Whether the group id still names this process's group. Until the leader is
        reaped its pid, and so the id, is held; reaped, the id is free once the rest of
        the group is gone, and pids wrap around within minutes on a busy machine (a
        parallel test run; 32,768 of them here): a process that has the pid now, started
        at another time, is someone else's, and a signal to its group would stop someone
        else's work (another test's, another run's)."""
        if self.popen.returncode is None:
            return True
        now = start_time(self.pgid)
        return now is None or now == self.started

    def _signal_group(self, sig: int) -> bool:
        """Send ``sig`` (0: none, only whether it could) to the group if it is still this
        process's and has a member."""
        if not self._group_is_ours():
            return False
        try:
            os.killpg(self.pgid, sig)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL to the whole group at once: no shutdown code runs anywhere in it."""
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM to the group, then SIGKILL after ``grace_s``.

        The group, not the pid: taskiq's worker processes are children, which a SIGTERM
        to the parent alone can leave running.
        """
        self._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and self._signal_group(0):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=0.1)  # reaps the leader once it exits
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks after boot, /proc/<pid>/stat); None if no process
    has that pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])  # field 22; the first after the name is 3


def start(name: str, args: list[str], env: dict[str, str], log_dir: Path,
          port: int | None = None) -> Proc:
    """``python -m infra_mind *args`` in a new session, output appended to ``<name>.log``."""
    log = log_dir / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen([sys.executable, "-m", "infra_mind", *args], env=env,
                                 stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    return Proc(name=name, popen=popen, log=log, port=port)


def serve(name: str, env: dict[str, str], log_dir: Path, port: int | None = None,
          extra: Iterable[str] = ()) -> Proc:
    """``infra-mind serve`` on loopback (a free port unless given)."""
    port = port or free_port()
    return start(name, ["serve", "--host", "127.0.0.1", "--port", str(port), *extra], env,
                 log_dir, port)


def migrate(env: dict[str, str]) -> None:
    """``infra-mind migrate``, as a deploy step would: ``serve`` migrates on start without
    a lock, so two of them starting at once on an empty database can collide."""
    done = subprocess.run([sys.executable, "-m", "infra_mind", "migrate"], env=env,
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"infra-mind migrate exited {done.returncode}:\n"
                           f"{done.stdout}{done.stderr}")


def base_env(database_url: str, redis: RedisSpace | str | None = None,
             **extra: str) -> dict[str, str]:
    """This process's environment minus the settings under test, plus a production setup
    (48-character JWT secret; idle connections kept 75 s, as deploy/ does behind its
    proxies, so a test client idle a few seconds never races the server's close) on
    ``database_url`` and ``redis`` (a namespace of the test Redis, or the URL of a server
    of the caller's own); ``extra`` last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CONTROLLED_ENV)}
    env.update(ENVIRONMENT="production", JWT_SECRET_KEY=secrets.token_urlsafe(36)[:48],
               DATABASE_URL=database_url, LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
               SERVER_KEEP_ALIVE_S="75")
    if isinstance(redis, RedisSpace):
        env.update(REDIS_URL=redis.url, REDIS_NAMESPACE=redis.prefix)
    elif redis:
        env["REDIS_URL"] = redis
    env.update(extra)
    return env


def report(procs: Iterable[Proc], lines: int = 40) -> str:
    parts = []
    for proc in procs:
        code = proc.popen.poll()
        state = "running" if code is None else f"exited {code}"
        parts.append(f"----- {proc.name} (pid {proc.popen.pid}, {state}) -----\n"
                     f"{proc.tail(lines)}")
    return "\n".join(parts)


@contextlib.contextmanager
def logs_on_failure(procs: Iterable[Proc]) -> Iterator[None]:
    """On any failure, print each process's log tail (pytest shows it with the failure).
    ``procs`` is read at failure time, so a list that grows meanwhile is reported whole."""
    try:
        yield
    except BaseException:
        print("\n" + report(procs), file=sys.stderr)
        raise


def group_name(pid: int, procs: Iterable[Proc]) -> str:
    """Which of ``procs`` a pid belongs to (by process group), e.g. from a worker_id."""
    names = {proc.pgid: proc.name for proc in procs}
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return f"pid {pid} (gone)"
    return names.get(pgid, f"pid {pid} (group {pgid})")


def pid_of_worker_id(worker_id: str) -> int:
    """The pid in a worker_id (``host:pid:suffix``)."""
    return int(worker_id.split(":")[1])


# -- readiness -------------------------------------------------------------------------


def stream_readers(client: Any, procs: Iterable[Proc]) -> int:
    """Connections from ``procs`` (their process groups: taskiq forks its workers) blocked
    in XREADGROUP on ``client``'s Redis: one per listening worker. Counted by the client
    port Redis reports against the sockets those processes hold, so other runs' workers
    on the same server are not counted. (``XINFO CONSUMERS`` will not do: Redis 7.0 adds
    a consumer only once it got a message.)"""
    ports = _local_tcp_ports(_pids_in_groups({proc.pgid for proc in procs}))
    return sum(1 for c in client.client_list()
               if c.get("cmd") == "xreadgroup" and int(c["addr"].rsplit(":", 1)[1]) in ports)


def _pids_in_groups(pgids: set[int]) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.getpgid(int(entry)) in pgids:
                    pids.append(int(entry))
    return pids


def _local_tcp_ports(pids: Iterable[int]) -> set[int]:
    """The local TCP ports of the sockets ``pids`` hold (Linux ``/proc``)."""
    inodes: set[str] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(target[len("socket:["):-1])
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()  # sl local_address rem_address st ... uid timeout inode
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def wait_ready(http: httpx.AsyncClient, apis: list[Proc], watch: list[Proc],
                     timeout_s: float = 60.0, redis_url: str | None = None,
                     readers: int = 0) -> None:
    """Every API answers /health/ready with 200 and, with ``redis_url``, at least
    ``readers`` of ``watch``'s workers read the task stream; raises RuntimeError if one of
    ``watch`` exits or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    waiting = list(apis)
    last: dict[str, str] = {}
    client = None
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        while True:
            for proc in watch:
                if (code := proc.popen.poll()) is not None:
                    raise RuntimeError(f"{proc.name} exited with {code}")
            for proc in list(waiting):
                try:
                    response = await http.get(f"{proc.url}/health/ready", timeout=2)
                    last[proc.name] = f"{response.status_code} {response.text}"
                    if response.status_code == 200:
                        waiting.remove(proc)
                except httpx.HTTPError as exc:
                    last[proc.name] = f"{type(exc).__name__}: {exc}"
            reading = stream_readers(client, watch) if client is not None else 0
            if client is not None:
                last["workers reading"] = str(reading)
            if not waiting and reading >= readers:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout_s} s: {last}")
            await asyncio.sleep(0.25)
    finally:
        if client is not None:
            client.close()


def ok(response: httpx.Response, expected: int) -> dict[str, Any]:
    assert response.status_code == expected, (
        f"{response.request.method} {response.request.url}: {response.status_code} "
        f"{response.text}")
    return response.json()


async def sign_up(http: httpx.AsyncClient, register_at: str,
                  login_at: str | None = None) -> dict[str, str]:
    """Register a fresh user on one API, sign in on ``login_at`` (default the same);
    the Authorization header."""
    email = f"it-{uuid.uuid4().hex[:8]}@example.com"
    password = secrets.token_urlsafe(18)
    ok(await http.post(f"{register_at}/api/v1/auth/register",
                       json={"email": email, "password": password,
                             "full_name": "Integration Test"}), 202)
    tokens = ok(await http.post(f"{login_at or register_at}/api/v1/auth/login",
                                json={"email": email, "password": password}), 200)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


# -- services --------------------------------------------------------------------------


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_pg_database(prefix: str) -> tuple[str, str]:
    """A fresh database on ``PG_ADMIN``: (name, SQLAlchemy URL). Raises OSError or
    asyncpg.PostgresError when PostgreSQL is unreachable."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return name, f"{base}/{name}"


def drop_pg_database(name: str) -> None:
    asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass(frozen=True)
class RedisSpace:
    """A namespace of one test's own in the test Redis: processes started with it
    (``base_env``) keep every key, stream and channel under ``prefix``."""

    url: str
    prefix: str

    @property
    def stream(self) -> str:
        """The task stream of the processes in this namespace."""
        return task_stream(self.prefix)

    def client(self, **kwargs: Any) -> Any:
        import redis

        return redis.Redis.from_url(self.url, **{"socket_connect_timeout": 2, **kwargs})

    def names(self) -> list[bytes]:
        """The keys under ``prefix`` now."""
        with contextlib.closing(self.client(socket_timeout=5)) as client:
            return list(client.scan_iter(match=f"{self.prefix}*", count=500))

    def clean(self) -> None:
        """Delete every key under ``prefix``, and nothing else."""
        with contextlib.closing(self.client(socket_timeout=5)) as client:
            keys = list(client.scan_iter(match=f"{self.prefix}*", count=500))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start:start + 500])


def new_redis_space(url: str = REDIS_URL) -> RedisSpace:
    """A fresh namespace (nothing is written until a process uses it)."""
    return RedisSpace(url, f"test-{uuid.uuid4().hex[:12]}:")


@contextlib.contextmanager
def redis_namespace(url: str = REDIS_URL) -> Iterator[RedisSpace]:
    """A fresh namespace in the Redis at ``url``, its keys deleted afterwards; skips the
    test (fails it under INFRA_MIND_REQUIRE_SERVICES=1) when Redis is unreachable."""
    import redis

    space = new_redis_space(url)
    try:
        with contextlib.closing(space.client()) as client:
            client.ping()
    except (OSError, redis.RedisError) as exc:
        unavailable(f"Redis at {url}", exc)
    try:
        yield space
    finally:
        space.clean()
