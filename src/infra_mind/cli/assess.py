"""``infra-mind assess`` and ``infra-mind schema``."""

from __future__ import annotations

import atexit
import gc
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from infra_mind.cli.catalog import CatalogOpt
from infra_mind.cli.errors import CliError, ExitCode


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    MD = "md"


def assess(
    file: Annotated[Path, typer.Argument(help="Requirements file (YAML or JSON)",
                                         show_default=False)],
    output_format: Annotated[Format, typer.Option("--format", "-f", help="Output format")
                             ] = Format.TABLE,
    catalog: CatalogOpt = None,
) -> None:
    """Price explainable architectures on every allowed cloud for a requirements file."""
    from infra_mind.catalog.snapshot import gc_paused

    # the collector paused: nearly every object the engine's imports and one assessment
    # make lives until the command ends, and walking them again every few hundred
    # allocations cost about 10 ms of a 0.6 s run
    with gc_paused():
        _assess(file, output_format, catalog)
        _kept_until_exit()


def _kept_until_exit() -> None:
    """Spare the collector the objects the command made: they live until the process ends.

    Left young, they were walked by the collections after the pause (about 15 ms) and by
    the full collection the interpreter runs at exit (about 30 ms), which found nothing to
    free. ``freeze`` then ``unfreeze`` moves every tracked object to the oldest generation
    without walking it (a caller running the command in-process keeps collecting them,
    in its full collections); a ``freeze`` at exit takes them out of the last one.
    """
    gc.freeze()
    gc.unfreeze()
    atexit.unregister(gc.freeze)  # once, however often the command runs in-process
    atexit.register(gc.freeze)


def _assess(file: Path, output_format: Format, catalog: Path | None) -> None:
    from infra_mind.catalog.model import CatalogError
    from infra_mind.engine.assess import assess as run_assess
    from infra_mind.engine.load import RequirementsError, load_requirements

    try:
        req = load_requirements(file)
    except RequirementsError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    try:
        result = run_assess(req, catalog)
    except CatalogError as exc:
        raise CliError(str(exc)) from None
    if output_format is Format.JSON:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
    elif output_format is Format.MD:
        from infra_mind.reports.brief import markdown_brief

        typer.echo(markdown_brief(result) + _price_dates_md(result), nl=False)
    else:
        _table(result)


def schema() -> None:
    """Print the JSON Schema of the requirements file."""
    from infra_mind.engine.requirements import Requirements

    typer.echo(json.dumps(Requirements.model_json_schema(), indent=2))


def _price_dates(option) -> str:
    """``2024-07-01 to 2026-11-28``: the dates of an option's oldest and newest prices."""
    dates = option.price_dates
    if dates is None:
        return ""
    return (str(dates.oldest) if dates.oldest == dates.newest
            else f"{dates.oldest} to {dates.newest}")


def _price_dates_md(result) -> str:
    """A Markdown paragraph: each option's price dates (the brief shows only the oldest)."""
    dated = [f"{o.provider} {o.region} {_price_dates(o)}" for o in result.options
             if o.price_dates is not None]
    return f"\n_Prices dated, per option: {'; '.join(dated)}._\n" if dated else ""


