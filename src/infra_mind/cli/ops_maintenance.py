"""``infra-mind cleanup-old-data``, ``warm-cache``, ``check-agent-state`` and
``clear-stuck-workflows``: the maintenance procedures of the operations guide.

Each runs against the database of ``DATABASE_URL`` (migrated: it says so otherwise), the
cache of ``REDIS_URL`` and, to send runs again, the task stream of ``REDIS_URL``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from infra_mind.cli.errors import CliError, ExitCode, settings_or_exit

if TYPE_CHECKING:  # at run time only where used: the platform pulls in SQLAlchemy and more
    from infra_mind.config import Settings
    from infra_mind.kit.platform import Platform

_T = TypeVar("_T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON document")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Say what would change; change "
                                                          "nothing")]
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def on_platform(work: Callable[[Platform], Awaitable[_T]],
                cfg: Settings | None = None) -> _T:
    """Run ``work`` on a platform built from the settings (closed afterwards), once the
    database answers and is migrated."""
    import asyncio

    from infra_mind.kit.migrate import state
    from infra_mind.kit.platform import Platform
    from infra_mind.ops.workflows import redacted

    cfg = cfg or settings_or_exit()
    try:
        migrations = state(cfg.database_url)
    except Exception as exc:  # unreachable, or not a database
        raise CliError(f"cannot reach {redacted(cfg.database_url)}: {type(exc).__name__}: "
                       f"{exc}") from None
    if migrations.pending:
        raise CliError(f"the database is at migration {migrations.current or 'none'}, this "
                       f"version needs {migrations.head}: run `infra-mind migrate` first")

    async def run() -> _T:
        from infra_mind.kit.pubsub import close_channels

        platform = Platform.build(cfg)
        try:
            return await work(platform)
        finally:
            await close_channels(platform)  # what the work announced is sent before exit
            await platform.close()

    return asyncio.run(run())


def parse_duration(text: str) -> int:
    """Seconds of ``90``, ``90s``, ``30m``, ``2h`` or ``1d``."""
    found = _DURATION.match(text)
    if found is None or int(found[1]) == 0:
        raise CliError(f"--older-than: {text!r} is not a duration such as 90s, 30m, 2h or 1d",
                       ExitCode.USAGE)
    return int(found[1]) * _UNIT_S[found[2]]


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def cleanup_old_data(
    days: Annotated[int | None, typer.Option(
        min=1, max=36_500, help="Delete what is older than this many days (default: "
                                "RETENTION_DAYS, 90)", show_default=False)] = None,
    audit_days: Annotated[int | None, typer.Option(
        min=1, max=36_500, help="Audit events are kept this long (default: 365, or --days "
                                "when longer)", show_default=False)] = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Data retention: old result versions (the latest of each assessment is kept), chat
    conversations, Idempotency-Key records, expired or revoked refresh tokens, and audit
    events past --audit-days; never anything of a queued or running assessment."""
    from infra_mind.ops.maintenance import AUDIT_DAYS, CLEANUP_ACTION, cleanup_old_data

    cfg = settings_or_exit()
    days = days or cfg.retention_days
    keep_audit = audit_days or max(AUDIT_DAYS, days)
    report = on_platform(lambda p: cleanup_old_data(p, days=days, audit_days=keep_audit,
                                                    dry_run=dry_run), cfg)
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"retention: {days} days (audit events: {keep_audit} days)"
               + (" [dry run: nothing changed]" if dry_run else ""))
    for kind in report.kinds:
        more = f"; {kind.cascaded} messages with them" if kind.cascaded else ""
        typer.echo(f"  {kind.kind:<17} {kind.rows:>7}  {kind.describe}, before "
                   f"{kind.cutoff:%Y-%m-%d %H:%M} UTC{more}")
    done = f"{verb} {report.total} rows"
    typer.echo(done if dry_run else
               f"{done}; recorded as audit event {CLEANUP_ACTION} {report.audit_event_id}")


def warm_cache(
    days: Annotated[int, typer.Option(min=1, max=365, help="Assessments changed within "
                                                           "this many days")] = 7,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many "
                                                               "results")] = 200,
) -> None:
    """Load the price catalog (checking the snapshot) and put the latest results of the
    most recently active assessments into the shared result cache (Redis)."""
    from infra_mind.ops.maintenance import warm_cache as warm

    cfg = settings_or_exit()
    shared = bool(cfg.redis_url)
    report = on_platform(lambda p: warm(p, days=days, limit=limit, results=shared), cfg)
    typer.echo(f"catalog: {report.catalog_rows} prices from {report.catalog_source} loaded "
               f"and indexed in {report.catalog_ms:.0f} ms (each process loads it once; "
               "lookups are dictionary reads)")
    if not shared:
        typer.echo("results: skipped: no REDIS_URL, so each API process caches results in "
                   "its own memory on first read and there is no shared cache to warm")
        return
    typer.echo(f"results: {report.results_considered} assessments changed in the last "
               f"{days} days: {report.results_cached} cached now, {report.results_already} "
               f"were already, in {report.results_ms:.0f} ms")


