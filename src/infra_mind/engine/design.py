"""Designing one option: the services, SKUs and counts for one provider and region.

``design_option`` turns the sized demands into priced line items at least cost
under the requirements' constraints, and records the facts compliance and
review rules read, what it could not price, the purchase terms each workload got,
and how each line grows over the projection (``parts``). Machines are in
``compute``, the shared network (load balancer, CDN, NAT, egress, Kubernetes) in
``network``, the WAF and customer-managed keys a framework asks for in ``protection``;
the data stores are here.
"""

from __future__ import annotations

import math
from typing import assert_never

from infra_mind.catalog.burstable import burst_of, is_burstable_family
from infra_mind.catalog.model import PriceRow, ProductFamily, Unit, service_name
from infra_mind.catalog.regions import Region
from infra_mind.catalog.store import Catalog
from infra_mind.engine import compute, growth, network, protection
from infra_mind.engine.burstable import small_load
from infra_mind.engine.facts import DearerClass
from infra_mind.engine.money import qty
from infra_mind.engine.option import (
    COMMITMENT_OPTION,
    OptionDesign,
    PricedLine,
    committed,
    counterpart,
)
from infra_mind.engine.pricing import (
    beyond_tiers,
    first_row,
    hourly_line,
    line,
    money,
    tier_group,
    tiered_cost,
)
from infra_mind.engine.requirements import Requirements
from infra_mind.engine.sizing import HOURS_PER_MONTH, WorkloadDemand
from infra_mind.engine.workloads import WorkloadKind

__all__ = ["COMMITMENT_OPTION", "OptionDesign", "PricedLine", "counterpart", "design_option"]

#: Cloud SQL bills backup storage; RDS and Azure flexible servers include backups up to
#: 100% of the provisioned storage. Seven daily backups, incremental after the first,
#: hold about as much as the data itself: backup GB = data GB.
BACKUP_GB_PER_DATA_GB = 1.0
FREE_BACKUP_SHARE = {"aws": 1.0, "azure": 1.0}
#: Providers whose managed databases offer no high availability on burstable sizes: Azure
#: flexible servers ("The Burstable tier doesn't support high availability. Only the
#: General purpose and Memory optimized tiers support high availability":
#: learn.microsoft.com/azure/postgresql/high-availability/how-to-configure-high-availability,
#: limitations; the same for MySQL, .../mysql/flexible-server/concepts-high-availability).
#: RDS Multi-AZ instances and Cloud SQL HA take the burstable sizes the catalog has.
NO_HA_ON_BURSTABLE = frozenset({"azure"})
#: The smallest storage a managed database allocates (and bills), GB: RDS gp3 20 GiB
#: (docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html), Azure flexible
#: server 20 GiB for MySQL and 32 GiB for PostgreSQL (learn.microsoft.com/azure/mysql/
#: flexible-server/concepts-service-tiers-storage, .../postgresql/flexible-server/
#: concepts-storage), Cloud SQL 10 GB (cloud.google.com/sql/docs/quotas).
DB_MIN_STORAGE_GB = {("aws", "postgres"): 20.0, ("aws", "mysql"): 20.0,
                     ("azure", "postgres"): 32.0, ("azure", "mysql"): 20.0,
                     ("gcp", "postgres"): 10.0, ("gcp", "mysql"): 10.0}


def _block_storage(catalog: Catalog, design: OptionDesign, workload: str, gb: float,
                   copies: int, growth_gb: float) -> None:
    p, r = design.provider, design.region.code
    per_gb = [row for row in catalog.family_rows(p, r, ProductFamily.BLOCK_STORAGE)
              if row.unit.value == "GB-month"]
    if per_gb:
        row = per_gb[0]
        item = line(row, workload=workload, component="block storage", quantity=gb * copies,
                    note=f"{qty(gb)} GB x {copies} volume(s)")
        design.add(item, "storage", growth.GrowingStorage([row], gb, growth_gb, copies))
        return
    disks = sorted((row for row in catalog.family_rows(p, r, ProductFamily.BLOCK_STORAGE)
                    if row.unit.value == "month" and row.attributes.get("disk_gib")),
                   key=lambda row: row.attributes["disk_gib"])
    fitting = [row for row in disks if row.attributes["disk_gib"] >= gb]
    if fitting:
        row = fitting[0]
        item = line(row, workload=workload, component="block storage", quantity=copies,
                    note=f"{copies} disk(s) of {row.attributes['disk_gib']} GiB for {qty(gb)} GB")
        design.add(item, "storage", growth.Fixed(item.monthly_usd))
        return
    design.unpriced.append(f"{workload}: block storage ({qty(gb)} GB) in {p} {r}")


