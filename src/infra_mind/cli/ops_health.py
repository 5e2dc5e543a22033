"""``infra-mind health-check``, ``check-llm`` and ``check-api-rates``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from infra_mind.cli.errors import CliError, ExitCode, settings_or_exit

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON document")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=0.1, max=300,
                                           help="Seconds each check may take")]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def health_check(
    url: Annotated[str, typer.Option(help="The API to ask")] = "http://127.0.0.1:8000",
    as_json: JsonOpt = False,
    timeout: TimeoutOpt = 5.0,
    catalog_max_age_days: Annotated[int | None, typer.Option(
        min=1, help="Warn when the oldest price the engine designs with is older than this "
                    "many days (default: the setting CATALOG_MAX_AGE_DAYS, 400)",
        show_default=False)] = None,
) -> None:
    """Check the API (liveness, readiness), database and migrations, Redis, the broker,
    workers, LLM providers and the catalog's age; exit 0 when all are ok or only warn
    (a stale catalog is a warning), else 1."""
    import asyncio

    from infra_mind.ops.health import health_report, overall

    checks = asyncio.run(health_report(settings_or_exit(), url, timeout,
                                       catalog_max_age_days=catalog_max_age_days))
    status = overall(checks)
    word = {"ok": "healthy", "warn": "warn", "degraded": "degraded", "down": "down"}[status]
    if as_json:
        typer.echo(json.dumps({"status": word, "url": url, "checked_at": _now(),
                               "checks": [c.to_dict() for c in checks]}, indent=2))
    else:
        for check in checks:
            typer.echo(check.line())
        failing = [c.name for c in checks if c.status not in ("ok", "warn")]
        warned = [c.name for c in checks if c.status == "warn"]
        line = word + (f": {', '.join(failing)}" if failing else "")
        if warned and failing:
            line += f"; warn: {', '.join(warned)}"
        elif warned:
            line += f": {', '.join(warned)}"
        typer.echo(line)
    if status not in ("ok", "warn"):
        raise typer.Exit(ExitCode.FAILURE)


def check_llm(
    as_json: JsonOpt = False,
    timeout: TimeoutOpt = 10.0,
) -> None:
    """Each configured LLM provider: reachable, key accepted, latency of a model-list
    request (no tokens spent), and each process's circuit breaker; exit 1 if one fails."""
    import asyncio

    from infra_mind.agents.config import AgentsConfigError
    from infra_mind.ops.health import circuit_line, llm_status

    settings = settings_or_exit()
    try:
        report = asyncio.run(llm_status(settings, timeout))
    except AgentsConfigError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    if as_json:
        typer.echo(json.dumps({"checked_at": _now(), "providers": report,
                               "offline_writer": True}, indent=2))
    elif not report:
        typer.echo("no LLM provider configured: the offline writer writes everything")
    for row in [] if as_json else report:
        typer.echo(f"{row['status']:<9} {row['provider']:<10} {row['base_url']}: "
                   f"{row['detail']}; {circuit_line(row['circuits'], bool(settings.redis_url))}")
    if any(row["status"] != "ok" for row in report):
        raise typer.Exit(ExitCode.FAILURE)


def check_api_rates(as_json: JsonOpt = False) -> None:
    """Calls, 429s and the last Retry-After per outside API (cloud price lists, LLM
    providers) over the last hour, from every process; exit 1 while one is rate limited
    or over its budget."""
    import asyncio

    from infra_mind.ops.health import api_rates, rate_line

    settings = settings_or_exit()
    rows = asyncio.run(api_rates(settings))
    if as_json:
        typer.echo(json.dumps({"checked_at": _now(), "shared": bool(settings.redis_url),
                               "apis": rows}, indent=2))
    else:
        if not settings.redis_url:
            typer.echo("note: REDIS_URL is not set, so each process keeps its counts in its "
                       "own memory and only this process's calls are shown")
        for row in rows:
            typer.echo(rate_line(row))
    if any(row["state"] in ("limited", "over budget") for row in rows):
        raise typer.Exit(ExitCode.FAILURE)
