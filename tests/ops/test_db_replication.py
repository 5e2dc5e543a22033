"""``infra-mind db-status`` on real PostgreSQL streaming replication.

The machine's PostgreSQL admits no replication connection (and is not ours to
reconfigure), so each test builds its own pair: a primary made by ``initdb`` and a
streaming standby made from it by ``pg_basebackup -R`` with a physical replication slot,
both on free loopback ports, both stopped (``-m immediate``) and removed afterwards.

db-status is checked against figures read independently from the same servers: on the
primary, the standby's state, its bytes behind (``pg_current_wal_lsn()`` less the
standby's replay position) and its replay lag, and the slot; on the standby, that it is a
replica, the bytes received and not yet replayed, and the seconds since the last replayed
transaction. The standby's replay is paused while the primary writes, so the bytes behind
are real and known; the figures are compared only while the servers' own positions stay
put around the call (or bounded by readings taken before and after it).

PostgreSQL refuses to run as root: as root, the servers run as the ``postgres`` OS user
(``runuser``) in a directory it owns, made under the system's temporary directory. The
test's own ``tmp_path`` is not used because pytest keeps it private to root (``0700``),
so ``postgres`` could not enter it, and because a server's Unix socket path must stay
under 108 bytes. The tests skip when the binaries or the ``postgres`` user are missing,
and fail instead under INFRA_MIND_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from infra_mind.cli.main import main
from infra_mind.ops.db_status import PgStatus, Replica, Slot, pg_status
from tests.integration.procs import REQUIRE, free_port

TOOLS = ("initdb", "pg_ctl", "pg_basebackup")
STANDBY = "im_standby"  # the standby's cluster_name: its application_name on the primary
SLOT = "im_standby_slot"
#: Longest wait for a server to start or for replication to reach a position.
WAIT_S = 60.0
_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def cannot_run(reason: str) -> None:
    """Skip, or fail under INFRA_MIND_REQUIRE_SERVICES=1 (CI)."""
    if REQUIRE:
        pytest.fail(f"{reason}; INFRA_MIND_REQUIRE_SERVICES=1 makes this a failure")
    pytest.skip(reason)


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` holding the tools (Debian's layout),
    else the directory on PATH that holds them all."""
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    for bindir in sorted(versions, key=lambda p: int(p.parent.name), reverse=True):
        if all((bindir / tool).is_file() for tool in TOOLS):
            return bindir
    found = [shutil.which(tool) for tool in TOOLS]
    if all(found) and len({Path(f).parent for f in found if f}) == 1:
        return Path(found[0] or "").parent
    return None


