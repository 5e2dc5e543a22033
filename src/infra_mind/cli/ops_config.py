"""``infra-mind validate-config``: the configuration files and the environment, checked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from infra_mind.cli.errors import CliError


def validate_config(
    config_dir: Annotated[Path | None, typer.Option(
        "--config-dir", help="Directory holding production.yaml, agents.yaml and "
                             "integrations.yaml (default: $CONFIG_DIR, else ./config); a "
                             "directory named here or by CONFIG_DIR must hold all three",
        show_default=False)] = None,
) -> None:
    """Check the configuration files against their schemas and the environment's settings;
    one line per problem (file and key), exit 1 if there is any."""
    from infra_mind.ops.validate import validate_config as validate

    result = validate(config_dir)
    if result.problems:
        for problem in result.problems[:-1]:
            typer.echo(f"error: {problem}", err=True)
        raise CliError(result.problems[-1])
    typer.echo(result.summary())
