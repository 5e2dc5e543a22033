"""``infra-mind catalog``: look up, search and describe the price catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
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
#: The snapshot a command prices with. Read by the option, not the settings (where the
#: server reads it, ``CatalogSettings``): these commands load no settings, to start fast.
CatalogOpt = Annotated[Path | None, typer.Option(
    "--catalog", envvar="INFRA_MIND_CATALOG", show_default=False,
    help="Price snapshot to use (default: data/catalog/snapshot.json when refreshed, "
         "else the bundled one)")]
#: Marks a derived price (computed from list prices by a stated rule) wherever one is shown.
APPROX = "\u2248"


def _console() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:  # piped or captured: don't squeeze tables into 80 columns
        console = Console(highlight=False, width=160)
    return console


def _load(path: Path | None) -> Catalog:
    """The catalog in force: ``path`` (``--catalog``), else the default
    (``catalog.store.active_snapshot_path``)."""
    try:
        return Catalog.load(path)
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
    snapshot: CatalogOpt = None,
) -> None:
    """Print one price row: unit price, unit, purchase option, date and source."""
    catalog = _load(snapshot)
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
    mark = APPROX if first.is_derived else ""
    for key in ("provider", "service", "sku", "region", "unit", "price_usd", "purchase_option",
                "as_of", "source", "basis"):
        table.add_row(key, f"{mark}{doc[key]}" if key == "price_usd" else str(doc[key]))
    if first.is_derived:
        table.add_row("rule", first.rule)
    if "tiers" in doc:
        for tier in doc["tiers"]:
            end = "and above" if tier["tier_end"] is None else f"to {tier['tier_end']:g}"
            table.add_row("tier", f"from {tier['tier_start']:g} {end}: {mark}{tier['price_usd']}")
    for key, value in doc["attributes"].items():
        table.add_row(f"  {key}", str(value))
    if first.unit.value == "hour":
        table.add_row("per month (730 h)", f"{mark}{first.price_usd * 730:,.2f} USD")
    if first.is_derived:
        table.add_row("", f"{APPROX} derived from list prices by the rule above, not a list price")
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
    snapshot: CatalogOpt = None,
) -> None:
    """Machines meeting the minimums in one region, cheapest first."""
    catalog = _load(snapshot)
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
        mark = APPROX if r.is_derived else ""
        table.add_row(r.sku, f"{a['vcpu']:g}", f"{a['memory_gib']:g}", gpus, str(a["arch"]),
                      f"{mark}{r.price_usd:.4f}", f"{mark}{r.price_usd * 730:,.2f}",
                      r.as_of.isoformat())
    console = _console()
    console.print(table)
    if any(r.is_derived for r in rows):
        console.print(f"{APPROX} derived from list prices by a stated rule (see catalog price "
                      "--json for it), not a list price")


@app.command()
def stats(as_json: JsonOpt = False, snapshot: CatalogOpt = None) -> None:
    """Rows per provider, service and region, and the oldest price date."""
    catalog = _load(snapshot)
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
            "by_basis": s.by_basis,
        }))
        return
    console = _console()
    console.print(f"Snapshot {catalog.path} (generated {catalog.generated_at}): {s.rows} rows "
                  f"({s.by_basis.get('list', 0)} list, {s.by_basis.get('derived', 0)} "
                  f"{APPROX} derived), {s.on_demand_compute_rows} on-demand compute; prices "
                  f"dated {s.oldest_as_of} (oldest) to {s.newest_as_of} (newest)")
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


def _cell_text(cell) -> str:
    """``12``, ``≈14``, ``1+≈14``; ``EMPTY`` for an empty core cell, ``-`` for another."""
    if cell.empty:
        return "[bold red]EMPTY[/bold red]" if cell.core else "-"
    parts = ([str(cell.list_rows)] if cell.list_rows else []) + (
        [f"{APPROX}{cell.derived_rows}"] if cell.derived_rows else [])
    return "+".join(parts)


@app.command()
def coverage(
    provider: Annotated[Provider | None, typer.Option(
        "--provider", help="Only this provider (default: all three)")] = None,
    as_json: JsonOpt = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 1 when a core cell is empty (default: report it, exit 0)")
    ] = False,
    snapshot: CatalogOpt = None,
) -> None:
    """Rows per provider, region and kind of price the engine designs with, list and
    derived, and the empty cells; core cells are those the examples' workloads need."""
    from infra_mind.catalog.coverage import KINDS, NOT_CORE, describe
    from infra_mind.catalog.coverage import coverage as count_rows
    from infra_mind.catalog.regions import regions_of

    catalog = _load(snapshot)
    cov = count_rows(catalog)
    providers = [provider.value] if provider else ["aws", "azure", "gcp"]
    empty_core = cov.empty_core(providers)
    if as_json:
        typer.echo(json.dumps(cov.to_dict(providers)))
    else:
        console = _console()
        s = cov.summary(providers)
        console.print(f"Snapshot {catalog.path} (generated {catalog.generated_at}): "
                      f"{s['regions']} regions x {s['kinds']} kinds of price the engine "
                      f"designs with = {s['cells']} cells; {s['list_rows']} list rows, "
                      f"{s['derived_rows']} {APPROX}derived rows; {s['empty_core_cells']} "
                      f"empty core cells, {s['empty_other_cells']} empty cells not core")
        for p in providers:
            codes = [r.code for r in regions_of(p)]
            # region codes run to 23 characters: numbered columns keep 15 regions in 160
            table = Table(title=f"{p}: rows per kind and region (list+{APPROX}derived)",
                          caption=" ".join(f"{n}={code}" for n, code in enumerate(codes, 1)),
                          box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0, 0, 1))
            table.add_column("kind", no_wrap=True)
            for n in range(1, len(codes) + 1):
                table.add_column(str(n), justify="right", no_wrap=True)
            for kind in (k for k in KINDS if p in k.providers):
                row = [cov.cell(p, code, kind.key) for code in codes]
                core = all(c is not None and c.core for c in row)
                table.add_row(kind.key + ("" if core else "*"), *(_cell_text(c) for c in row))
            console.print(table)
        console.print(f"N: list rows (published prices); {APPROX}N: derived rows (computed from "
                      "list prices by a stated rule); EMPTY: a core cell without a price, where "
                      "the engine lists that component as unpriced; -: an empty cell, not core; "
                      "*: not core (why below); a kind missing from a provider's table is not "
                      "billed by that provider. Core: a kind the examples' workloads need "
                      "(examples/*.yaml).")
        by_kind: dict[tuple[str, str], list[str]] = {}
        for c in empty_core:
            by_kind.setdefault((c.provider, c.kind), []).append(c.region)
        console.print("Empty core cells:" if by_kind else "Empty core cells: none")
        for (p, key), where in by_kind.items():
            console.print(f"  {p} {key}: {len(where)} region(s): {', '.join(where)}")
        console.print("Not core:")
        for kind in KINDS:
            if not kind.core:
                console.print(f"  {kind.key}: {kind.used_for}")
        for (p, key), why in NOT_CORE.items():
            if p in providers:
                console.print(f"  {p} {key}: {why}")
        oldest = cov.oldest(providers)
        if oldest is not None:
            console.print(f"Oldest price the engine designs with: {describe(oldest)}")
    if strict and empty_core:
        raise typer.Exit(ExitCode.FAILURE)


