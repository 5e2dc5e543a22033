"""Designing one option: the services, SKUs and counts for one provider and region.

``design_option`` turns the sized demands into priced line items at least cost
under the requirements' constraints, and records the facts compliance and
review rules read, what it could not price, and how each line grows over the
projection (``parts``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra_mind.catalog.model import PriceRow, ProductFamily, PurchaseOption
from infra_mind.catalog.regions import Region
from infra_mind.catalog.store import Catalog
from infra_mind.engine import growth
from infra_mind.engine.ml import choose_inference, choose_training
from infra_mind.engine.pricing import (
    MachineChoice,
    choose_machines,
    first_row,
    hourly_line,
    line,
    machine_candidates,
    tier_group,
    tiered_lines,
)
from infra_mind.engine.requirements import Commitment, KubernetesPreference, Requirements
from infra_mind.engine.result import LineItem
from infra_mind.engine.sizing import HOURS_PER_MONTH, WorkloadDemand

_COMMITMENT_OPTION = {Commitment.ONE_YEAR: PurchaseOption.RESERVED_1Y,
                      Commitment.THREE_YEARS: PurchaseOption.RESERVED_3Y}
#: ALB capacity units: one LCU covers 25 new connections per second or 1 GB processed
#: per hour (aws.amazon.com/elasticloadbalancing/pricing/); assumed one new
#: connection per request at average load, which is the conservative case.
NEW_CONNECTIONS_PER_LCU = 25.0
GB_PER_HOUR_PER_LCU = 1.0
#: Kubernetes (auto) is chosen when the design has at least this many always-on services.
KUBERNETES_AUTO_MIN_SERVICES = 3


@dataclass
class PricedLine:
    item: LineItem
    kind: str  # compute | gpu | database | cache | storage | network | kubernetes
    part: growth.Part
    interruptible: bool = False


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
    autoscaling_saving_usd: float = 0.0
    underutilised: list[str] = field(default_factory=list)

    @property
    def provider(self) -> str:
        return self.region.provider.value

    @property
    def monthly_usd(self) -> float:
        return round(sum(p.item.monthly_usd for p in self.lines), 2)

    def add(self, item: LineItem, kind: str, part: growth.Part,
            interruptible: bool = False) -> None:
        self.lines.append(PricedLine(item, kind, part, interruptible))


def _committed(catalog: Catalog, row: PriceRow, req: Requirements, design: OptionDesign
               ) -> PriceRow:
    """The row under the requested commitment where the catalog prices it, else ``row``."""
    option = _COMMITMENT_OPTION.get(req.preferences.commitment)
    if option is None or row.purchase_option is not PurchaseOption.ON_DEMAND:
        return row
    found = catalog.lookup(row.provider, row.sku, row.region, option)
    if found:
        return found[0]
    msg = (f"no {option.value} price for {row.provider.value} {row.sku} in {row.region}; "
           "priced on demand")
    if msg not in design.warnings:
        design.warnings.append(msg)
    return row


def _machines(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand,
              *, component: str, vcpu: float, memory_per_instance: float,
              total_memory: float, min_count: int, spot: bool, scales: bool,
              vcpu_per_instance: float = 0.0) -> bool:
    """Price always-on machines for one demand; False when none fits."""
    p, r = design.provider, design.region.code
    commit = None if spot else _COMMITMENT_OPTION.get(req.preferences.commitment)
    allow_arm = req.preferences.allow_arm

    def pick(option: PurchaseOption) -> MachineChoice | None:
        # with a commitment, choose on the committed price where the catalog has one
        candidates = machine_candidates(catalog, p, r, option, allow_arm=allow_arm,
                                        prefer=commit)
        return choose_machines(candidates, vcpu=vcpu,
                               memory_per_instance_gib=memory_per_instance,
                               total_memory_gib=total_memory, min_count=min_count,
                               vcpu_per_instance=vcpu_per_instance)

    choice = pick(PurchaseOption.SPOT if spot else PurchaseOption.ON_DEMAND)
    if choice is None and spot:
        design.warnings.append(f"{d.workload}: no spot prices in {p} {r}; priced on demand")
        spot = False
        choice = pick(PurchaseOption.ON_DEMAND)
    if choice is None:
        need = f">= {memory_per_instance:g} GiB memory" + (
            f" and >= {vcpu_per_instance:g} vCPU" if vcpu_per_instance else "")
        design.violations.append(f"{d.workload}: no machine in {p} {r} has {need}")
        design.unpriced.append(f"{d.workload}: {component} ({need}) in {p} {r}")
        return False
    row = choice.row
    if commit is not None and row.purchase_option is not commit:
        design.warnings.append(f"{d.workload}: no {commit.value} price for {p} {row.sku} in "
                               f"{r}; priced on demand")
    a = row.attributes
    note = (f"{a['vcpu']:g} vCPU, {a['memory_gib']:g} GiB each; count = max({min_count}, "
            f"ceil({vcpu:.2f} vCPU / {a['vcpu']:g})"
            + (f", ceil({total_memory:g} GiB / {a['memory_gib']:g})" if total_memory else "")
            + ")")
    item = hourly_line(row, choice.count, workload=d.workload, component=component, note=note)
    part = (growth.ScaledMachines(row.price_usd, float(a["vcpu"]), float(a["memory_gib"]),
                                  vcpu, total_memory, min_count)
            if scales else growth.Fixed(item.monthly_usd))
    design.add(item, "compute", part, interruptible=d.resources.get("interruptible") is True)
    design.uses_spot |= spot
    design.arm64 |= a["arch"] == "arm64"
    return True


def _web(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand) -> None:
    res = d.resources
    n_min = int(res["instances_min"])
    if _machines(catalog, design, req, d, component="app servers", vcpu=float(res["vcpu"]),
                 memory_per_instance=float(res["memory_gib_per_instance"]), total_memory=0.0,
                 min_count=n_min, spot=False, scales=True):
        design.compute_instances_min = (n_min if not design.compute_instances_min
                                        else min(design.compute_instances_min, n_min))
        last = design.lines[-1]
        part = last.part
        assert isinstance(part, growth.ScaledMachines)
        avg_count = part.count(float(res["vcpu_avg"]) / float(res["vcpu"]))
        peak_count = part.count(1.0)
        if avg_count < peak_count:
            design.autoscaling_saving_usd += (peak_count - avg_count) * part.price_per_hour * \
                HOURS_PER_MONTH
        if float(res["vcpu_avg"]) < 0.3 * peak_count * part.vcpu_each:
            design.underutilised.append(d.workload)
    design.has_public_endpoint = True


def _worker(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand
            ) -> None:
    res = d.resources
    spot = bool(res["spot"])
    if res["interruptible"] and not spot:
        design.interruptible_on_demand.append(d.workload)
    _machines(catalog, design, req, d, component="workers", vcpu=float(res["vcpu"]),
              memory_per_instance=0.0, total_memory=float(res["memory_gib"]), min_count=1,
              spot=spot, scales=True)


def _block_storage(catalog: Catalog, design: OptionDesign, workload: str, gb: float,
                   copies: int, growth_gb: float) -> None:
    p, r = design.provider, design.region.code
    per_gb = [row for row in catalog.family_rows(p, r, ProductFamily.BLOCK_STORAGE)
              if row.unit.value == "GB-month"]
    if per_gb:
        row = per_gb[0]
        item = line(row, workload=workload, component="block storage", quantity=gb * copies,
                    note=f"{gb:g} GB x {copies} volume(s)")
        design.add(item, "storage", growth.GrowingStorage([row], gb, growth_gb, copies))
        return
    disks = sorted((row for row in catalog.family_rows(p, r, ProductFamily.BLOCK_STORAGE)
                    if row.unit.value == "month" and row.attributes.get("disk_gib")),
                   key=lambda row: row.attributes["disk_gib"])
    fitting = [row for row in disks if row.attributes["disk_gib"] >= gb]
    if fitting:
        row = fitting[0]
        item = line(row, workload=workload, component="block storage", quantity=copies,
                    note=f"{copies} disk(s) of {row.attributes['disk_gib']} GiB for {gb:g} GB")
        design.add(item, "storage", growth.Fixed(item.monthly_usd))
        return
    design.unpriced.append(f"{workload}: block storage ({gb:g} GB) in {p} {r}")


def _database(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand
              ) -> None:
    res = d.resources
    p, r = design.provider, design.region.code
    engine, ha = str(res["engine"]), bool(res["ha"])
    vcpu, memory = float(res["vcpu"]), float(res["memory_gib"])
    storage, grow = float(res["storage_gb"]), float(res["growth_gb_per_month"])
    deployment = "ha" if ha else "single"
    if req.preferences.managed_services:
        def fitting(deployment: str) -> list[PriceRow]:
            return [row for row in catalog.family_rows(p, r, ProductFamily.DATABASE)
                    if row.attributes.get("engine") == engine
                    and row.attributes.get("deployment") == deployment
                    and row.attributes.get("vcpu", 0) >= vcpu
                    and row.attributes.get("memory_gib", 0) >= memory]

        sizes, standby_at_primary_rate = fitting(deployment), False
        if not sizes and ha:
            # RDS Multi-AZ (one standby), Azure zone-redundant HA and Cloud SQL HA bill the
            # standby at the primary's rate: two instances of the single-zone price
            sizes, standby_at_primary_rate = fitting("single"), True
        if sizes:
            row = _committed(catalog, sizes[0], req, design)
            note = f"{row.attributes['vcpu']} vCPU, {row.attributes['memory_gib']} GiB"
            if standby_at_primary_rate:
                note += "; primary + standby, the standby billed at the primary's rate"
            item = hourly_line(row, 2 if standby_at_primary_rate else 1, workload=d.workload,
                               component=f"managed {engine} ({'HA' if ha else 'single'})",
                               note=note)
            design.add(item, "database", growth.Fixed(item.monthly_usd))
            design.managed_database = True
            design.database_ha |= ha
            design.components.append((f"{row.service} {row.sku}", "database", d.workload, True))
            design.capabilities.setdefault("backups", f"{row.service} automated backups")
            _database_storage(catalog, design, d.workload, engine, deployment, storage, grow, ha)
            return
        design.warnings.append(
            f"{d.workload}: no managed {engine} {deployment} size with >= {vcpu:g} vCPU and "
            f">= {memory:g} GiB is priced for {p} {r}; priced self-managed on machines")
    nodes = 2 if ha else 1
    if _machines(catalog, design, req, d,
                 component=f"{engine} servers (self-managed{', primary + standby' if ha else ''})",
                 vcpu=vcpu * nodes, memory_per_instance=memory, total_memory=0.0,
                 min_count=nodes, spot=False, scales=False, vcpu_per_instance=vcpu):
        design.lines[-1].kind = "database"
        design.database_ha |= ha
        design.components.append((f"self-managed {engine}", "database", d.workload, False))
        _block_storage(catalog, design, d.workload, storage, nodes, grow)


def _database_storage(catalog: Catalog, design: OptionDesign, workload: str, engine: str,
                      deployment: str, gb: float, grow: float, ha: bool) -> None:
    p, r = design.provider, design.region.code
    rows = [row for row in catalog.family_rows(p, r, ProductFamily.DATABASE_STORAGE)
            if row.attributes.get("engine", engine) == engine]
    exact = [row for row in rows if row.attributes.get("deployment") == deployment]
    copies = 1
    if not exact:
        exact = [row for row in rows if row.attributes.get("deployment") in (None, "single")]
        copies = 2 if ha else 1  # the standby's storage is billed as a second copy
    if not exact:
        design.unpriced.append(f"{workload}: {engine} storage ({gb:g} GB) in {p} {r}")
        return
    row = exact[0]
    item = line(row, workload=workload, component="database storage", quantity=gb * copies,
                note=f"{gb:g} GB" + (" x 2 (primary and standby copies)" if copies == 2 else ""))
    design.add(item, "storage", growth.GrowingStorage([row], gb, grow, copies))


def _cache(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand
           ) -> None:
    res = d.resources
    ha, memory = bool(res["ha"]), float(res["memory_gib"])
    p, r = design.provider, design.region.code
    nodes = 2 if ha else 1
    managed = [row for row in catalog.family_rows(p, r, ProductFamily.CACHE)
               if row.attributes.get("memory_gib", 0) >= memory
               and row.attributes.get("deployment", "single") == "single"]
    if req.preferences.managed_services and managed:
        row = managed[0]
        item = hourly_line(row, nodes, workload=d.workload, component="managed cache nodes",
                           note="primary + replica" if ha else "")
        design.add(item, "cache", growth.Fixed(item.monthly_usd))
        return
    if req.preferences.managed_services:
        design.warnings.append(f"{d.workload}: no managed cache node with >= {memory:g} GiB is "
                               f"priced for {p} {r}; priced self-managed Redis on machines")
    if _machines(catalog, design, req, d, component="Redis nodes (self-managed)",
                 vcpu=1.0 * nodes, memory_per_instance=memory, total_memory=0.0,
                 min_count=nodes, spot=False, scales=False, vcpu_per_instance=1.0):
        design.lines[-1].kind = "cache"


def _object_storage(catalog: Catalog, design: OptionDesign, d: WorkloadDemand,
                    storage_class: str, gb: float, grow: float, component: str) -> None:
    p, r = design.provider, design.region.code
    rows = tier_group(catalog, p, r, ProductFamily.OBJECT_STORAGE, storage_class=storage_class)
    if not rows:
        design.unpriced.append(f"{d.workload}: {storage_class} object storage in {p} {r}")
        return
    items = tiered_lines(rows, gb, workload=d.workload, component=component)
    if not items:
        return
    # one line per tier used; the last carries the growth of the whole tiered cost, so
    # the projection re-tiers the growing total rather than growing each tier alone
    for item in items[:-1]:
        design.add(item, "storage", growth.Fixed(0.0))
    design.add(items[-1], "storage", growth.GrowingStorage(rows, gb, grow, 1))


def _gpu(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand) -> None:
    design.has_ml = True
    p, r = design.provider, design.region.code
    chooser = choose_training if d.type == "ml_training" else choose_inference
    spot = bool(d.resources.get("spot"))
    result = chooser(catalog, p, r, d, PurchaseOption.SPOT if spot else PurchaseOption.ON_DEMAND)
    if result is None and spot:
        design.warnings.append(f"{d.workload}: no GPU spot prices in {p} {r}; priced on demand")
        spot = False
        result = chooser(catalog, p, r, d, PurchaseOption.ON_DEMAND)
    if result is None:
        design.violations.append(f"{d.workload}: no priced GPU machine in {p} {r} fits the "
                                 "model")
        return
    row, hours, note, part = result
    row = row if spot else _committed(catalog, row, req, design)
    item = line(row, workload=d.workload,
                component="training GPUs" if d.type == "ml_training" else "inference GPUs",
                quantity=hours, note=note)
    design.add(item, "gpu", part.repriced(row.price_usd), interruptible=d.type == "ml_training")
    design.uses_spot |= spot
    if d.type == "ml_inference":
        design.has_public_endpoint = True


def _shared(catalog: Catalog, design: OptionDesign, req: Requirements,
            demands: list[WorkloadDemand]) -> None:
    """Load balancer, NAT gateways, Kubernetes control plane and internet egress."""
    p, r = design.provider, design.region.code
    services = [d for d in demands if d.type in ("web_service", "worker", "ml_inference")]
    if design.has_public_endpoint or any(d.type == "static_site" for d in demands):
        design.has_public_endpoint = True
        _load_balancer(catalog, design, demands)
    if req.compliance:
        nat = first_row(catalog, p, r, ProductFamily.NAT_GATEWAY, dimension="hourly")
        count = design.zones_used
        if nat is not None:
            item = hourly_line(nat, count, workload="(shared)", component="NAT gateways",
                               note="one per zone; data processed through NAT not estimated")
            design.add(item, "network", growth.Fixed(item.monthly_usd))
        else:
            design.unpriced.append(f"(shared): NAT gateway in {p} {r}")
        design.capabilities["network_isolation"] = "private subnets with NAT gateways"
    k8s = req.preferences.kubernetes
    design.kubernetes = (k8s is KubernetesPreference.REQUIRED
                         or (k8s is KubernetesPreference.AUTO
                             and len(services) >= KUBERNETES_AUTO_MIN_SERVICES))
    if design.kubernetes:
        fee = (first_row(catalog, p, r, ProductFamily.KUBERNETES, tier="standard")
               or first_row(catalog, p, r, ProductFamily.KUBERNETES))
        if fee is not None:
            item = hourly_line(fee, 1, workload="(shared)", component="Kubernetes control plane")
            design.add(item, "kubernetes", growth.Fixed(item.monthly_usd))
        else:
            design.unpriced.append(f"(shared): managed Kubernetes control plane in {p} {r}")
    egress_gb = sum(d.egress_gb_per_month for d in demands)
    if egress_gb > 0:
        rows = tier_group(catalog, p, r, ProductFamily.EGRESS)
        if rows:
            items = tiered_lines(rows, egress_gb, workload="(shared)",
                                 component="internet egress")
            if not items:  # the free allowance covers it: say so, and let it grow
                free = rows[0].attributes.get("free_gb_per_month", 0)
                items = [line(min(rows, key=lambda r: r.tier_start or 0.0),
                              workload="(shared)", component="internet egress", quantity=0.0,
                              note=f"{egress_gb:g} GB within the {free:g} GB free allowance")]
            for item in items[:-1]:  # as for object storage: the last line carries it all
                design.add(item, "network", growth.Fixed(0.0))
            design.add(items[-1], "network", growth.ScaledTiers(rows, egress_gb))
        else:
            design.unpriced.append(f"(shared): internet egress ({egress_gb:g} GB) in {p} {r}")


def _load_balancer(catalog: Catalog, design: OptionDesign, demands: list[WorkloadDemand]
                   ) -> None:
    p, r = design.provider, design.region.code
    hourly = first_row(catalog, p, r, ProductFamily.LOAD_BALANCER, dimension="hourly")
    if hourly is None:
        design.unpriced.append(f"(shared): load balancer in {p} {r}")
        return
    item = hourly_line(hourly, 1, workload="(shared)", component="load balancer")
    design.add(item, "network", growth.Fixed(item.monthly_usd))
    design.capabilities["encryption_in_transit"] = "TLS terminated at the load balancer"
    avg_rps = sum(float(d.resources.get("avg_rps", 0)) for d in demands)
    egress = sum(d.egress_gb_per_month for d in demands
                 if d.type in ("web_service", "static_site", "ml_inference"))
    lcu = first_row(catalog, p, r, ProductFamily.LOAD_BALANCER, dimension="capacity")
    if lcu is not None and lcu.unit.value == "LCU-hour" and (avg_rps or egress):
        units = max(avg_rps / NEW_CONNECTIONS_PER_LCU,
                    egress / HOURS_PER_MONTH / GB_PER_HOUR_PER_LCU)
        item = line(lcu, workload="(shared)", component="load balancer capacity",
                    quantity=units * HOURS_PER_MONTH,
                    note=f"{units:.2f} LCU = max({avg_rps:g} rps / {NEW_CONNECTIONS_PER_LCU:g}, "
                         f"{egress:g} GB / {HOURS_PER_MONTH} h)")
        design.add(item, "network", growth.ScaledLinear(item.monthly_usd))
    data = first_row(catalog, p, r, ProductFamily.LOAD_BALANCER, dimension="data")
    if data is not None and egress:
        item = line(data, workload="(shared)", component="load balancer data processed",
                    quantity=egress, note=f"{egress:g} GB served through the load balancer")
        design.add(item, "network", growth.ScaledLinear(item.monthly_usd))


def design_option(catalog: Catalog, req: Requirements, demands: list[WorkloadDemand],
                  region: Region) -> OptionDesign:
    """Price every demand in one provider region at least cost."""
    design = OptionDesign(region=region)
    design.zones_used = min(region.zones, max(
        [int(d.resources.get("instances_min", 1)) for d in demands]
        + [2 if d.resources.get("ha") else 1 for d in demands]))
    for d in demands:
        match d.type:
            case "web_service":
                _web(catalog, design, req, d)
            case "worker":
                _worker(catalog, design, req, d)
            case "database":
                _database(catalog, design, req, d)
            case "cache":
                _cache(catalog, design, req, d)
            case "object_storage":
                _object_storage(catalog, design, d, str(d.resources["storage_class"]),
                                float(d.resources["storage_gb"]),
                                float(d.resources["growth_gb_per_month"]), "object storage")
            case "static_site":
                _object_storage(catalog, design, d, "standard",
                                float(d.resources["storage_gb"]), 0.0, "site files")
            case "ml_training" | "ml_inference":
                _gpu(catalog, design, req, d)
    _shared(catalog, design, req, demands)
    return design

