"""``infra-mind catalog``: look up, search and describe the price catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra_mind.catalog.model import CatalogError, ProductFamily, Provider, PurchaseOption
from infra_mind.catalog.regions import region as region_info
from infra_mind.catalog.store import Catalog, LookupFailed
from infra_mind.cli.errors import CliError, ExitCode

app = typer.Typer(help="Look up, search and refresh the dated, sourced price catalog.",
                  no_args_is_help=True)

ProviderArg = Annotated[Provider, typer.Argument(help="aws, azure or gcp", show_default=False)]
RegionOpt = Annotated[str, typer.Option("--region", "-r", help="Provider region code, "
                                        "e.g. us-east-1, westeurope, europe-west1")]
OptionOpt = Annotated[PurchaseOption, typer.Option("--purchase-option", "-p",
                                                   help="Purchase option")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def _console() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:  # piped or captured: don't squeeze tables into 80 columns
        console = Console(highlight=False, width=160)
    return console


def _load() -> Catalog:
    try:
        return Catalog.load()
    except CatalogError as exc:
        raise CliError(str(exc)) from None


def _parse_attrs(pairs: list[str]) -> dict[str, str]:
    attrs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--attr expects KEY=VALUE, got {pair!r}", ExitCode.USAGE)
        attrs[key.strip()] = value.strip()
    return attrs


@app.command()
def price(
    provider: ProviderArg,
    sku: Annotated[str, typer.Argument(help="SKU: m5.large, Standard_D2s_v5, n2-standard-2",
                                       show_default=False)],
    region: RegionOpt,
    purchase_option: OptionOpt = PurchaseOption.ON_DEMAND,
    attr: Annotated[list[str] | None, typer.Option(
        "--attr", help="Choose a variant, e.g. --attr engine=postgres --attr deployment=ha")
    ] = None,
    family: Annotated[ProductFamily | None, typer.Option(
        help="Product family, where one name means several (Azure's Standard_B2s is a VM "
             "and a database server; the bare name means the VM)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print one price row: unit price, unit, purchase option, date and source."""
    catalog = _load()
    try:
        rows = catalog.price(provider, sku, region, purchase_option, _parse_attrs(attr or []),
                             family)
    except LookupFailed as exc:
        raise CliError(str(exc), ExitCode.NOT_FOUND) from None
    first = rows[0]
    doc = first.to_dict()
    if len(rows) > 1:  # a tiered price: one object, its tiers listed
        doc.pop("tier_start", None)
        doc.pop("tier_end", None)
        doc["tiers"] = [{"tier_start": r.tier_start, "tier_end": r.tier_end,
                         "price_usd": r.price_usd} for r in rows]
    if as_json:
        typer.echo(json.dumps(doc))
        return
    console = _console()
    table = Table(show_header=False, box=None)
    for key in ("provider", "service", "sku", "region", "unit", "price_usd", "purchase_option",
                "as_of", "source"):
        table.add_row(key, str(doc[key]))
    if "tiers" in doc:
        for tier in doc["tiers"]:
            end = "and above" if tier["tier_end"] is None else f"to {tier['tier_end']:g}"
            table.add_row("tier", f"from {tier['tier_start']:g} {end}: {tier['price_usd']}")
    for key, value in doc["attributes"].items():
        table.add_row(f"  {key}", str(value))
    if first.unit.value == "hour":
        table.add_row("per month (730 h)", f"{first.price_usd * 730:,.2f} USD")
    console.print(table)