def _fits_database(row: PriceRow, vcpu: float, memory: float) -> bool:
    """A managed size fits when its memory does and its sustained vCPUs cover the need
    (a burstable or shared-core tier's baseline, see ``burstable``)."""
    if float(row.attributes.get("memory_gib", 0) or 0) < memory:
        return False
    if is_burstable_family(row):
        burst = burst_of(row)
        return (burst is not None and small_load(vcpu)
                and burst.sustained_vcpu >= vcpu - 1e-9)
    return float(row.attributes.get("vcpu", 0) or 0) >= vcpu - 1e-9


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
                    and _fits_database(row, vcpu, memory)
                    and not (ha and p in NO_HA_ON_BURSTABLE and is_burstable_family(row))]

        sizes, standby_at_primary_rate = fitting(deployment), False
        if not sizes and ha:
            # RDS Multi-AZ (one standby), Azure zone-redundant HA and Cloud SQL HA bill the
            # standby at the primary's rate: two instances of the single-zone price
            sizes, standby_at_primary_rate = fitting("single"), True
        if sizes:
            row = committed(catalog, sizes[0], req, design, d.workload)
            burst = burst_of(row) if is_burstable_family(row) else None
            note = f"{row.attributes['vcpu']} vCPU, {row.attributes['memory_gib']} GiB"
            if burst is not None:
                note += f"; burstable: {burst.basis}"
            if standby_at_primary_rate:
                note += "; primary + standby, the standby billed at the primary's rate"
            nodes = 2 if standby_at_primary_rate else 1
            item = hourly_line(row, nodes, workload=d.workload,
                               component=f"managed {engine} ({'HA' if ha else 'single'})",
                               note=note)
            design.add(item, "database", growth.Fixed(item.monthly_usd), row=row,
                       always_on_hours=nodes * HOURS_PER_MONTH)
            design.term(d.workload, row.purchase_option.value)
            design.managed_database = True
            design.database_ha |= ha
            service = service_name(row.service)
            design.components.append((f"{service} {row.sku}", "database", d.workload, True))
            design.capabilities.setdefault("backups", f"{service} automated backups")
            _database_storage(catalog, design, d.workload, engine, deployment, storage, grow, ha)
            return
        design.warnings.append(
            f"{d.workload}: no managed {engine} {deployment} size with >= {vcpu:g} vCPU and "
            f">= {memory:g} GiB is priced for {p} {r}; priced self-managed on machines")
        design.not_as_asked.append(d.workload)
    nodes = 2 if ha else 1
    if compute.machines(catalog, design, req, d,
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
    all_rows = [row for row in catalog.family_rows(p, r, ProductFamily.DATABASE_STORAGE)
                if row.attributes.get("engine", engine) == engine]
    rows = [row for row in all_rows if row.attributes.get("dimension") != "backup"]
    exact = [row for row in rows if row.attributes.get("deployment") == deployment]
    copies = 1
    if not exact:
        exact = [row for row in rows if row.attributes.get("deployment") in (None, "single")]
        copies = 2 if ha else 1  # the standby's storage is billed as a second copy
    if not exact:
        design.unpriced.append(f"{workload}: {engine} storage ({qty(gb)} GB) in {p} {r}")
        return
    row = exact[0]
    least = DB_MIN_STORAGE_GB.get((p, engine), 0.0)
    billed = max(gb, least)
    free = FREE_BACKUP_SHARE.get(p, 0.0)
    note = (f"{qty(gb)} GB" + (f", billed at the {qty(least)} GB minimum allocation"
                               if billed > gb else "")
            + (" x 2 (primary and standby copies)" if copies == 2 else "")
            # said where no backup line follows: why one option prices backups and
            # another does not
            + ("; automated backups (seven daily, incremental) included up to "
               f"{free:.0%} of the storage" if free >= BACKUP_GB_PER_DATA_GB else ""))
    item = line(row, workload=workload, component="database storage",
                quantity=billed * copies, note=note)
    design.add(item, "storage", growth.GrowingStorage([row], gb, grow, copies, least))
    backup = [row for row in all_rows if row.attributes.get("dimension") == "backup"]
    billable = max(0.0, (BACKUP_GB_PER_DATA_GB - free) * gb)
    if backup and billable > 0:
        item = line(backup[0], workload=workload, component="database backups",
                    quantity=billable, note=f"{BACKUP_GB_PER_DATA_GB:g} x {qty(gb)} GB of data "
                                            "(seven daily backups, incremental)")
        design.add(item, "storage", growth.GrowingStorage(
            [backup[0]], billable, grow * (BACKUP_GB_PER_DATA_GB - free), 1))


def _cache(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand
           ) -> None:
    res = d.resources
    ha, memory = bool(res["ha"]), float(res["memory_gib"])
    p, r = design.provider, design.region.code
    nodes = 2 if ha else 1
    managed = _cache_choices(catalog.family_rows(p, r, ProductFamily.CACHE), memory, ha)
    if req.preferences.managed_services and managed:
        units, row = managed[0]
        row = committed(catalog, row, req, design, d.workload)
        replicas = "primary + replica" if ha else ""
        if row.unit is Unit.GB_MONTH:
            tier, needed = row.attributes, math.ceil(memory - 1e-9)
            rate = (f"capacity tier {tier['capacity_tier']}'s rate for {tier['min_gib']:g}-"
                    f"{tier['max_gib']:g} GB instances")
            note = (f"{units:g} GB provisioned (>= {memory:g} GiB, whole GB), billed at {rate}"
                    if units <= needed else
                    f"{units:g} GB provisioned for {memory:g} GiB: at {rate} it costs less "
                    f"than {needed} GB at a smaller tier's")
            item = line(row, workload=d.workload, component="managed cache", quantity=units,
                        note=note + (f"; {replicas}, sold as one" if ha else ""))
        else:
            item = hourly_line(row, units, workload=d.workload, component="managed cache nodes",
                               note=(f"{replicas}, sold as one" if ha and units == 1
                                     else replicas))
        design.add(item, "cache", growth.Fixed(item.monthly_usd), row=row,
                   always_on_hours=nodes * HOURS_PER_MONTH)
        design.term(d.workload, row.purchase_option.value)
        return
    if req.preferences.managed_services:
        design.warnings.append(f"{d.workload}: no managed cache node with >= {memory:g} GiB is "
                               f"priced for {p} {r}; priced self-managed Redis on machines")
        design.not_as_asked.append(d.workload)
    if compute.machines(catalog, design, req, d, component="Redis nodes (self-managed)",
                 vcpu=1.0 * nodes, memory_per_instance=memory, total_memory=0.0,
                 min_count=nodes, spot=False, scales=False, vcpu_per_instance=1.0):
        design.lines[-1].kind = "cache"


def _cache_choices(rows: list[PriceRow], memory: float, ha: bool
                   ) -> list[tuple[float, PriceRow]]:
    """The managed caches that hold ``memory`` GiB, as (units, row), cheapest a month first.

    Node-priced rows (units: nodes) hold their ``memory_gib``: one node (deployment
    ``single``); with HA, two nodes where the product prices nodes (an ElastiCache
    replication group: a primary and a replica node, no tier), or a Standard-tier cache
    sold as one (deployment ``ha``, tier ``standard``: a primary and a replica), on a tie
    the one that replicates. Two Basic-tier caches (Memorystore, Azure Cache for Redis) are
    not HA: Basic does not replicate, so a tiered product's HA is its Standard tier or
    nothing (the caller designs Redis on machines). Premium tiers (persistence, clustering)
    are another product, not chosen for a replica alone. Azure's catalog has one Standard
    size (C3, 6 GB), so a larger Azure HA cache is self-managed: two Basic C4 had been
    priced as its "primary + replica".

    Capacity-priced rows (Memorystore: per GB-month, ``min_gib`` to ``max_gib``; units: GB)
    price an instance of ``ceil(memory)`` GB, or a tier's smallest size where that is larger,
    at the rate of the capacity tier its size is in: an 80 GB cache is billed 80 GB, not the
    100 GB of a listed size above it, and a 3 GB one costs less as 5 GB at M2's rate than as
    3 GB at M1's.
    """
    def monthly(units: float, row: PriceRow) -> float:
        hours = 1 if row.unit is Unit.GB_MONTH else HOURS_PER_MONTH
        return round(units * float(row.price_usd) * hours, 6)

    single = [row for row in rows if row.attributes.get("deployment", "single") == "single"]
    replicated = [row for row in rows if row.attributes.get("deployment") == "ha"
                  and row.attributes.get("tier") == "standard"]
    gb = max(1, math.ceil(memory - 1e-9))
    # an instance at least the size of a tier's smallest: M2's lowest rate can make 5 GB cost
    # less than 3 or 4 GB at M1's
    choices: list[tuple[float, PriceRow]] = [
        (float(max(gb, row.attributes["min_gib"])), row) for row in (replicated if ha else single)
        if row.unit is Unit.GB_MONTH and gb <= row.attributes["max_gib"]]
    big = [row for row in rows if row.unit is Unit.HOUR
           and row.attributes.get("memory_gib", 0) >= memory]
    if not ha:
        choices += [(1, row) for row in big if row in single]
    else:
        choices += [(2, row) for row in big if row in single
                    and row.attributes.get("tier") is None]
        choices += [(1, row) for row in big if row in replicated]
    # on a tie, a replicated cache sold as one before two nodes
    return sorted(choices, key=lambda c: (monthly(*c), c[0]))


def _object_storage(catalog: Catalog, design: OptionDesign, d: WorkloadDemand,
                    storage_class: str, gb: float, grow: float, component: str) -> None:
    p, r = design.provider, design.region.code
    rows = tier_group(catalog, p, r, ProductFamily.OBJECT_STORAGE, storage_class=storage_class)
    if not rows:
        design.unpriced.append(f"{d.workload}: {storage_class} object storage in {p} {r}")
        return
    items = design.tiered(rows, gb, workload=d.workload, component=component)
    if not items:
        return
    # one line per tier used; the last carries the growth of the whole tiered cost, so
    # the projection re-tiers the growing total rather than growing each tier alone
    for item in items[:-1]:
        design.add(item, "storage", growth.Fixed(0.0))
    design.add(items[-1], "storage", growth.GrowingStorage(rows, gb, grow, 1))


#: The standard class is named as the cheaper one when it saves at least this much a month
#: and this share of the infrequent class's storage and retrieval.
DEARER_CLASS_MIN_USD = 10.0
DEARER_CLASS_MIN_SHARE = 0.1


def _retrieval(catalog: Catalog, design: OptionDesign, d: WorkloadDemand) -> None:
    """What reading an infrequent-access bucket costs: its class bills every GB read out
    (S3 Standard-IA, Nearline, Blob Cool), beside the egress. A bucket read directly sends
    its egress; one behind the CDN is read for the cache fills only."""
    p, r = design.provider, design.region.code
    public = bool(d.resources.get("public"))
    gb = d.egress_gb_per_month * ((1 - network.CDN_CACHE_HIT_RATIO) if public else 1.0)
    if gb <= 0:
        return
    row = first_row(catalog, p, r, ProductFamily.OBJECT_STORAGE, retrieval_of="infrequent")
    if row is None:
        design.unpriced.append(f"{d.workload}: data retrieval ({qty(gb)} GB a month) in {p} {r}")
        return
    how = (f"{qty(d.egress_gb_per_month)} GB egress x (1 - {network.CDN_CACHE_HIT_RATIO:g} CDN "
           "cache hit ratio): the CDN's origin reads" if public else
           "its egress: every GB sent is read out of the class first")
    item = line(row, workload=d.workload, component="data retrieval", quantity=gb,
                note=f"{qty(gb)} GB read a month, {how}")
    design.add(item, "storage", growth.ScaledLinear(item.monthly_usd) if public
               else growth.Fixed(item.monthly_usd))
    stored = float(d.resources["storage_gb"])
    standard = tier_group(catalog, p, r, ProductFamily.OBJECT_STORAGE, storage_class="standard")
    infrequent = tier_group(catalog, p, r, ProductFamily.OBJECT_STORAGE,
                            storage_class="infrequent")
    if standard and infrequent and not beyond_tiers(standard, stored):
        as_infrequent = tiered_cost(infrequent, stored) + item.monthly_usd
        as_standard = tiered_cost(standard, stored)
        if as_infrequent - as_standard >= max(DEARER_CLASS_MIN_USD,
                                              DEARER_CLASS_MIN_SHARE * as_infrequent):
            design.dearer_classes.append(DearerClass(d.workload, stored, gb, money(as_infrequent),
                                                     money(as_standard)))


def design_option(catalog: Catalog, req: Requirements, demands: list[WorkloadDemand],
                  region: Region) -> OptionDesign:
    """Price every demand in one provider region at least cost.

    A load balancer that only a web fleet's second instance at peak calls for is part of
    that fleet's cost: a design where each web service runs on one machine that carries
    its peak alone, with no load balancer, is priced too, and the cheaper one is kept.
    Choosing each fleet by its machines alone picked two machines and a load balancer
    (210.85 a month) over one larger machine (205.13) for a small service whose peak
    lasted 4 hours, and the larger machine once the peak lasted 6: longer peaks cost less.
    """
    design = _nat_priced(catalog, req, demands, region, web_alone=False)
    if design.load_balancer and not network.standing_load_balancer_reasons(design, req):
        alone = _nat_priced(catalog, req, demands, region, web_alone=True)
        if (not alone.load_balancer and len(alone.violations) <= len(design.violations)
                and len(alone.unpriced) <= len(design.unpriced)
                and alone.monthly_usd < design.monthly_usd):
            return alone
    return design


def _nat_priced(catalog: Catalog, req: Requirements, demands: list[WorkloadDemand],
                region: Region, web_alone: bool) -> OptionDesign:
    """``_priced``, and where the design pays Cloud NAT per VM-hour, priced again with
    machines chosen as if each VM-hour adds nothing (it does not past the gateway cap, 32
    VMs at once); the cheaper bill is kept. Choosing with the per-VM charge alone picked
    e2-highcpu-4 over e2-highcpu-2 for a 680-vCPU peak at 99.9% (2,279.54 a month), and
    the same fleet cost less at 99.99% (2,273.53): a higher target lowered the bill. Each
    way prices NAT exactly, so the cheaper of the two is the cheaper bill."""
    design = _priced(catalog, req, demands, region, web_alone)
    if not any(pl.item.component.startswith(network.CLOUD_NAT) for pl in design.lines):
        return design
    capped = _priced(catalog, req, demands, region, web_alone, nat_capped=True)
    if (len(capped.violations) <= len(design.violations)
            and len(capped.unpriced) <= len(design.unpriced)
            and capped.monthly_usd < design.monthly_usd):
        return capped
    return design


def _priced(catalog: Catalog, req: Requirements, demands: list[WorkloadDemand],
            region: Region, web_alone: bool, nat_capped: bool = False) -> OptionDesign:
    design = OptionDesign(region=region, nat_capped=nat_capped)
    design.kubernetes = network.uses_kubernetes(req, demands)
    # one zone per instance an availability floor asks for: a web fleet's instances, a
    # model's serving replicas, a database's standby
    design.zones_used = min(region.zones, max(
        [int(d.resources.get("instances_min", d.resources.get("replicas_min", 1)))
         for d in demands]
        + [2 if d.resources.get("ha") else 1 for d in demands]))
    for d in demands:
        match d.type:
            case WorkloadKind.WEB_SERVICE:
                compute.web(catalog, design, req, d, alone=web_alone)
            case WorkloadKind.WORKER:
                compute.worker(catalog, design, req, d)
            case WorkloadKind.DATABASE:
                _database(catalog, design, req, d)
            case WorkloadKind.CACHE:
                _cache(catalog, design, req, d)
            case WorkloadKind.OBJECT_STORAGE:
                _object_storage(catalog, design, d, str(d.resources["storage_class"]),
                                float(d.resources["storage_gb"]),
                                float(d.resources["growth_gb_per_month"]), "object storage")
                if d.resources["storage_class"] == "infrequent":
                    _retrieval(catalog, design, d)
            case WorkloadKind.STATIC_SITE:
                _object_storage(catalog, design, d, "standard",
                                float(d.resources["storage_gb"]), 0.0,
                                "site files (CDN origin)")
            case WorkloadKind.ML_TRAINING | WorkloadKind.ML_INFERENCE:
                compute.gpu(catalog, design, req, d)
            case _:
                assert_never(d.type)
    network.shared(catalog, design, req, demands)
    protection.protect(catalog, design, req, demands)
    return design
