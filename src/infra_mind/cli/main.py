"""The ``infra-mind`` command line.

Every failure a user can cause prints one line on stderr and exits with a code
from ``ExitCode``; no traceback reaches the terminal.

A run imports the module of the command it names and no other (``COMMANDS`` says where
each command lives): ``assess`` does not pay for the web service, the database or the
agents. An argument line that names no command (``--help``, nothing, a misspelt name)
gets every command, so the listing and click's own "No such command" are unchanged.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from importlib import import_module
from typing import Any

import typer

try:  # typer 0.2x vendors click and raises its own copies of click's exceptions
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - typer releases that depend on click itself
    from click.exceptions import NoArgsIsHelpError, UsageError

from infra_mind import __version__
from infra_mind.cli.errors import CliError, ExitCode

#: Every command but ``version``, in ``--help`` order: (name, module in ``infra_mind.cli``,
#: the attribute there). An attribute that is a ``typer.Typer`` is a group of commands.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("catalog", "catalog", "app"),
    ("assess", "assess", "assess"),
    ("schema", "assess", "schema"),
    ("advise", "advise", "advise"),
    ("report", "report", "report"),
    ("serve", "platform", "serve"),
    ("worker", "platform", "worker"),
    ("migrate", "platform", "migrate"),
    ("backup", "ops_backup", "backup_app"),
    ("restore", "ops_backup", "restore"),
    ("drill", "ops_backup", "drill_app"),
    ("validate-data", "ops_backup", "validate_data"),
    ("validate-config", "ops_config", "validate_config"),
    ("health-check", "ops_health", "health_check"),
    ("check-llm", "ops_health", "check_llm"),
    ("check-api-rates", "ops_health", "check_api_rates"),
    ("cleanup-old-data", "ops_maintenance", "cleanup_old_data"),
    ("warm-cache", "ops_maintenance", "warm_cache"),
    ("check-agent-state", "ops_maintenance", "check_agent_state"),
    ("clear-stuck-workflows", "ops_maintenance", "clear_stuck_workflows"),
    ("rotate-encryption-key", "ops_security", "rotate_encryption_key"),
    ("admin", "ops_security", "admin_app"),
    ("smoke", "ops_smoke", "smoke"),
    ("db-status", "ops_db", "db_status"),
    ("db-maintain", "ops_db", "db_maintain"),
)
_NAMES = frozenset(name for name, _, _ in COMMANDS)


def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def build_app(only: str | None = None) -> typer.Typer:
    """The app with every command, or with the command ``only`` names (and ``version``,
    so that it stays a group: typer turns an app of one command into that command)."""
    app = typer.Typer(
        name="infra-mind",
        help="Infra Mind: priced, explainable cloud architectures from business requirements.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    for name, module, attribute in COMMANDS:
        if only is not None and name != only:
            continue
        target = getattr(import_module(f"infra_mind.cli.{module}"), attribute)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)
    app.command()(version)
    return app


@cache
def _full_app() -> typer.Typer:
    return build_app()


def __getattr__(name: str) -> Any:
    # ``app``: every command (tests and tools list them); built on first use, so that a run
    # of one command never imports the others
    if name == "app":
        return _full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """Run the app on ``argv`` and return the exit code; every error becomes one line."""
    first = next(iter(sys.argv[1:] if argv is None else argv), None)
    # the root takes no option but --help, so a first argument that names a command is
    # the command click will run
    app = build_app(first) if first in _NAMES else _full_app()
    try:
        result = app(args=argv, prog_name="infra-mind", standalone_mode=False)
    except CliError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.code
    except NoArgsIsHelpError:
        return ExitCode.USAGE
    except UsageError as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        return ExitCode.USAGE
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return ExitCode.FAILURE
    except typer.TyperException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("INFRA_MIND_DEBUG"):
            raise
        typer.echo(f"error: internal error ({type(exc).__name__}: {exc}); "
                   "set INFRA_MIND_DEBUG=1 for the traceback", err=True)
        return ExitCode.FAILURE
    return result if isinstance(result, int) else ExitCode.OK


def run() -> None:
    """Console-script entry point."""
    raise SystemExit(int(main()))