@app.command()
def refresh(
    provider: Annotated[Provider, typer.Option("--provider", help="aws, azure or gcp")],
    region: Annotated[list[str] | None, typer.Option(
        "--region", "-r", help="Region to refresh (repeatable; default: all covered regions)")
    ] = None,
    out: Annotated[Path | None, typer.Option(
        help="Where to write the new snapshot (default: data/catalog/snapshot.json)")] = None,
    allow_shrink: Annotated[bool, typer.Option(
        "--allow-shrink", help="Write the snapshot even when a region loses more than 20% "
                               "of its rows (refused otherwise, exit 2)")] = False,
    snapshot: CatalogOpt = None,
) -> None:
    """Fetch live prices and write a new snapshot; on any failure keep the old one.

    Prints, per region asked for, the rows added, changed and removed. A region that
    would lose more than 20% of its rows makes the refresh refuse (exit 2, nothing
    written) unless --allow-shrink is given.
    """
    from infra_mind.catalog.refresh import (
        MAX_REGION_LOSS_PCT,
        RefreshError,
        RegionDiff,
        ShrinkRefused,
        refresh_snapshot,
    )
    from infra_mind.catalog.store import LOCAL_SNAPSHOT

    def show(diff: list[RegionDiff]) -> None:
        for d in diff:
            if not d.unchanged:
                over = d.lost_pct > MAX_REGION_LOSS_PCT
                typer.echo(d.line() + (f" (loses more than {MAX_REGION_LOSS_PCT:g}%)"
                                       if over else ""))
        same = [d.region for d in diff if d.unchanged]
        if same:
            typer.echo(f"{provider.value}: unchanged in {len(same)} region(s): "
                       f"{', '.join(same)}")

    catalog = _load(snapshot)
    target = out or LOCAL_SNAPSHOT
    try:
        report = refresh_snapshot(provider, region or None, catalog, target,
                                  allow_shrink=allow_shrink)
    except ShrinkRefused as exc:
        show(exc.diff)
        # exit 2, as for a bad argument: the refresh as asked would damage the catalog,
        # and --allow-shrink is the argument that says the loss is wanted
        raise CliError(f"{exc}; pass --allow-shrink to write it anyway",
                       ExitCode.USAGE) from None
    except RefreshError as exc:
        raise CliError(str(exc)) from None
    show(report.diff)
    typer.echo(f"refreshed {provider.value}: {report.rows_fetched} rows fetched, "
               f"{report.rows_replaced} replaced, {report.rows_added} added, "
               f"{report.rows_removed} removed; wrote {target}")
