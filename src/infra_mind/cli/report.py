"""``infra-mind report``: an advice (or an engine result) as a report file."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from infra_mind.cli.advise import advice_for_file
from infra_mind.cli.errors import CliError, ExitCode


def report(
    file: Annotated[Path, typer.Argument(
        help="Requirements (YAML/JSON, run through the agents) or an advice/result JSON "
             "(from `infra-mind advise|assess --format json`)",
        show_default=False)],
    kind: Annotated[str, typer.Option(
        "--kind", "-k", help="executive, technical or compliance", show_default=False)],
    output_format: Annotated[str, typer.Option("--format", "-f",
                                               help="md, html or json")] = "md",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write here (atomically) instead of to stdout",
        show_default=False)] = None,
) -> None:
    """Write the executive, technical or compliance report of an assessment."""
    from infra_mind.reports.render import parse_format, parse_kind, render_report

    try:
        parse_kind(kind)
        parse_format(output_format)
    except ValueError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    advice = load_advice(file)
    try:
        text = render_report(advice, kind, output_format)
    except ValueError as exc:
        raise CliError(f"{file}: {exc}", ExitCode.USAGE) from None
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_atomically(output, text)


def load_advice(file: Path) -> dict[str, Any]:
    """The advice a report is made of, from FILE.

    The one place that decides what FILE may be: an advice or an engine result as JSON
    (``assess --format json``, ``advise --format json``), or a requirements file (YAML, or
    JSON with ``workloads`` and no ``options``), which is run through the agents first.
    """
    if file.suffix.lower() in (".yaml", ".yml"):
        return advice_for_file(file, progress=True)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"{file}: no such file", ExitCode.USAGE) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{file}: cannot read ({_reason(exc)})", ExitCode.USAGE) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{file}: not valid JSON: line {exc.lineno}, column {exc.colno}: "
                       f"{exc.msg}", ExitCode.USAGE) from None
    if not isinstance(data, dict):
        raise CliError(f"{file}: not an assessment result: expected a JSON object",
                       ExitCode.USAGE)
    if "workloads" in data and "options" not in data:  # requirements, not a result
        return advice_for_file(file, progress=True)
    return data


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``: a
    reader sees the old file or the whole new one, never half of it."""
    directory = path.parent
    try:
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise CliError(f"{path}: cannot write ({_reason(exc)})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, _mode(path))
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise CliError(f"{path}: cannot write ({_reason(exc)})") from None


def _mode(path: Path) -> int:
    """Keep an existing file's permissions; a new report is readable by all (mkstemp
    makes it owner-only)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o644


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__