@app.command()
def search(
    provider: Annotated[Provider, typer.Option("--provider", help="aws, azure or gcp")],
    region: RegionOpt,
    min_vcpu: Annotated[float, typer.Option("--min-vcpu", min=0, help="At least this many vCPUs")
                        ] = 0,
    min_memory: Annotated[float, typer.Option("--min-memory", min=0,
                                              help="At least this much memory, GiB")] = 0,
    gpu: Annotated[bool | None, typer.Option("--gpu/--no-gpu",
                                             help="Only GPU machines / only machines without")
                   ] = None,
    min_gpu_memory: Annotated[float, typer.Option("--min-gpu-memory", min=0,
                                                  help="At least this much memory per GPU, GiB")
                              ] = 0,
    arch: Annotated[str | None, typer.Option(help="x86_64 or arm64")] = None,
    purchase_option: OptionOpt = PurchaseOption.ON_DEMAND,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Rows to show")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Machines meeting the minimums in one region, cheapest first."""
    catalog = _load()
    if region not in catalog.regions(provider):
        raise CliError(f"no {provider.value} prices in region {region!r}; regions: "
                       f"{', '.join(catalog.regions(provider))}", ExitCode.NOT_FOUND)
    rows = catalog.search(provider, region, min_vcpu=min_vcpu, min_memory_gib=min_memory,
                          gpu=gpu, min_gpu_memory_gib=min_gpu_memory,
                          purchase_option=purchase_option, arch=arch)[:limit]
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rows]))
        return
    if not rows:
        raise CliError(f"no {provider.value} machine in {region} meets those minimums",
                       ExitCode.NOT_FOUND)
    table = Table(title=f"{provider.value} {region} {purchase_option.value}, cheapest first")
    for col in ("sku", "vCPU", "memory GiB", "GPU", "arch", "USD/hour", "USD/month", "as of"):
        table.add_column(col, justify="right" if col not in ("sku", "arch", "GPU") else "left")
    for r in rows:
        a = r.attributes
        gpus = f"{a['gpu_count']}x {a['gpu_model']} {a['gpu_memory_gib']:g}G" if r.is_gpu else ""
        table.add_row(r.sku, f"{a['vcpu']:g}", f"{a['memory_gib']:g}", gpus, str(a["arch"]),
                      f"{r.price_usd:.4f}", f"{r.price_usd * 730:,.2f}", r.as_of.isoformat())
    _console().print(table)


@app.command()
def stats(as_json: JsonOpt = False) -> None:
    """Rows per provider, service and region, and the oldest price date."""
    catalog = _load()
    s = catalog.stats()
    if as_json:
        typer.echo(json.dumps({
            "snapshot": str(catalog.path), "generated_at": str(catalog.generated_at),
            "rows": s.rows, "on_demand_compute_rows": s.on_demand_compute_rows,
            "oldest_as_of": s.oldest_as_of.isoformat(),
            "newest_as_of": s.newest_as_of.isoformat(),
            "by_provider": s.by_provider,
            "by_service": [{"provider": p, "service": sv, "rows": n}
                           for (p, sv), n in sorted(s.by_service.items())],
            "by_region": [{"provider": p, "region": rg, "rows": n}
                          for (p, rg), n in sorted(s.by_region.items())],
            "by_purchase_option": s.by_purchase_option,
        }))
        return
    console = _console()
    console.print(f"Snapshot {catalog.path} (generated {catalog.generated_at}): {s.rows} rows, "
                  f"{s.on_demand_compute_rows} on-demand compute; prices dated "
                  f"{s.oldest_as_of} (oldest) to {s.newest_as_of} (newest)")
    services = Table(title="Rows per provider and service")
    for col in ("provider", "service", "rows"):
        services.add_column(col)
    for (p, sv), n in sorted(s.by_service.items()):
        services.add_row(p, sv, str(n))
    console.print(services)
    regions = Table(title="Rows per provider and region")
    for col in ("provider", "region", "location", "group", "rows"):
        regions.add_column(col)
    for (p, rg), n in sorted(s.by_region.items()):
        info = region_info(p, rg)
        regions.add_row(p, rg, info.name if info else "", info.group if info else "", str(n))
    console.print(regions)
    options = ", ".join(f"{k} {v}" for k, v in sorted(s.by_purchase_option.items()))
    console.print(f"Purchase options: {options}")


@app.command()
def refresh(
    provider: Annotated[Provider, typer.Option("--provider", help="aws, azure or gcp")],
    region: Annotated[list[str] | None, typer.Option(
        "--region", "-r", help="Region to refresh (repeatable; default: all covered regions)")
    ] = None,
    out: Annotated[Path | None, typer.Option(
        help="Where to write the new snapshot (default: data/catalog/snapshot.json)")] = None,
) -> None:
    """Fetch live prices and write a new snapshot; on any failure keep the old one."""
    from infra_mind.catalog.refresh import RefreshError, refresh_snapshot
    from infra_mind.catalog.store import LOCAL_SNAPSHOT

    catalog = _load()
    target = out or LOCAL_SNAPSHOT
    try:
        report = refresh_snapshot(provider, region or None, catalog, target)
    except RefreshError as exc:
        raise CliError(str(exc)) from None
    typer.echo(f"refreshed {provider.value}: {report.rows_fetched} rows fetched, "
               f"{report.rows_replaced} replaced, {report.rows_added} added; wrote {target}")
