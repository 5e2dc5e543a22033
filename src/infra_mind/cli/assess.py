"""``infra-mind assess`` and ``infra-mind schema``."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra_mind.catalog.model import CatalogError
from infra_mind.cli.errors import CliError, ExitCode
from infra_mind.engine.load import RequirementsError, load_requirements


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    MD = "md"


def assess(
    file: Annotated[Path, typer.Argument(help="Requirements file (YAML or JSON)",
                                         show_default=False)],
    output_format: Annotated[Format, typer.Option("--format", "-f", help="Output format")
                             ] = Format.TABLE,
) -> None:
    """Price explainable architectures on every allowed cloud for a requirements file."""
    from infra_mind.engine.assess import assess as run_assess
    from infra_mind.reports.brief import markdown_brief

    try:
        req = load_requirements(file)
    except RequirementsError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    try:
        result = run_assess(req)
    except CatalogError as exc:
        raise CliError(str(exc)) from None
    if output_format is Format.JSON:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
    elif output_format is Format.MD:
        typer.echo(markdown_brief(result), nl=False)
    else:
        _table(result)


def schema() -> None:
    """Print the JSON Schema of the requirements file."""
    from infra_mind.engine.requirements import Requirements

    typer.echo(json.dumps(Requirements.model_json_schema(), indent=2))


def _table(result) -> None:
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    rec = result.recommended
    console.print(f"[bold]{result.requirements.name}[/bold]")
    options = Table(title="Options, best first")
    for col in ("provider", "region", "USD/month", "gaps", "constraints", "unpriced"):
        options.add_column(col, justify="right" if col in ("USD/month", "gaps") else "left")
    for o in result.options:
        options.add_row(o.provider, f"{o.region} ({o.region_name})", f"{o.monthly_cost_usd:,.2f}",
                        str(o.compliance_gaps), "met" if o.constraints_met else
                        "; ".join(o.violations), str(len(o.unpriced)))
    console.print(options)
    if rec is None:
        console.print("No option could be priced.")
    else:
        console.print(f"[bold]Recommended: {rec.provider} {rec.region}, "
                      f"{rec.monthly_cost_usd:,.2f} USD/month[/bold]")
        for reason in rec.reasons:
            console.print(f"  - {reason}")
        chosen = next(o for o in result.options
                      if o.provider == rec.provider and o.region == rec.region)
        items = Table(title=f"{rec.provider} {rec.region} line items")
        for col in ("workload", "component", "sku", "quantity", "USD/unit", "USD/month"):
            items.add_column(col, justify="right" if col in ("quantity", "USD/unit",
                                                             "USD/month") else "left")
        for li in chosen.line_items:
            items.add_row(li.workload, li.component, li.sku, f"{li.quantity:,.1f} {li.unit}",
                          f"{li.unit_price_usd:g}", f"{li.monthly_usd:,.2f}")
        console.print(items)
    b = result.budget
    if b.monthly_budget_usd is not None:
        console.print(f"Budget {b.monthly_budget_usd:,.2f} USD/month: "
                      f"{'within' if b.within_budget else 'OVER'} (difference {b.gap_usd:,.2f})")
    if result.projection:
        last = result.projection[-1]
        console.print(f"Projection: month {last.month} {last.monthly_cost_usd:,.2f} USD "
                      f"(P10 {last.p10:,.2f}, P90 {last.p90:,.2f})")
    if result.compliance:
        gaps = sum(c.status == "gap" for c in result.compliance)
        console.print(f"Compliance: {sum(c.status == 'met' for c in result.compliance)} met, "
                      f"{gaps} gaps, {sum(c.status == 'customer' for c in result.compliance)} "
                      "customer")
    for p in result.review:
        console.print(f"Review {p.pillar}: {p.risk}")
    for w in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    console.print(f"Oldest price used: {result.catalog_as_of}")
