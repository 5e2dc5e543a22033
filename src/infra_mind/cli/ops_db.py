"""``infra-mind db-status`` and ``infra-mind db-maintain``: the operations guide's MongoDB
diagnostics and monthly maintenance, for PostgreSQL (and what applies of them to SQLite).
The work is in ``infra_mind.ops.db_status`` and ``infra_mind.ops.db_maintain``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from infra_mind.cli.errors import CliError, ExitCode, settings_or_exit

if TYPE_CHECKING:
    from infra_mind.ops.db_maintain import Action
    from infra_mind.ops.db_status import Bloat, PgStatus, SqliteStatus

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON document")]
ThresholdOpt = Annotated[float, typer.Option(
    "--bloat-threshold", min=1, max=100,
    help="An index is rebuilt from this estimated bloat on, in percent of its size")]
MinSizeOpt = Annotated[float, typer.Option(
    "--min-size-mib", min=0, help="... and from this size on, in MiB")]


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{int(n)} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def _bloat(bloat: Bloat) -> str:
    if bloat.bloat_bytes is None:
        return "no statistics"
    ratio = bloat.ratio
    return f"{human_size(bloat.bloat_bytes)} {ratio:.0%}" if ratio is not None else "0 B"


def _database_url() -> str:
    return settings_or_exit().database_url


def _pg_lines(status: PgStatus, threshold: float, min_bytes: int) -> list[str]:
    lines = [f"database {status.database}: PostgreSQL {status.version}, "
             f"{human_size(status.size_bytes)}",
             f"connections: {status.connections_server} on the server (max_connections "
             f"{status.max_connections}); this database: " + (", ".join(
                 f"{state} {n}" for state, n in status.connections_by_state.items())
                 or "none")]
    lines.append(f"queries and transactions running over {status.long_query_s:g} s: "
                 + ("none" if not status.long_queries else str(len(status.long_queries))))
    for q in status.long_queries:
        waiting = f", waiting on {q.waiting_on}" if q.waiting_on else ""
        lines.append(f"  pid {q.pid} {q.state} {q.seconds:.1f} s (user {q.user}, app "
                     f"{q.application or '-'}{waiting}): {q.query}")
    lines.append("tables (rows and bloat estimated from the planner's statistics):")
    lines.append(f"  {'table':<28} {'rows':>9} {'dead':>9} {'size':>10}  "
                 f"{'est. bloat':<16} {'vacuumed':<16} analyzed")
    for t in status.tables:
        rows = "?" if t.rows is None else str(t.rows)
        lines.append(f"  {t.name:<28} {rows:>9} {t.dead_rows:>9} "
                     f"{human_size(t.bloat.size_bytes):>10}  {_bloat(t.bloat):<16} "
                     f"{_when(t.last_vacuum):<16} {_when(t.last_analyze)}")
    loose = [t.name for t in status.tables if (t.bloat.ratio or 0) >= threshold
             and t.bloat.size_bytes >= min_bytes]
    if loose:
        lines.append(f"  {', '.join(loose)}: {threshold:.0%} or more spare; VACUUM makes it "
                     "reusable by new rows, only VACUUM FULL (which locks the table for the "
                     "rewrite) returns it to the disk")
    over = [i for i in status.indexes if i.over(threshold, min_bytes)]
    lines.append(f"indexes at {threshold:.0%} estimated bloat or more and "
                 f"{human_size(min_bytes)} or more: "
                 + (f"{len(over)} (rebuilt by `infra-mind db-maintain`)" if over
                    else f"none of {len(status.indexes)}"))
    for i in over:
        lines.append(f"  {i.name} on {i.table}: {human_size(i.bloat.size_bytes)}, "
                     f"{_bloat(i.bloat)} estimated bloat")
    invalid = [i for i in status.indexes if not i.valid]
    lines.append("invalid indexes: " + (", ".join(f"{i.name} on {i.table}" for i in invalid)
                                        or "none"))
    if status.is_replica:
        lag = "unknown (nothing replayed yet)" if status.replica_lag_s is None \
            else f"{status.replica_lag_s:.1f} s since the last replayed transaction"
        lines.append(f"replication: this server is a replica; lag {lag}"
                     + (f", {human_size(status.replica_lag_bytes)} received and not yet "
                        "replayed" if status.replica_lag_bytes else ""))
    elif not status.replicas:
        lines.append("replication: none (no replica streams from this server, and it is not "
                     "a replica)")
    else:
        lines.append(f"replication: {len(status.replicas)} replica(s) stream from this server")
        for r in status.replicas:
            lag = "?" if r.replay_lag_s is None else f"{r.replay_lag_s:.1f} s"
            behind = "?" if r.lag_bytes is None else human_size(r.lag_bytes)
            lines.append(f"  {r.name} ({r.address or 'local'}): {r.state}, {r.sync_state}, "
                         f"replay lag {lag}, {behind} behind")
    lines.append("replication slots: " + (str(len(status.slots)) if status.slots else "none"))
    for s in status.slots:
        retained = "?" if s.retained_bytes is None else human_size(s.retained_bytes)
        lines.append(f"  {s.name} ({s.kind}, {'active' if s.active else 'INACTIVE'}): "
                     f"holds {retained} of WAL" + ("" if s.active else
                                                   " (an inactive slot keeps WAL for ever: "
                                                   "drop it if its consumer is gone)"))
    return lines


def _sqlite_lines(status: SqliteStatus) -> list[str]:
    share = status.free_pages / status.pages if status.pages else 0.0
    lines = [f"database {status.database}: SQLite file {status.path}, "
             f"{human_size(status.size_bytes)} ({status.pages} pages of {status.page_size} "
             f"bytes)",
             f"free pages: {status.free_pages} ({human_size(status.free_bytes)}, {share:.0%}; "
             "`infra-mind db-maintain` rewrites the file without them)",
             f"journal mode: {status.journal_mode}"
             + (f", write-ahead log {human_size(status.wal_bytes)}"
                if status.wal_bytes is not None else "")]
    if status.checkpoints_path:
        lines.append(f"agent checkpoints: {status.checkpoints_path}, "
                     f"{human_size(status.checkpoints_bytes or 0)}")
    lines.append("not on SQLite: connections, long queries, bloat per table and index, "
                 "replication (one process owns the file)")
    return lines


def db_status(
    long_query_s: Annotated[float, typer.Option(
        "--long-query-s", min=0, help="List queries and transactions running longer, in "
                                      "seconds")] = 1.0,
    threshold: ThresholdOpt = 50.0,
    min_size_mib: MinSizeOpt = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """The database's state (DATABASE_URL). PostgreSQL: connections by state, long queries,
    table and index bloat (estimated), invalid indexes, replication lag and slots. SQLite:
    the file's size, pages and free pages. Exit 1 only when it cannot be read."""
    import asyncio

    from infra_mind.ops.db_status import DatabaseUnavailable, pg_status, sqlite_status

    url = _database_url()
    document: dict[str, Any]
    try:
        if url.startswith("sqlite"):
            sqlite = sqlite_status(url)
            document, lines = sqlite.as_json(), _sqlite_lines(sqlite)
        else:
            status = asyncio.run(pg_status(url, long_query_s))
            document = status.as_json()
            lines = _pg_lines(status, threshold / 100, int(min_size_mib * 2**20))
    except DatabaseUnavailable as exc:
        raise CliError(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(document, indent=2, default=str))
        return
    for line in lines:
        typer.echo(line)


