"""``infra-mind serve``, ``infra-mind worker`` and ``infra-mind migrate``."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer

from infra_mind.cli.errors import CliError, ExitCode, settings_or_exit


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def migrate(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would run; change "
                                                            "nothing")] = False,
) -> None:
    """Apply database migrations (SQLite or PostgreSQL, from DATABASE_URL)."""
    from infra_mind.kit.migrate import state, upgrade

    cfg = settings_or_exit()
    try:
        before = state(cfg.database_url)
    except Exception as exc:  # the database is unreachable or not a database
        raise CliError(f"cannot reach {_redact(cfg.database_url)}: {type(exc).__name__}: "
                       f"{exc}") from None
    typer.echo(f"database {_redact(cfg.database_url)}: at {before.current or 'empty'}, "
               f"head {before.head}")
    if not before.pending:
        typer.echo("up to date; nothing to apply")
        return
    typer.echo(f"pending: {', '.join(before.pending)}")
    if dry_run:
        typer.echo("dry run: nothing applied")
        return
    upgrade(cfg.database_url)
    now = state(cfg.database_url).current
    typer.echo(f"applied {len(before.pending)} migration(s); now at {now}")


def _agents_mode() -> str:
    """What the agents will use, from config/agents.yaml and the environment; a broken
    configuration stops the command here with one line, not a traceback at startup."""
    from infra_mind.agents.config import AgentsConfigError, load_agents_config
    from infra_mind.agents.provider_keys import configured_names

    try:
        # the names alone: a served app (one worker: this process) loads httpx on first use
        providers = configured_names(load_agents_config())
    except AgentsConfigError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    return ", ".join(providers) + " then offline writer" if providers else "offline writer"


def serve(
    host: Annotated[str | None, typer.Option(
        help="Address to listen on (default: SERVER_HOST, else 127.0.0.1)",
        show_default=False)] = None,
    port: Annotated[int | None, typer.Option(
        min=1, max=65535, help="Port (default: SERVER_PORT, else 8000)",
        show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="Worker processes (default: SERVER_WORKERS, else 1)",
        show_default=False)] = None,
) -> None:
    """Run the web service (migrations are applied first)."""
    import uvicorn

    from infra_mind.kit.migrate import MigrationError, upgrade_in_child

    cfg = settings_or_exit()
    if os.environ.get("FORWARDED_ALLOW_IPS") is not None:
        # uvicorn's own setting is not read (the app reads X-Forwarded-* itself): a value
        # left over from an older deployment must not silently stop meaning anything
        raise CliError("FORWARDED_ALLOW_IPS is not read: set TRUSTED_PROXIES to the reverse "
                       "proxy's addresses or networks instead (never '*' in production)",
                       ExitCode.USAGE)
    # the options win over the settings (environment, then production.yaml)
    host = host or cfg.server_host
    port = port or cfg.server_port
    workers = workers or cfg.server_workers
    agents = _agents_mode()
    try:
        # in a child process: this one goes on to serve, and need not keep Alembic
        upgrade_in_child(cfg.database_url)
    except MigrationError as exc:
        raise CliError(f"cannot migrate {_redact(cfg.database_url)}: {exc}") from None
    from infra_mind.observability.logging import UVICORN_LOG_CONFIG, configure_logging, event

    configure_logging(cfg.log_level)
    mode = ("Redis broker, run `infra-mind worker`" if cfg.redis_url
            else "runs in a run process, started on demand" if cfg.run_process
            else "runs on the API's event loop")
    from infra_mind.api.metrics_port import metrics_on_api_port

    metrics = (f"metrics on port {cfg.metrics_port}" + (" and up" if workers > 1 else "")
               if cfg.metrics_port else "metrics on /metrics" if metrics_on_api_port(cfg)
               else "metrics not served (METRICS_PORT unset)")
    proxies = ", ".join(cfg.trusted_proxies) or "none"
    # a JSON line like every other line of the process, so a log stack parses them all
    event(logging.getLogger("infra_mind.serve"), "serving",
          message=f"Infra Mind on http://{host}:{port} ({cfg.environment}; database "
                  f"{_redact(cfg.database_url)}; {mode}; agents: {agents}; {metrics}; "
                  f"X-Forwarded-For believed from: {proxies})")
    # the app's processes read their settings anew: each must know it is not alone (an
    # event stream then re-reads what another process's in-process runs announce in
    # memory only, ``services.events``)
    os.environ["SERVER_WORKERS"] = str(workers)
    # proxy_headers off: the app applies TRUSTED_PROXIES itself (api.app), once
    uvicorn.run("infra_mind.api.main:app", host=host, port=port, workers=workers,
                log_level=cfg.log_level.lower(), access_log=False, proxy_headers=False,
                timeout_keep_alive=cfg.server_keep_alive_s, log_config=UVICORN_LOG_CONFIG)


def worker(
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes")] = 1,
) -> None:
    """Run task workers (needs REDIS_URL: without it the API runs tasks in-process)."""
    cfg = settings_or_exit()
    _agents_mode()
    if not cfg.redis_url:
        raise CliError("infra-mind worker needs REDIS_URL; without it `infra-mind serve` runs "
                       "tasks in-process", ExitCode.USAGE)
    from infra_mind.worker.queue import MAX_CONCURRENT_RUNS

    # --max-prefetch 0: taskiq asks the broker for a message only when one of the
    # MAX_CONCURRENT_RUNS slots is free, and the broker then reads one (worker.broker), so
    # a process holds only what it runs: a crash strands nothing, and workers share evenly
    # infra_mind.worker: taskiq's worker command, logging JSON lines in all its processes
    command = [sys.executable, "-m", "infra_mind.worker", "infra_mind.worker.broker:broker",
               "infra_mind.worker.tasks", "--workers", str(workers),
               "--max-async-tasks", str(MAX_CONCURRENT_RUNS), "--max-prefetch", "0"]
    # exec, not a child: a supervisor's SIGTERM must reach taskiq itself, or its workers
    # are left running as orphans that keep reading the queue
    os.execv(sys.executable, command)