@dataclass(frozen=True)
class Tools:
    """The PostgreSQL binaries and how to run them: as ``postgres`` when we are root."""

    bindir: Path
    prefix: tuple[str, ...]
    owner: tuple[int, int] | None

    def run(self, tool: str, *args: str | Path, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        done = subprocess.run(
            [*self.prefix, str(self.bindir / tool), *map(str, args)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"{tool} {' '.join(map(str, args))} exited "
                f"{done.returncode}: {done.stderr.strip()[-2000:]}"
            )


def find_tools() -> Tools:
    bindir = find_bindir()
    if bindir is None:
        cannot_run(
            f"no PostgreSQL server binaries ({', '.join(TOOLS)}) under "
            "/usr/lib/postgresql/*/bin or on PATH"
        )
        raise AssertionError  # not reached: cannot_run skips or fails
    if os.geteuid() != 0:
        return Tools(bindir, (), None)
    runuser = shutil.which("runuser")
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        user = None
    if runuser is None or user is None:
        cannot_run(
            "running as root, and PostgreSQL refuses root: needs the `postgres` OS "
            f"user and runuser (postgres user: {user is not None}, runuser: "
            f"{runuser is not None})"
        )
        raise AssertionError
    return Tools(bindir, (runuser, "-u", "postgres", "--"), (user.pw_uid, user.pw_gid))


@dataclass
class Cluster:
    name: str
    data: Path
    port: int
    tools: Tools
    started: bool = False

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.name}.log"

    def configure(self, settings: dict[str, str]) -> None:
        """Append to postgresql.conf: a later line wins over an earlier one."""
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("".join(f"{key} = {value}\n" for key, value in settings.items()))

    def start(self) -> None:
        try:
            self.tools.run(
                "pg_ctl",
                "-D",
                self.data,
                "-l",
                self.log,
                "-w",
                "-t",
                str(int(WAIT_S)),
                "start",
                cwd=self.data.parent,
            )
        except AssertionError as exc:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise AssertionError(f"{exc}\n{self.name} log:\n{tail}") from None
        self.started = True

    def stop(self) -> None:
        if self.started:
            self.started = False
            self.tools.run(
                "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", cwd=self.data.parent
            )

    def one(self, sql: str, *params: Any) -> Any:
        """The first row of ``sql``, read on a connection of its own."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            return conn.execute(sql, params).fetchone()


@dataclass
class Pair:
    primary: Cluster
    standby: Cluster


def wait_for(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT_S:.0f} s for {what}")
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    for name in ("CONFIG_DIR", "ENVIRONMENT", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def pair() -> Iterator[Pair]:
    """A primary and a standby streaming from it through the slot ``SLOT``."""
    tools = find_tools()
    base = Path(tempfile.mkdtemp(prefix="im-repl-"))
    primary = Cluster("primary", base / "primary", free_port(), tools)
    standby = Cluster("standby", base / "standby", free_port(), tools)
    try:
        if tools.owner is not None:
            os.chown(base, *tools.owner)
        tools.run(
            "initdb",
            "-D",
            primary.data,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
            cwd=base,
        )
        primary.configure(
            {
                "listen_addresses": "'127.0.0.1'",
                "port": str(primary.port),
                "unix_socket_directories": f"'{base}'",
                "wal_level": "replica",
                "max_wal_senders": "4",
                "fsync": "off",
                # nothing but the test commits, so "nothing replayed yet" is known to be true
                "autovacuum": "off",
            }
        )
        (primary.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
            "host replication all 127.0.0.1/32 trust\n"
        )
        primary.start()
        tools.run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            standby.data,
            "-R",
            "-C",
            "-S",
            SLOT,
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
            cwd=base,
        )
        standby.configure({"port": str(standby.port), "cluster_name": f"'{STANDBY}'"})
        standby.start()
        wait_for(
            "the standby to stream",
            lambda: (
                primary.one(
                    "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s AND "
                    "state = 'streaming' AND replay_lsn IS NOT NULL",
                    STANDBY,
                )[0]
                == 1
            ),
        )
        yield Pair(primary, standby)
    finally:
        for cluster in (standby, primary):
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


def status_of(cluster: Cluster) -> PgStatus:
    """What the CLI prints, as the function it calls returns it."""
    return asyncio.run(pg_status(cluster.url, 60.0))


def cli(capsys, monkeypatch, cluster: Cluster, *argv: str) -> str:
    monkeypatch.setenv("DATABASE_URL", cluster.url)
    capsys.readouterr()
    code = main(["db-status", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def size_bytes(number: str, unit: str) -> tuple[float, float]:
    """The bytes a ``human_size`` figure stands for, as (low, high): it shows one decimal."""
    if unit == "B":
        return float(number), float(number)
    return (float(number) - 0.05) * _UNITS[unit], (float(number) + 0.05) * _UNITS[unit]


def steady(cluster: Cluster, sql: str, read: Callable[[], Any]) -> Any:
    """``read()`` taken while ``sql`` (a server's positions) gives the same row before and
    after it, as (row, result); a few tries, as background WAL can move them."""
    for _ in range(5):
        before = cluster.one(sql)
        result = read()
        if cluster.one(sql) == before:
            return before, result
    pytest.fail(f"{sql} never held still around a db-status call")


#: The primary's own view: its position, the standby's replay position, the bytes between,
#: the replay lag, when the standby last reported, its state, and the WAL the slot holds.
PRIMARY_VIEW = (
    "SELECT pg_current_wal_lsn(), replay_lsn, "
    "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, "
    "extract(epoch FROM replay_lag)::float8, reply_time, state, sync_state, "
    "(SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
    f" FROM pg_replication_slots WHERE slot_name = '{SLOT}') "
    f"FROM pg_stat_replication WHERE application_name = '{STANDBY}'"
)
CASCADE_SLOT = "im_cascade_slot"
#: The standby's: received, replayed, the bytes between, and the WAL its own slot holds.
STANDBY_VIEW = (
    "SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), "
    "pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint, "
    "(SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), restart_lsn)::bigint "
    f" FROM pg_replication_slots WHERE slot_name = '{CASCADE_SLOT}')"
)


def check_primary_view(status: PgStatus, row: tuple[Any, ...]) -> Replica:
    """The one replica db-status lists is the one pg_stat_replication shows, figure for
    figure."""
    _, _, behind, replay_lag_s, _, state, sync_state, slot_holds = row
    assert status.is_replica is False
    [replica] = status.replicas
    assert (replica.name, replica.address, replica.state, replica.sync_state) == (
        STANDBY,
        "127.0.0.1",
        state,
        sync_state,
    )
    assert state == "streaming" and sync_state == "async"
    assert replica.lag_bytes == behind
    if replay_lag_s is None:
        assert replica.replay_lag_s is None
    else:
        assert replica.replay_lag_s == pytest.approx(replay_lag_s, abs=1e-6)
    assert status.slots == [Slot(SLOT, "physical", True, slot_holds)]
    return replica


def test_primary_and_standby_report_streaming_lag_and_the_slot(pair, capsys, monkeypatch):
    primary, standby = pair.primary, pair.standby

    # caught up: the standby streams, the slot is held by it, nothing replayed yet
    row, status = steady(primary, PRIMARY_VIEW, lambda: status_of(primary))
    check_primary_view(status, row)
    on_standby = status_of(standby)
    assert on_standby.is_replica is True and on_standby.replicas == []
    assert on_standby.replica_lag_s is None  # autovacuum is off: no commit since the copy

    # replay paused while the primary writes: the standby receives the WAL, replays none
    standby.one("SELECT pg_wal_replay_pause()")
    wait_for(
        "replay to pause",
        lambda: standby.one("SELECT pg_get_wal_replay_pause_state()")[0] == "paused",
    )
    frozen = standby.one("SELECT pg_last_wal_replay_lsn()")[0]
    wait_for(
        "the primary to see where replay stopped",
        lambda: primary.one(
            f"SELECT replay_lsn = %s::pg_lsn FROM pg_stat_replication "
            f"WHERE application_name = '{STANDBY}'",
            str(frozen),
        )[0],
    )
    with psycopg.connect(primary.conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE ledger (id bigint PRIMARY KEY, note text NOT NULL)")
        conn.execute(
            "INSERT INTO ledger SELECT g, repeat('x', 40) FROM generate_series(1, 20000) g"
        )
        written = conn.execute(
            "SELECT pg_current_wal_lsn(), "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)::bigint",
            (str(frozen),),
        ).fetchone()
    written_lsn, written_bytes = written
    assert written_bytes > 1_000_000  # 20,000 rows and their index entries
    wait_for(
        "the standby to receive the rows",
        lambda: standby.one("SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", str(written_lsn))[0],
    )

    row, document = steady(
        primary, PRIMARY_VIEW, lambda: json.loads(cli(capsys, monkeypatch, primary, "--json"))
    )
    assert row[2] >= written_bytes
    [replica] = document["replicas"]
    assert (replica["name"], replica["state"], replica["lag_bytes"]) == (
        STANDBY,
        "streaming",
        row[2],
    )
    assert document["is_replica"] is False
    assert document["slots"] == [
        {"name": SLOT, "kind": "physical", "active": True, "retained_bytes": row[7]}
    ]
    row, status = steady(primary, PRIMARY_VIEW, lambda: status_of(primary))
    check_primary_view(status, row)
    row, out = steady(primary, PRIMARY_VIEW, lambda: cli(capsys, monkeypatch, primary))
    assert "replication: 1 replica(s) stream from this server" in out.splitlines()
    found = re.search(
        rf"^  {STANDBY} \(127\.0\.0\.1\): streaming, async, replay lag "
        r"(\?|\d+\.\d s), ([\d.]+) (B|KiB|MiB|GiB) behind$",
        out,
        re.MULTILINE,
    )
    assert found, out
    low, high = size_bytes(found[2], found[3])
    assert low <= row[2] <= high
    assert re.search(
        rf"^  {SLOT} \(physical, active\): holds [\d.]+ \w+ of WAL$", out, re.MULTILINE
    ), out

    # the standby: received and not replayed, and no transaction replayed yet
    standby.one("SELECT pg_create_physical_replication_slot(%s, true)", CASCADE_SLOT)
    row, status = steady(standby, STANDBY_VIEW, lambda: status_of(standby))
    assert status.is_replica is True and status.replicas == []
    assert status.replica_lag_bytes == row[2] >= written_bytes
    assert status.replica_lag_s is None
    # a slot on a standby holds WAL up to what it has received, not only what it replayed
    assert status.slots == [Slot(CASCADE_SLOT, "physical", False, row[3])]
    assert row[3] >= row[2]
    row, out = steady(standby, STANDBY_VIEW, lambda: cli(capsys, monkeypatch, standby))
    found = re.search(
        r"^replication: this server is a replica; lag unknown \(nothing "
        r"replayed yet\), ([\d.]+) (B|KiB|MiB|GiB) received and not yet "
        r"replayed$",
        out,
        re.MULTILINE,
    )
    assert found, out
    low, high = size_bytes(found[1], found[2])
    assert low <= row[2] <= high

    # replay resumed: caught up, and the seconds are counted from the rows' commit
    standby.one("SELECT pg_wal_replay_resume()")
    wait_for(
        "the primary to see the rows replayed",
        lambda: primary.one(
            f"SELECT replay_lsn >= %s::pg_lsn FROM pg_stat_replication "
            f"WHERE application_name = '{STANDBY}'",
            str(written_lsn),
        )[0],
    )
    replayed_at = standby.one("SELECT pg_last_xact_replay_timestamp()")[0]
    assert replayed_at is not None
    before = standby.one("SELECT clock_timestamp()")[0]
    row, status = steady(standby, STANDBY_VIEW, lambda: status_of(standby))
    after = standby.one("SELECT clock_timestamp()")[0]
    assert status.replica_lag_bytes == row[2] and row[2] < written_bytes
    assert status.replica_lag_s is not None
    assert (
        (before - replayed_at).total_seconds()
        <= status.replica_lag_s
        <= (after - replayed_at).total_seconds()
    )
    out = cli(capsys, monkeypatch, standby)
    assert re.search(
        r"^replication: this server is a replica; lag \d+\.\d s since the last "
        r"replayed transaction$",
        out,
        re.MULTILINE,
    ), out
    row, status = steady(primary, PRIMARY_VIEW, lambda: status_of(primary))
    replica = check_primary_view(status, row)
    assert replica.lag_bytes is not None and replica.lag_bytes < written_bytes
    assert replica.replay_lag_s is not None  # measured when the rows were replayed


def test_a_stopped_standby_is_gone_and_its_slot_inactive(pair, capsys, monkeypatch):
    primary = pair.primary
    pair.standby.stop()
    wait_for(
        "the primary to see the standby gone",
        lambda: primary.one(
            "SELECT (SELECT count(*) FROM pg_stat_replication) = 0 AND NOT active "
            "FROM pg_replication_slots WHERE slot_name = %s",
            SLOT,
        )[0],
    )
    with psycopg.connect(primary.conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE ledger AS SELECT g AS id FROM generate_series(1, 20000) g")
    held = (
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
        f"FROM pg_replication_slots WHERE slot_name = '{SLOT}'"
    )
    (retained,), status = steady(primary, held, lambda: status_of(primary))
    assert status.is_replica is False and status.replicas == []
    assert status.slots == [Slot(SLOT, "physical", False, retained)]
    assert retained > 500_000  # the table's WAL, kept for a standby that is not there
    (retained,), out = steady(primary, held, lambda: cli(capsys, monkeypatch, primary))
    lines = out.splitlines()
    assert (
        "replication: none (no replica streams from this server, and it is not a replica)"
    ) in lines
    [line] = [line for line in lines if line.startswith(f"  {SLOT} ")]
    found = re.fullmatch(
        rf"  {SLOT} \(physical, INACTIVE\): holds ([\d.]+) (B|KiB|MiB|GiB) "
        r"of WAL \(an inactive slot keeps WAL for ever: drop it if its "
        r"consumer is gone\)",
        line,
    )
    assert found, line
    low, high = size_bytes(found[1], found[2])
    assert low <= retained <= high