def check_agent_state(as_json: JsonOpt = False) -> None:
    """Running assessments: the agents at work, age, attempts, worker and the checkpoint
    their agents saved so far; exit 1 when one is silent past JOB_TIMEOUT_S."""
    from infra_mind.ops.workflows import agent_states

    report = on_platform(agent_states)
    stuck = [s for s in report.running if s.stuck]
    if as_json:
        typer.echo(json.dumps({
            "checkpoint_store": report.checkpoint_store, "queued": report.queued,
            "checkpoints_visible": report.checkpoints_visible,
            "running": [{**vars(s.run), "age_s": s.age_s, "silent_s": s.silent_s,
                         "stuck": s.stuck, "thread_id": s.thread_id,
                         "checkpoint": s.checkpoint} for s in report.running]},
            indent=2, default=_json_value))
    else:
        typer.echo(f"{len(report.running)} running, {report.queued} queued; checkpoints in "
                   f"{report.checkpoint_store}")
        for s in report.running:
            typer.echo(f"  {s.run.id}  {s.run.current_step or '-'}  {s.run.progress}%  age "
                       f"{_age(s.age_s)}  silent {_age(s.silent_s)}  attempt "
                       f"{s.run.attempts}  worker {s.run.worker_id or '-'}"
                       + ("  STUCK" if s.stuck else ""))
            typer.echo(f"    checkpoint {s.thread_id}: " + _checkpoint_line(s.checkpoint,
                                                                          report))
    if stuck:
        raise typer.Exit(ExitCode.FAILURE)


def _json_value(value: Any) -> str:
    """Times in ISO 8601 UTC (SQLite hands them back without a zone)."""
    from infra_mind.services.admin import aware

    return aware(value).isoformat() if isinstance(value, datetime) else str(value)


def _checkpoint_line(checkpoint: dict[str, Any] | None, report: Any) -> str:
    if not report.checkpoints_visible:
        return "not visible here (kept in the worker's memory)"
    if checkpoint is None:
        return "none yet (no agent has finished)"
    done = ", ".join(checkpoint["agents_done"]) or "none"
    return f"step {checkpoint['step']}, saved {checkpoint['saved_at']}; agents done: {done}"


def clear_stuck_workflows(
    older_than: Annotated[str, typer.Option("--older-than", help="Running with no "
                                            "heartbeat, or queued, for longer than this "
                                            "(90s, 30m, 2h, 1d)")] = "30m",
    requeue: Annotated[bool, typer.Option("--requeue", help="Put them back in the queue "
                                                           "and send them again")] = False,
    fail: Annotated[bool, typer.Option("--fail", help="Mark them failed, with the reason")
                    ] = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Runs stuck longer than --older-than: listed; with --requeue sent again (they resume
    from their checkpoint), with --fail marked failed. Without either, nothing changes."""
    from infra_mind.ops.workflows import clear_stuck

    if requeue and fail:
        raise CliError("--requeue and --fail exclude each other", ExitCode.USAGE)
    older_than_s = parse_duration(older_than)
    action = "requeue" if requeue else "fail" if fail else "list"
    cfg = settings_or_exit()

    async def work(platform: Platform) -> Any:
        if action != "requeue" or dry_run or not cfg.redis_url:
            return await clear_stuck(platform, older_than_s=older_than_s, action=action,
                                     dry_run=dry_run)
        from infra_mind.worker.queue import StreamQueue

        stream = StreamQueue(cfg.redis_url)
        await stream.start(platform)
        try:
            return await clear_stuck(platform, older_than_s=older_than_s, action=action,
                                     send=stream.send)
        finally:
            await stream.stop()

    report = on_platform(work, cfg)
    typer.echo(f"{len(report.runs)} stuck for more than {older_than_s} s"
               + (" [dry run: nothing changed]" if dry_run and action != "list" else ""))
    for stuck in report.runs:
        run = stuck.run
        silent = "silent" if run.status == "running" else "waiting"
        outcome = "" if action == "list" or dry_run else f"  -> {stuck.outcome}"
        typer.echo(f"  {run.id}  {run.status:<7} {silent} {_age(stuck.silent_s)}  "
                   f"{run.current_step or '-'}  attempt {run.attempts}  worker "
                   f"{run.worker_id or '-'}{outcome}")
    if action == "list" and report.runs:
        typer.echo("nothing changed: add --requeue or --fail")
    elif action == "requeue" and not dry_run:
        done = sum(1 for s in report.runs if s.outcome == "requeued")
        typer.echo(f"requeued {done}; " + (f"sent {report.sent} to the task stream"
                                             if cfg.redis_url else
                                             "no REDIS_URL: the API process's sweeper sends "
                                             "them at its next pass"))
    elif action == "fail" and not dry_run:
        done = sum(1 for s in report.runs if s.outcome == "failed")
        typer.echo(f"failed {done}")