def _table(result) -> None:
    # rich's table only for this format (--format json and md print without it)
    from rich.console import Console
    from rich.table import Table

    from infra_mind.engine.difference import against_recommended
    from infra_mind.engine.money import (
        all_at_once,
        budget_position,
        marked_unit_price,
        outlook,
        usd,
    )

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    rec = result.recommended
    console.print(f"[bold]{result.requirements.name}[/bold]")
    # the columns in the order the ranking reads them: constraints, gaps, compared cost
    compared = any(o.compared_cost_usd not in (None, o.monthly_cost_usd)
                   for o in result.options)
    columns = ["rank", "provider", "region", "constraints", "gaps"]
    columns += ["compared cost"] if compared else []
    # with shares of the users, the average user's round trip (else the farthest's)
    rtt = "avg user RTT" if result.region_choice.user_shares else "user RTT"
    columns += ["monthly", "unpriced", rtt, "prices dated"]
    options = Table(title="Options, best first",
                    caption=(f"Ranked by {rec.ranking_rule}" if rec and rec.ranking_rule
                             else None))
    for col in columns:
        options.add_column(col, justify="right" if col in (
            "rank", "gaps", "compared cost", "monthly", "unpriced", rtt) else "left")
    for o in result.options:
        row = [str(o.rank or ""), o.provider, f"{o.region} ({o.region_name})",
               "met" if o.constraints_met else "; ".join(o.violations), str(o.compliance_gaps)]
        if compared:
            row.append(usd(o.compared_cost_usd) if o.compared_cost_usd is not None else "")
        row += [usd(o.monthly_cost_usd), str(len(o.unpriced)),
                "" if o.user_rtt_ms is None else
                "with the users" if o.user_rtt_ms == 0 else f"~{o.user_rtt_ms:g} ms"]
        row.append(_price_dates(o))
        options.add_row(*row)
    console.print(options)
    if rec is None:
        console.print("No option could be priced.")
    else:
        console.print(f"[bold]Recommended: {rec.provider} {rec.region}, "
                      f"{usd(rec.monthly_cost_usd)} a month[/bold]")
        for reason in rec.reasons:
            console.print(f"  - {reason}")
        if rec.alternatives:
            # where each other option's cost differs (as the reports and the web app say)
            console.print(f"Against {rec.provider} {rec.region}:")
        for a in rec.alternatives:
            console.print(f"  - {a.provider} {a.region}: {against_recommended(a)}")
        chosen = next(o for o in result.options
                      if o.provider == rec.provider and o.region == rec.region)
        items = Table(title=f"{rec.provider} {rec.region} line items")
        for col in ("workload", "component", "sku", "quantity", "unit price", "monthly"):
            items.add_column(col, justify="right" if col in ("quantity", "unit price",
                                                             "monthly") else "left")
        for li in chosen.line_items:
            items.add_row(li.workload, li.component, li.sku, f"{li.quantity:,.1f} {li.unit}",
                          marked_unit_price(li.unit_price_usd, li.price_basis),
                          usd(li.monthly_usd))
        console.print(items)
        if any(li.price_basis == "derived" for li in chosen.line_items):
            console.print("≈ derived from list prices by the rule in the line's note (JSON: "
                          "price_basis and note), not a list price")
    b = result.budget
    if b.monthly_budget_usd is not None:
        position = (f": {budget_position(rec.monthly_cost_usd, b.monthly_budget_usd)}"
                    if rec is not None else "")
        console.print(f"Budget {usd(b.monthly_budget_usd)} a month{position}")
        if b.passing_note:
            console.print(b.passing_note)
    if b.levers_note:
        console.print(b.levers_note)
    if b.levers:
        levers = Table(title="What would lower the cost (one requirement changed each)")
        horizon = result.requirements.business.horizon_months
        for col in ("change", "monthly", "saving", "budget", "gaps added", "gives up"):
            levers.add_column(col, justify="right" if col in ("monthly", "saving",
                                                              "gaps added") else "left")
        for lv in b.levers:
            levers.add_row(lv.change, usd(lv.monthly_cost_usd), usd(lv.saving_usd),
                           outlook(lv.over_budget_from_month, horizon),
                           str(lv.compliance_gaps_added), lv.gives_up)
        console.print(levers)
        if b.levers_together_usd is not None:
            console.print(f"All of them at once{all_at_once(b, horizon)}")
    if result.projection:
        last = result.projection[-1]
        console.print(f"Projection: month {last.month} {usd(last.monthly_cost_usd)} "
                      f"(P10 {usd(last.p10)}, P90 {usd(last.p90)})")
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
