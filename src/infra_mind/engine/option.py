"""The record of one designed option, and the purchase terms its lines are priced on.

``OptionDesign`` collects an option's priced lines with how each grows (``parts``), what
could not be priced, the facts compliance and review rules read, and which purchase
option each workload got. ``committed`` finds the same product under the commitment a
requirements file asks for: a commitment covers only what runs all month.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra_mind.catalog.model import PriceRow, PurchaseOption
from infra_mind.catalog.regions import Region
from infra_mind.catalog.store import Catalog
from infra_mind.engine import growth
from infra_mind.engine.facts import DearerClass, HeldPeak, PartTimeWorker, SuddenPeak
from infra_mind.engine.pricing import beyond_tiers, tiered_lines
from infra_mind.engine.requirements import Commitment, Requirements
from infra_mind.engine.result import LineItem

COMMITMENT_OPTION = {Commitment.ONE_YEAR: PurchaseOption.RESERVED_1Y,
                     Commitment.THREE_YEARS: PurchaseOption.RESERVED_3Y}


@dataclass
class PricedLine:
    item: LineItem
    kind: str  # compute | gpu | database | cache | storage | network | kubernetes
    part: growth.Part
    interruptible: bool = False
    #: The catalog row the line is priced at (commitment analysis finds its counterparts).
    row: PriceRow | None = None
    #: Instance-hours that run all month: what a commitment can cover (0 for part-time).
    always_on_hours: float = 0.0
    #: A virtual machine (in private subnets behind NAT when a framework asks for them).
    vm: bool = False


@dataclass
class OptionDesign:
    region: Region
    lines: list[PricedLine] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    capabilities: dict[str, str] = field(default_factory=dict)
    components: list[tuple[str, str, str, bool]] = field(default_factory=list)
    kubernetes: bool = False
    managed_database: bool = False
    database_ha: bool = False
    uses_spot: bool = False
    arm64: bool = False
    has_public_endpoint: bool = False
    has_ml: bool = False
    zones_used: int = 1
    compute_instances_min: int = 0
    interruptible_on_demand: list[str] = field(default_factory=list)
    #: Kept for the review's rule; 0 now that web tiers autoscale in the design itself.
    autoscaling_saving_usd: float = 0.0
    underutilised: list[str] = field(default_factory=list)
    #: Services whose peak machines are held all month as committed they cost less.
    held_peaks: list[HeldPeak] = field(default_factory=list)
    #: Public services on machines: (workload, instances at peak, index of its first line).
    public_services: list[tuple[str, int, int]] = field(default_factory=list)
    #: Internal services on machines (``WebService.internal``), as ``public_services``.
    internal_services: list[tuple[str, int, int]] = field(default_factory=list)
    #: Autoscaled services whose floor cannot carry their peak even at full CPU (a peak
    #: that comes at once waits on new machines).
    sudden_peaks: list[SuddenPeak] = field(default_factory=list)
    #: Served models whose GPU machines scale out for the peak hours: (workload, weights
    #: GB each new machine loads before it serves).
    scaled_inference: list[tuple[str, float]] = field(default_factory=list)
    #: Workers held all month that would cost less started only for their work.
    part_time_workers: list[PartTimeWorker] = field(default_factory=list)
    #: Buckets in the infrequent class that the standard class would hold for less.
    dearer_classes: list[DearerClass] = field(default_factory=list)
    #: Per workload with machines: the purchase option(s) its lines use.
    purchase_terms: dict[str, str] = field(default_factory=dict)
    #: Requested terms the catalog could not price here (those lines are on demand).
    terms_unavailable: list[str] = field(default_factory=list)
    load_balancer: bool = False
    #: The load balancer is Azure's Application Gateway WAF_v2 (``protection._gateway``).
    waf_gateway: bool = False
    #: Machines chosen as if Cloud NAT's gateway cap applies (``design.design_option``):
    #: a VM-hour adds nothing to a machine's price in the choice.
    nat_capped: bool = False
    #: Workloads designed self-managed although managed services were asked, because the
    #: catalog prices no managed size that fits here: ranking does not compare them.
    not_as_asked: list[str] = field(default_factory=list)

    @property
    def provider(self) -> str:
        return self.region.provider.value

    @property
    def monthly_usd(self) -> float:
        return round(sum(p.item.monthly_usd for p in self.lines), 2)

    @property
    def has_cdn(self) -> bool:
        """Whether the design serves content through the provider's CDN."""
        return any(p.item.component.startswith("CDN") for p in self.lines)

    def add(self, item: LineItem, kind: str, part: growth.Part, interruptible: bool = False,
            *, row: PriceRow | None = None, always_on_hours: float = 0.0,
            vm: bool = False) -> None:
        self.lines.append(PricedLine(item, kind, part, interruptible, row, always_on_hours,
                                     vm))

    def tiered(self, rows: list[PriceRow], quantity: float, *, workload: str,
               component: str) -> list[LineItem]:
        """Lines for ``quantity`` units of a tiered price (``pricing.tiered_lines``); the
        part above the catalog's last tier, where that tier has an end, is said unpriced
        rather than left out of the total."""
        above = beyond_tiers(rows, quantity)
        if above:
            self.unpriced.append(f"{workload}: {component} ({above}) in {self.provider} "
                                 f"{self.region.code}")
        return tiered_lines(rows, quantity, workload=workload, component=component)

    def term(self, workload: str, option: str) -> None:
        """Record a purchase option a workload's lines use."""
        used = self.purchase_terms.get(workload)
        if used is None:
            self.purchase_terms[workload] = option
        elif option not in used.split(" + "):
            self.purchase_terms[workload] = f"{used} + {option}"

    def missing(self, text: str) -> None:
        """A requested purchase term the catalog has no price for here."""
        if text not in self.terms_unavailable:
            self.terms_unavailable.append(text)
        if text not in self.warnings:
            self.warnings.append(text)


def counterpart(catalog: Catalog, row: PriceRow, option: PurchaseOption) -> PriceRow | None:
    """The same product (family and variant) under another purchase option, if priced."""
    for other in catalog.lookup(row.provider, row.sku, row.region, option):
        if other.product_family is row.product_family and other.variant == row.variant:
            return other
    return None


def committed(catalog: Catalog, row: PriceRow, req: Requirements, design: OptionDesign,
               workload: str) -> PriceRow:
    """The row under the requested commitment where the catalog prices it, else ``row``."""
    option = COMMITMENT_OPTION.get(req.preferences.commitment)
    if option is None or row.purchase_option is not PurchaseOption.ON_DEMAND:
        return row
    found = counterpart(catalog, row, option)
    if found is not None:
        return found
    design.missing(f"{workload}: no {option.value} price for {row.provider.value} {row.sku} "
                   f"in {row.region}; priced on demand")
    return row
