"""The ``infra-mind`` command line.

Every failure a user can cause prints one line on stderr and exits with a code
from ``ExitCode``; no traceback reaches the terminal.
"""

from __future__ import annotations

import os

import typer

try:  # typer 0.2x vendors click and raises its own copies of click's exceptions
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - typer releases that depend on click itself
    from click.exceptions import NoArgsIsHelpError, UsageError

from infra_mind import __version__
from infra_mind.cli import advise as advise_cli
from infra_mind.cli import assess as assess_cli
from infra_mind.cli import catalog as catalog_cli
from infra_mind.cli import ops_backup as ops_backup_cli
from infra_mind.cli import ops_config as ops_config_cli
from infra_mind.cli import ops_db as ops_db_cli
from infra_mind.cli import ops_health as ops_health_cli
from infra_mind.cli import ops_maintenance as ops_maintenance_cli
from infra_mind.cli import ops_security as ops_security_cli
from infra_mind.cli import ops_smoke as ops_smoke_cli
from infra_mind.cli import platform as platform_cli
from infra_mind.cli import report as report_cli
from infra_mind.cli.errors import CliError, ExitCode

app = typer.Typer(
    name="infra-mind",
    help="Infra Mind: priced, explainable cloud architectures from business requirements.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(catalog_cli.app, name="catalog")
app.command("assess")(assess_cli.assess)
app.command("schema")(assess_cli.schema)
app.command("advise")(advise_cli.advise)
app.command("report")(report_cli.report)
app.command("serve")(platform_cli.serve)
app.command("worker")(platform_cli.worker)
app.command("migrate")(platform_cli.migrate)
app.add_typer(ops_backup_cli.backup_app, name="backup")
app.command("restore")(ops_backup_cli.restore)
app.add_typer(ops_backup_cli.drill_app, name="drill")
app.command("validate-data")(ops_backup_cli.validate_data)
app.command("validate-config")(ops_config_cli.validate_config)
app.command("health-check")(ops_health_cli.health_check)
app.command("check-llm")(ops_health_cli.check_llm)
app.command("check-api-rates")(ops_health_cli.check_api_rates)
app.command("cleanup-old-data")(ops_maintenance_cli.cleanup_old_data)
app.command("warm-cache")(ops_maintenance_cli.warm_cache)
app.command("check-agent-state")(ops_maintenance_cli.check_agent_state)
app.command("clear-stuck-workflows")(ops_maintenance_cli.clear_stuck_workflows)
app.command("rotate-encryption-key")(ops_security_cli.rotate_encryption_key)
app.add_typer(ops_security_cli.admin_app, name="admin")
app.command("smoke")(ops_smoke_cli.smoke)
app.command("db-status")(ops_db_cli.db_status)
app.command("db-maintain")(ops_db_cli.db_maintain)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main(argv: list[str] | None = None) -> int:
    """Run the app on ``argv`` and return the exit code; every error becomes one line."""
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
