"""``infra-mind smoke --url URL``: the post-deploy smoke test (``infra_mind.ops.smoke``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from infra_mind.cli.errors import CliError, ExitCode

if TYPE_CHECKING:
    from infra_mind.ops.smoke import Step

#: The standing account's password, for ``--email`` (never an option: it would be in the
#: process list and the shell's history).
PASSWORD_ENV = "INFRA_MIND_SMOKE_PASSWORD"


def _line(step: Step) -> None:
    typer.echo(f"{'ok' if step.ok else 'FAIL':>4}  {step.name:<9} {step.seconds:7.2f} s  "
               f"{step.note}")


def smoke(
    url: Annotated[str, typer.Option("--url", help="The API's base URL, e.g. "
                                     "https://api.infra-mind.com", show_default=False)],
    wait: Annotated[float, typer.Option(
        "--wait", min=1, max=3600, help="Longest wait for the run to complete, in seconds")
    ] = 300.0,
    request_timeout: Annotated[float, typer.Option(
        "--request-timeout", min=1, max=600, help="Longest wait for one HTTP answer, in "
                                                  "seconds")] = 30.0,
    email: Annotated[str | None, typer.Option(
        "--email", help=f"Use this standing account (password in ${PASSWORD_ENV}) instead "
                        "of registering a new one", show_default=False)] = None,
) -> None:
    """Register a throwaway account, create and run an assessment, wait for it, fetch its
    executive report, delete it and sign out; one line per step with its duration. Exit 1
    naming the step that failed and why."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"--url must be an http:// or https:// URL with a host, not {url!r}",
                       ExitCode.USAGE)
    password = None
    if email is not None:
        password = os.environ.get(PASSWORD_ENV)
        if not password:
            raise CliError(f"--email needs the account's password in ${PASSWORD_ENV}",
                           ExitCode.USAGE)
    from infra_mind.ops.smoke import run_smoke

    typer.echo(f"smoke test of {url.rstrip('/')}")
    report = run_smoke(url, wait_s=wait, request_timeout_s=request_timeout, email=email,
                       password=password, echo=_line)
    for done in report.cleanup:
        typer.echo(f"clean-up: {done}")
    for thing in report.left_behind:
        typer.echo(f"left behind: {thing}")
    if not report.passed:
        raise CliError(f"smoke failed at {report.failed_step}: {report.reason}")
    typer.echo(f"smoke passed in {report.seconds:.1f} s ({len(report.steps)} steps)")
