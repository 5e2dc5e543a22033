"""``infra-mind advise``: the whole agent graph, in this process, on a requirements file."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from infra_mind.cli.errors import CliError, ExitCode


class AdviseFormat(StrEnum):
    JSON = "json"
    MD = "md"


def advise(
    file: Annotated[Path, typer.Argument(help="Requirements file (YAML or JSON)",
                                         show_default=False)],
    output_format: Annotated[AdviseFormat, typer.Option("--format", "-f",
                                                        help="Output format")
                             ] = AdviseFormat.MD,
    quiet: Annotated[bool, typer.Option("--quiet", "-q",
                                        help="No progress lines on stderr")] = False,
) -> None:
    """Assess FILE and have the agents write about it (a model when one is configured,
    else the offline writer); prints the result with `narrative` and `llm_usage`."""
    advice = advice_for_file(file, progress=not quiet)
    if output_format is AdviseFormat.JSON:
        typer.echo(json.dumps(advice, indent=2))
    else:
        from infra_mind.reports.render import render_report

        typer.echo(render_report(advice, "executive", "md"), nl=False)
        typer.echo()
        typer.echo(render_report(advice, "technical", "md"), nl=False)


def advice_for_file(file: Path, *, progress: bool = False) -> dict[str, Any]:
    """Load requirements, run the agents, return the advice; errors as one-line CliErrors."""
    import asyncio

    from infra_mind.agents.config import AgentsConfigError
    from infra_mind.agents.runtime import AgentRuntime
    from infra_mind.catalog.model import CatalogError
    from infra_mind.config import CatalogSettings
    from infra_mind.engine.load import RequirementsError, load_requirements

    try:
        req = load_requirements(file)
    except RequirementsError as exc:
        for problem in exc.problems[:-1]:
            typer.echo(f"error: {problem}", err=True)
        raise CliError(exc.problems[-1], ExitCode.USAGE) from None
    try:
        runtime = AgentRuntime(catalog=CatalogSettings().infra_mind_catalog)
    except AgentsConfigError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    started = time.monotonic()

    async def show(agent: str, event: str) -> None:
        if progress:
            typer.echo(f"[{time.monotonic() - started:5.1f}s] {agent} {event}", err=True)

    async def run() -> dict[str, Any]:
        try:
            return await runtime.advise(req, progress=show)
        finally:
            await runtime.aclose()

    if progress:
        typer.echo(f"agents: {runtime.describe()}", err=True)
    try:
        return asyncio.run(run())
    except CatalogError as exc:
        raise CliError(str(exc)) from None