def _action_line(action: Action, dry_run: bool) -> str:
    sizes = ""
    if action.size_before is not None and action.size_after is not None \
            and action.statement.startswith(("REINDEX", "VACUUM")):
        sizes = f"  {human_size(action.size_before)} -> {human_size(action.size_after)}"
    why = f"  ({action.why})" if action.why else ""
    if dry_run:
        return f"would run: {action.statement}{why}"
    mark = "ok" if action.error is None else "FAIL"
    return (f"{mark:>4}  {action.statement}{sizes}  {action.seconds or 0:.2f} s{why}"
            + (f": {action.error}" if action.error else ""))


def db_maintain(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be run; change "
                                                           "nothing")] = False,
    threshold: ThresholdOpt = 50.0,
    min_size_mib: MinSizeOpt = 1.0,
    lock_timeout_s: Annotated[float, typer.Option(
        "--lock-timeout-s", min=1, max=3600, help="PostgreSQL: longest wait for a lock, per "
                                                  "statement")] = 60.0,
) -> None:
    """Routine maintenance of the database (DATABASE_URL), with the application running.
    PostgreSQL: VACUUM (ANALYZE) every table, then REINDEX CONCURRENTLY each B-tree index
    at or over the bloat threshold. SQLite: ANALYZE and VACUUM (the database and the agent
    checkpoint file). One line per statement; exit 1 if one failed."""
    import asyncio

    from infra_mind.ops.db_maintain import pg_maintain, sqlite_maintain
    from infra_mind.ops.db_status import DatabaseUnavailable

    url = _database_url()

    def echo(action: Action) -> None:
        typer.echo(_action_line(action, dry_run))

    try:
        if url.startswith("sqlite"):
            report = sqlite_maintain(url, dry_run=dry_run, echo=echo)
        else:
            report = asyncio.run(pg_maintain(
                url, dry_run=dry_run, threshold=threshold / 100,
                min_bytes=int(min_size_mib * 2**20), lock_timeout_s=lock_timeout_s,
                echo=echo))
    except DatabaseUnavailable as exc:
        raise CliError(str(exc)) from None
    for note in report.notes:
        typer.echo(note)
    reindexed = [a for a in report.actions if a.statement.startswith("REINDEX")]
    if dry_run:
        typer.echo(f"dry run on {report.database}: {len(report.actions)} statement(s) would "
                   f"run, {len(reindexed)} of them reindexing; nothing was changed")
        return
    if report.failed:
        first = report.failed[0]
        raise CliError(f"{len(report.failed)} of {len(report.actions)} statement(s) failed, "
                       f"first: {first.statement}: {first.error}", ExitCode.FAILURE)
    seconds = sum(a.seconds or 0 for a in report.actions)
    rebuilt = ""
    if reindexed:
        before = sum(a.size_before or 0 for a in reindexed)
        after = sum(a.size_after or 0 for a in reindexed)
        rebuilt = (f"; {len(reindexed)} index(es) rebuilt, {human_size(before)} -> "
                   f"{human_size(after)}")
    typer.echo(f"db-maintain on {report.database}: {len(report.actions)} statement(s) in "
               f"{seconds:.1f} s{rebuilt}")
