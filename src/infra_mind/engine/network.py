"""The shared network of an option: load balancer, CDN, NAT, Kubernetes fee, egress.

Each is priced the way its provider bills it, with the usage assumptions stated
here (each constant says why it has its value). Called by ``design.design_option``
once every workload is priced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import assert_never

from infra_mind.catalog.model import PriceRow, ProductFamily, Provider, Unit
from infra_mind.catalog.store import Catalog
from infra_mind.engine import growth
from infra_mind.engine.money import qty, usd
from infra_mind.engine.option import OptionDesign
from infra_mind.engine.pricing import first_row, hourly_line, line, tier_group
from infra_mind.engine.requirements import KubernetesPreference, Requirements, Workload
from infra_mind.engine.sizing import HOURS_PER_MONTH, WorkloadDemand
from infra_mind.engine.workloads import (
    LOAD_BALANCED,
    behind_public_load_balancer,
    is_internal,
    kinds_where,
)

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
#: The lines of Google's Cloud NAT (``_cloud_nat``): per VM-hour, or the gateway cap.
CLOUD_NAT = "Cloud NAT"
#: Kubernetes (auto) is chosen when the design has at least this many always-on services.
KUBERNETES_AUTO_MIN_SERVICES = 3
#: The workload kinds (see ``workloads.KINDS``) that count as such services, and whose
#: stated egress passes NAT (those whose responses pass the load balancer:
#: ``workloads.LOAD_BALANCED``).
_RUNS_SERVICE = kinds_where(lambda f: f.runs_service)
_EGRESS_THROUGH_NAT = kinds_where(lambda f: f.egress_through_nat)
#: The kinds that run inside the customer's network, so private subnets (and NAT) apply.
IN_PRIVATE_NETWORK = kinds_where(lambda f: f.in_private_network)
#: Below this availability target one instance may serve a public service without a load
#: balancer: the providers' single-instance SLAs are 99.5% (EC2, Compute Engine) to 99.9%
#: (an Azure VM on premium SSD), and the platform restarts a failed instance on its
#: health check (EC2 auto recovery, Azure service healing, a Compute Engine managed
#: instance group of one with autohealing).
SINGLE_INSTANCE_MAX_AVAILABILITY = 99.9

# -- AWS Application Load Balancer capacity units (aws.amazon.com/elasticloadbalancing/
# pricing/): an LCU is 25 new connections a second, 3,000 active connections (per
# minute), 1 GB processed an hour for instance targets, or 1,000 rule evaluations a
# second; an hour is billed on its largest dimension.
NEW_CONNECTIONS_PER_LCU = 25.0
ACTIVE_CONNECTIONS_PER_LCU = 3000.0
GB_PER_HOUR_PER_LCU = 1.0
#: Requests carried by one connection. Browsers and API clients keep connections alive
#: (HTTP/1.1 keep-alive, HTTP/2 multiplexing every request of a page on one connection;
#: a page makes about 70 requests, HTTP Archive Web Almanac 2022), and the ALB keeps an
#: idle connection 60 s by default; 20 is a low figure for that, so the estimate errs high.
REQUESTS_PER_CONNECTION = 20.0
#: How long a connection stays open: its requests, then the ALB's 60-s idle timeout.
CONNECTION_SECONDS = 60.0
#: Rule evaluations: the first 10 rules of a listener are free and a design has one
#: route per service, so rule evaluations never set the LCU count here.
#: Bytes of a request (request line and headers with cookies or a token), for load
#: balancers that bill the data they receive.
AVG_REQUEST_BYTES = 1000.0
#: Which data a load balancer's per-GB price applies to, where the row does not say
#: (attribute ``direction``): Google Cloud's load balancers bill the data they receive
#: ("inbound data processed", cloud.google.com/vpc/network-pricing); Azure Standard Load
#: Balancer bills data processed both ways (azure.microsoft.com/pricing/details/
#: load-balancer). Responses are the services' stated egress.
LB_DATA_DIRECTION = {"gcp": "inbound", "azure": "both"}

# -- CDN ---------------------------------------------------------------------------------
#: Share of CDN requests served from the edge cache. Static sites and versioned assets
#: cache well; 90% is a conservative figure for them (cache fill is billed on the rest).
CDN_CACHE_HIT_RATIO = 0.9
#: Providers that bill the transfer from the origin to the CDN ("cache fill"): Cloud CDN
#: does; AWS does not charge S3-to-CloudFront transfer and Azure does not charge
#: Azure-origin transfer to its CDN.
CDN_CACHE_FILL_BILLED = frozenset({"gcp"})
#: Providers whose CDN bills requests: CloudFront (HTTPS requests) and Cloud CDN (cache
#: lookups) do; Azure CDN Standard from Microsoft bills data only (Azure Front Door bills
#: requests: its request rows are priced when the catalog has them).
CDN_REQUESTS_BILLED = frozenset({"aws", "gcp"})
#: Each provider's CDN, as review findings name it.
CDN_NAMES = {"aws": "CloudFront", "azure": "Azure CDN", "gcp": "Cloud CDN"}


#: The most memory a vCPU comes with on the providers' memory-optimised shapes (r6g, E
#: series, n2-highmem: 8 GiB a vCPU): a worker's memory needs at least its total / this
#: many vCPUs held while it runs.
MEMORY_GIB_PER_VCPU_MAX = 8.0
#: ... and a worker stated in vCPU-hours whose work keeps those busy less than this share
#: of the month (``compute.PART_TIME_UTILISATION``) is batch work, not an always-on service.
BATCH_UTILISATION = 0.5


def batch_work(d: WorkloadDemand) -> bool:
    """A CPU worker stated in vCPU-hours whose work would leave even the fewest vCPUs that
    hold its memory idle most of the month: a job run when there is work. A smart-meter
    firm's nightly billing run, 240 vCPU-hours a month with 16 GB, had been counted an
    always-on service and, with its two APIs, tipped the design onto a cluster."""
    res = d.resources
    if d.type != "worker" or "vcpu_hours_per_month" not in res or "gpu_count" in res \
            or res.get("follows_traffic"):
        return False
    held_vcpu = max(1.0, float(res["memory_gib"]) / MEMORY_GIB_PER_VCPU_MAX)
    return float(res["vcpu"]) / held_vcpu < BATCH_UTILISATION


def always_on_services(demands: list[WorkloadDemand]) -> list[str]:
    """The long-running services of the business's own that run all month: a GPU batch
    job started for its hours (a monthly retraining run of 72 h) is not one, and had made
    a radiology team's two services three, and a cluster; nor is CPU batch work
    (``batch_work``)."""
    return [d.workload for d in demands if d.type in _RUNS_SERVICE
            and float(d.resources.get("hours_per_month", HOURS_PER_MONTH)) >= HOURS_PER_MONTH
            and not batch_work(d)]


def uses_kubernetes(req: Requirements, demands: list[WorkloadDemand]) -> bool:
    """Whether the services run on a Kubernetes cluster: when required, or on ``auto``
    with ``KUBERNETES_AUTO_MIN_SERVICES`` always-on services or more. Decided before the
    machines are chosen: a cluster's nodes are sized on what they leave for pods."""
    k8s = req.preferences.kubernetes
    return (k8s is KubernetesPreference.REQUIRED
            or (k8s is KubernetesPreference.AUTO
                and len(always_on_services(demands)) >= KUBERNETES_AUTO_MIN_SERVICES))


def kubernetes_why_not(req: Requirements, demands: list[WorkloadDemand]) -> str | None:
    """Why a design on ``auto`` runs no cluster, where it has services that could have
    shared one; None otherwise. "Do we need Kubernetes?" had found only the preference."""
    if req.preferences.kubernetes is not KubernetesPreference.AUTO or uses_kubernetes(
            req, demands):
        return None
    services = always_on_services(demands)
    batch = [d.workload for d in demands if batch_work(d)]
    if not services and not batch:
        return None
    text = (f"No Kubernetes cluster (preferences.kubernetes: auto): {len(services)} "
            f"always-on service{'' if len(services) == 1 else 's'}"
            + (f" ({', '.join(services)})" if services else "")
            + f", fewer than the {KUBERNETES_AUTO_MIN_SERVICES} at which sharing a cluster "
              "pays for its control plane and its upgrades; they run on machines of their "
              "own")
    if batch:
        text += (f". Batch work ({', '.join(batch)}) is not counted: it keeps its machines "
                 "busy under half the month")
    return text + "."


def kubernetes_why(req: Requirements, demands: list[WorkloadDemand]) -> str:
    """Why a design runs a cluster (``uses_kubernetes``), in words."""
    if req.preferences.kubernetes is KubernetesPreference.REQUIRED:
        return "preferences.kubernetes: required"
    services = always_on_services(demands)
    return (f"preferences.kubernetes: auto, and {len(services)} always-on services (at least "
            f"{KUBERNETES_AUTO_MIN_SERVICES}) share the cluster: " + ", ".join(services))


def shared(catalog: Catalog, design: OptionDesign, req: Requirements,
           demands: list[WorkloadDemand]) -> None:
    """Kubernetes, load balancer or single endpoint, CDN, NAT and internet egress."""
    design.kubernetes = uses_kubernetes(req, demands)
    _entry(catalog, design, req, demands)
    _cdn(catalog, design, demands)
    if req.compliance and in_private_network(demands):
        if has_machines(design):
            _nat(catalog, design, demands)
        else:
            # managed databases and caches alone: private addresses only, and nothing
            # that starts connections to the internet, so no NAT gateway to pay for
            design.capabilities["network_isolation"] = (
                "databases and caches on private addresses only, with no public endpoint "
                "(no machines, so no NAT gateway)")
    if design.kubernetes:
        _kubernetes(catalog, design, req, demands)
    _egress(catalog, design, demands)


# -- entry: a load balancer, or one instance's own endpoint -------------------------------


def load_balancer_reasons(design: OptionDesign, req: Requirements) -> list[str]:
    """Why the public services need a load balancer; empty when one instance will do."""
    reasons = standing_load_balancer_reasons(design, req)
    busy = [w for w, peak, _ in design.public_services if peak > 1]
    if busy:
        reasons.append(f"more than one instance at peak ({', '.join(busy)})")
    return reasons


def standing_load_balancer_reasons(design: OptionDesign, req: Requirements) -> list[str]:
    """Why the public services need a load balancer however many instances they run."""
    reasons = []
    if float(req.availability_target) >= SINGLE_INSTANCE_MAX_AVAILABILITY:
        reasons.append(f"availability {req.availability_target}% needs instances in two zones")
    if req.compliance:
        reasons.append("compliance puts instances in private subnets")
    if design.kubernetes:
        reasons.append("Kubernetes ingress")
    return reasons


def _entry(catalog: Catalog, design: OptionDesign, req: Requirements,
           demands: list[WorkloadDemand]) -> None:
    _internal_entry(catalog, design, req, demands)
    if not design.public_services:
        return
    design.has_public_endpoint = True
    if load_balancer_reasons(design, req):
        design.load_balancer = True
        _load_balancer(catalog, design,
                       [d for d in demands if behind_public_load_balancer(d)])
        return
    for _, _, index in design.public_services:
        pl = design.lines[index]
        note = (f"{pl.item.note}; one instance on its own health-checked public endpoint, "
                f"no load balancer (availability {req.availability_target}% < "
                f"{SINGLE_INSTANCE_MAX_AVAILABILITY:g}, no private subnets, one instance at "
                "peak)")
        pl.item = pl.item.model_copy(update={"note": note})
    design.capabilities.setdefault("encryption_in_transit",
                                   "TLS terminated on the instance's public endpoint")


def _internal_entry(catalog: Catalog, design: OptionDesign, req: Requirements,
                    demands: list[WorkloadDemand]) -> None:
    """How the business's own services reach its internal ones. On a cluster, its service
    network (no line); on machines, an internal load balancer of their own where there is
    more than one instance to reach (or the availability target puts them in two zones),
    else the one instance's private address. Never the public load balancer, whose WAF
    and capacity they would pay for, nor the internet."""
    if not design.internal_services:
        return
    internal = [d for d in demands if is_internal(d)]
    two_zones = float(req.availability_target) >= SINGLE_INSTANCE_MAX_AVAILABILITY
    busy = two_zones or any(peak > 1 for _, peak, _ in design.internal_services)
    if design.kubernetes:
        how = "reached by the other services through the cluster's service network"
    elif busy:
        how = "reached by the other services through an internal load balancer"
        _load_balancer(catalog, design, internal, internal=True)
    else:
        how = "reached by the other services on its private address, no load balancer"
    for _, _, index in design.internal_services:
        pl = design.lines[index]
        pl.item = pl.item.model_copy(update={"note": f"{pl.item.note}; internal: {how}"})


def _load_balancer(catalog: Catalog, design: OptionDesign, demands: list[WorkloadDemand],
                   internal: bool = False) -> None:
    """The load balancer of ``demands``: the public one, or ``internal``, the internal
    services' own (priced as the provider prices either: one product, an internal
    scheme), its capacity and data from their requests and responses alone."""
    p, r = design.provider, design.region.code
    name = "internal load balancer" if internal else "load balancer"
    hourly = first_row(catalog, p, r, ProductFamily.LOAD_BALANCER, dimension="hourly")
    if hourly is None:
        design.unpriced.append(f"(shared): {name} in {p} {r}")
        return
    item = hourly_line(hourly, 1, workload="(shared)", component=name)
    design.add(item, "network", growth.Fixed(item.monthly_usd))
    if not internal:
        design.capabilities["encryption_in_transit"] = "TLS terminated at the load balancer"
    avg_rps = sum(float(d.resources.get("avg_rps", 0)) for d in demands)
    # an internal service's responses go to the other services, not through it out
    egress = sum(d.egress_gb_per_month for d in demands
                 if d.type in LOAD_BALANCED and not internal)
    capacity = first_row(catalog, p, r, ProductFamily.LOAD_BALANCER, dimension="capacity")
    if capacity is not None and capacity.unit is Unit.LCU_HOUR and (avg_rps or egress):
        _capacity_units(design, capacity, avg_rps, egress, name)
    elif capacity is not None and capacity.unit is Unit.HOUR:
        # forwarding or routing rules beyond those the hourly price includes, one a service
        included = int(hourly.attributes.get("rules_included", 0) or 0)
        extra = len(design.internal_services if internal else design.public_services) - included
        if included and extra > 0:
            item = hourly_line(capacity, extra, workload="(shared)",
                               component=f"{name} rules",
                               note=f"one rule a service, {included} included")
            design.add(item, "network", growth.Fixed(item.monthly_usd))
    data = first_row(catalog, p, r, ProductFamily.LOAD_BALANCER, dimension="data")
    if data is not None:
        direction = str(data.attributes.get("direction") or LB_DATA_DIRECTION.get(p, "both"))
        inbound = received_gb(avg_rps)
        received = (f"{avg_rps:g} rps x {SECONDS_PER_MONTH:,} s x {AVG_REQUEST_BYTES:g} bytes "
                    f"= {inbound:,.1f} GB received")
        if direction == "inbound" or (direction == "both" and not egress):
            gb, note = inbound, received
        elif direction == "outbound":
            gb, note = egress, f"{qty(egress)} GB served"
        else:
            gb, note = inbound + egress, f"{received} + {qty(egress)} GB served"
        if gb > 0:
            item = line(data, workload="(shared)", component=f"{name} data processed",
                        quantity=gb, note=note)
            design.add(item, "network", growth.ScaledLinear(item.monthly_usd))


def received_gb(avg_rps: float) -> float:
    """GB a month a load balancer receives at ``avg_rps``: requests x their bytes."""
    return avg_rps * SECONDS_PER_MONTH * AVG_REQUEST_BYTES / 1e9


def open_connections(avg_rps: float) -> float:
    """Client connections open at ``avg_rps``: new ones a second (kept alive for
    ``REQUESTS_PER_CONNECTION`` requests) x the seconds each stays open."""
    return avg_rps / REQUESTS_PER_CONNECTION * CONNECTION_SECONDS


def _capacity_units(design: OptionDesign, row: PriceRow, avg_rps: float, egress: float,
                    name: str = "load balancer") -> None:
    """AWS LCU-hours: the largest of the LCU dimensions at average load."""
    new_per_s = avg_rps / REQUESTS_PER_CONNECTION
    active = open_connections(avg_rps)
    by_new = new_per_s / NEW_CONNECTIONS_PER_LCU
    by_active = active / ACTIVE_CONNECTIONS_PER_LCU
    by_bytes = egress / HOURS_PER_MONTH / GB_PER_HOUR_PER_LCU
    units = max(by_new, by_active, by_bytes)
    note = (f"{units:.2f} LCU = max(new connections {new_per_s:.2f}/s / "
            f"{NEW_CONNECTIONS_PER_LCU:g} = {by_new:.2f}, active {active:,.0f} / "
            f"{ACTIVE_CONNECTIONS_PER_LCU:,.0f} = {by_active:.2f}, processed {qty(egress)} GB / "
            f"{HOURS_PER_MONTH} h / {GB_PER_HOUR_PER_LCU:g} GB = {by_bytes:.2f}); "
            f"{avg_rps:g} rps at {REQUESTS_PER_CONNECTION:g} requests a connection "
            f"(keep-alive), each open {CONNECTION_SECONDS:g} s")
    item = line(row, workload="(shared)", component=f"{name} capacity",
                quantity=units * HOURS_PER_MONTH, note=note)
    design.add(item, "network", growth.ScaledLinear(item.monthly_usd))


# -- CDN -------------------------------------------------------------------------------


def _cdn_request_rows(catalog: Catalog, provider: str, region: str) -> list[PriceRow]:
    rows = tier_group(catalog, provider, region, ProductFamily.CDN, dimension="requests",
                      protocol="https")
    return rows or tier_group(catalog, provider, region, ProductFamily.CDN,
                              dimension="requests")


def _cdn(catalog: Catalog, design: OptionDesign, demands: list[WorkloadDemand]) -> None:
    """Static sites and public buckets behind the provider's CDN, object storage the origin.

    One distribution: the CDN's volume tiers apply to the account's total.
    """
    public = [d for d in demands if d.resources.get("public")]
    if not public:
        return
    p, r = design.provider, design.region.code
    design.has_public_endpoint = True
    design.capabilities.setdefault("encryption_in_transit", "TLS at the CDN edge")
    egress = sum(d.egress_gb_per_month for d in public)
    requests = sum(float(d.resources.get("cdn_requests_per_month", 0)) for d in public)
    names = ", ".join(d.workload for d in public)
    rows = tier_group(catalog, p, r, ProductFamily.CDN, dimension="data")
    if not rows:
        design.unpriced.append(f"(shared): CDN for {names} ({qty(egress)} GB a month) in {p} {r}")
        return
    if egress > 0:
        _tiered_data(design, rows, egress, "CDN data transfer")
    if requests > 0:
        request_rows = _cdn_request_rows(catalog, p, r)
        if not request_rows:
            if p in CDN_REQUESTS_BILLED:
                design.unpriced.append(f"(shared): CDN requests in {p} {r}")
        else:
            per = 10_000 if request_rows[0].unit is Unit.REQUESTS_10K else 1_000
            units = requests / per
            for item in design.tiered(request_rows, units, workload="(shared)",
                                      component="CDN requests"):
                item = item.model_copy(update={"note": f"{requests:,.0f} requests / {per:,}"
                                               + (f"; {item.note}" if item.note else "")})
                design.add(item, "network", growth.ScaledLinear(item.monthly_usd))
    if p in CDN_CACHE_FILL_BILLED and egress > 0:
        _data_line(catalog, design, ProductFamily.CDN, "cache_fill", "CDN cache fill",
                   egress * (1 - CDN_CACHE_HIT_RATIO),
                   f"{qty(egress)} GB x (1 - {CDN_CACHE_HIT_RATIO:g} cache hit ratio)",
                   growth.ScaledLinear)


def _data_line(catalog: Catalog, design: OptionDesign, family: ProductFamily, dimension: str,
               component: str, gb: float, note: str,
               part: Callable[[float], growth.Part]) -> None:
    """A shared line of ``gb`` priced at the row of ``dimension``, growing as ``part``
    does; without such a row, the design says what it could not price."""
    p, r = design.provider, design.region.code
    row = first_row(catalog, p, r, family, dimension=dimension)
    if row is None:
        design.unpriced.append(f"(shared): {component} ({qty(gb)} GB) in {p} {r}")
        return
    item = line(row, workload="(shared)", component=component, quantity=gb, note=note)
    design.add(item, "network", part(item.monthly_usd))


# -- NAT ---------------------------------------------------------------------------------


def has_machines(design: OptionDesign) -> bool:
    """Whether the design runs machines of its own (app servers, workers, GPU machines,
    self-managed stores): the only parts that start connections out through NAT."""
    return any(pl.vm for pl in design.lines)


def in_private_network(workloads: Iterable[WorkloadDemand | Workload]) -> bool:
    """Whether any part runs inside the customer's network: a design of object storage
    and the CDN alone (a static site, downloads) has nothing to put in private subnets,
    so no NAT gateway, whatever the compliance framework. Takes the demands or the
    requirements' workloads (both carry the kind as ``type``)."""
    return any(w.type in IN_PRIVATE_NETWORK for w in workloads)


def nat_data_gb(demands: list[WorkloadDemand]) -> float:
    """Data through NAT: the outbound traffic private machines start themselves.

    Workers', training's and internal services' stated egress (webhooks, third-party
    APIs, uploads); public web responses leave through the load balancer and object
    downloads from the storage service, so neither passes NAT. Package and image pulls
    are assumed to use the provider's private endpoints and are not counted.
    """
    return sum(d.egress_gb_per_month for d in demands
               if d.type in _EGRESS_THROUGH_NAT or is_internal(d))


def _nat(catalog: Catalog, design: OptionDesign, demands: list[WorkloadDemand]) -> None:
    p, r = design.provider, design.region.code
    design.capabilities["network_isolation"] = "private subnets with NAT gateways"
    provider = design.region.provider
    match provider:
        case Provider.GCP:
            _cloud_nat(catalog, design)
        case Provider.AWS | Provider.AZURE:
            # AWS NAT gateways and Azure NAT Gateway are zonal: one per zone in use
            hourly = first_row(catalog, p, r, ProductFamily.NAT_GATEWAY, dimension="hourly")
            if hourly is None:
                design.unpriced.append(f"(shared): NAT gateway in {p} {r}")
            else:
                item = hourly_line(hourly, design.zones_used, workload="(shared)",
                                   component="NAT gateways", note="one per zone")
                design.add(item, "network", growth.Fixed(item.monthly_usd))
        case _:
            assert_never(provider)
    gb = nat_data_gb(demands)
    if gb > 0:
        _data_line(catalog, design, ProductFamily.NAT_GATEWAY, "data", "NAT data processed",
                   gb, f"{qty(gb)} GB a month started by workers (their stated egress)",
                   growth.Fixed)


def nat_quote(catalog: Catalog, design: OptionDesign, demands: list[WorkloadDemand]
              ) -> tuple[float | None, str]:
    """What private subnets with NAT would add to ``design`` a month, priced as ``_nat``
    prices them, and the parts the figure covers ("NAT gateways", "Cloud NAT (per VM)");
    None (with what is missing) where the catalog cannot price it. ``design`` is not
    changed."""
    probe = OptionDesign(region=design.region, zones_used=design.zones_used,
                         lines=[pl for pl in design.lines if pl.vm])
    before = len(probe.lines)
    _nat(catalog, probe, demands)
    if probe.unpriced:
        return None, "; ".join(probe.unpriced)
    added = probe.lines[before:]
    return (round(sum(pl.item.monthly_usd for pl in added), 2),
            ", ".join(dict.fromkeys(pl.item.component for pl in added)))


def per_vm_hour_usd(catalog: Catalog, design: OptionDesign, req: Requirements) -> float:
    """What each VM-hour adds beside the machine's own price: Cloud NAT's per-VM charge
    where the design puts machines in private subnets on GCP, else nothing.

    The machine choice adds it to every candidate's hourly price, so fewer, larger
    machines win where they cost less in all (and more traffic never buys a cheaper
    design through a smaller NAT bill). Nothing where the design is chosen as if the
    gateway cap from 32 VMs applies (``design.nat_capped``): a VM-hour then adds nothing
    to the bill (``design.design_option`` prices both ways when the cap applies).
    """
    if not req.compliance or design.provider != "gcp" or design.nat_capped:
        return 0.0
    per_vm = first_row(catalog, design.provider, design.region.code,
                       ProductFamily.NAT_GATEWAY, dimension="vm_hour")
    return per_vm.price_usd if per_vm is not None else 0.0


def _cloud_nat(catalog: Catalog, design: OptionDesign) -> None:
    """Cloud NAT: one regional gateway billed per VM-hour of the VMs using it, capped per
    gateway-hour from 32 VMs (cloud.google.com/nat/pricing).

    The cap applies hour by hour; applying it to the month's VM-hours can only charge
    more, never less.
    """
    p, r = design.provider, design.region.code
    vm_hours = sum(pl.item.quantity for pl in design.lines if pl.vm)
    if vm_hours <= 0:
        return
    per_vm = first_row(catalog, p, r, ProductFamily.NAT_GATEWAY, dimension="vm_hour")
    cap = first_row(catalog, p, r, ProductFamily.NAT_GATEWAY, dimension="hourly")
    avg_vms = vm_hours / HOURS_PER_MONTH
    if per_vm is not None and (cap is None
                               or vm_hours * per_vm.price_usd <= cap.price_usd * HOURS_PER_MONTH):
        item = line(per_vm, workload="(shared)", component=f"{CLOUD_NAT} (per VM)",
                    quantity=vm_hours, note=f"{vm_hours:,.1f} VM-hours of the private VMs "
                                            f"(about {avg_vms:.1f} at once)")
    elif cap is not None and (per_vm is not None or avg_vms >= 32):
        item = hourly_line(cap, 1, workload="(shared)", component=f"{CLOUD_NAT} (gateway cap)",
                           note=f"about {avg_vms:.1f} VMs at once: the {usd(cap.price_usd)} "
                                "an hour cap of one regional gateway applies")
    else:
        design.unpriced.append(f"(shared): Cloud NAT per-VM charge ({vm_hours:,.1f} VM-hours) "
                               f"in {p} {r}")
        return
    design.add(item, "network", growth.Fixed(item.monthly_usd))


# -- Kubernetes and egress ---------------------------------------------------------------


def _kubernetes(catalog: Catalog, design: OptionDesign, req: Requirements,
                demands: list[WorkloadDemand]) -> None:
    p, r = design.provider, design.region.code
    fee = (first_row(catalog, p, r, ProductFamily.KUBERNETES, tier="standard")
           or first_row(catalog, p, r, ProductFamily.KUBERNETES))
    if fee is not None:
        item = hourly_line(fee, 1, workload="(shared)", component="Kubernetes control plane",
                           note=kubernetes_why(req, demands))
        design.add(item, "kubernetes", growth.Fixed(item.monthly_usd))
    else:
        design.unpriced.append(f"(shared): managed Kubernetes control plane in {p} {r}")


def _egress(catalog: Catalog, design: OptionDesign, demands: list[WorkloadDemand]) -> None:
    """Internet egress of everything not served through the CDN, on the provider's tiers."""
    p, r = design.provider, design.region.code
    own = [d for d in demands if not d.resources.get("public")]
    egress_gb = sum(d.egress_gb_per_month for d in own)
    fixed_gb = sum(d.egress_gb_per_month for d in own if not d.egress_scales)
    if egress_gb <= 0:
        return
    rows = tier_group(catalog, p, r, ProductFamily.EGRESS)
    if not rows:
        design.unpriced.append(f"(shared): internet egress ({qty(egress_gb)} GB) in {p} {r}")
        return
    _tiered_data(design, rows, egress_gb, "internet egress", fixed_gb=fixed_gb)


def _tiered_data(design: OptionDesign, rows: list[PriceRow], gb: float, component: str, *,
                 fixed_gb: float = 0.0) -> None:
    """Data billed on the provider's volume tiers (CDN transfer, internet egress): a line
    per tier reached; within the free allowance one line at 0 that says so, so it can
    grow. As for object storage, the last line's part carries the whole quantity over the
    projection (``fixed_gb`` of it does not follow traffic)."""
    items = design.tiered(rows, gb, workload="(shared)", component=component)
    if not items:
        free = rows[0].attributes.get("free_gb_per_month", 0)
        items = [line(min(rows, key=lambda x: x.tier_start or 0.0), workload="(shared)",
                      component=component, quantity=0.0,
                      note=f"{qty(gb)} GB within the {qty(free)} GB free allowance")]
    for item in items[:-1]:
        design.add(item, "network", growth.Fixed(0.0))
    design.add(items[-1], "network", growth.ScaledTiers(rows, gb - fixed_gb, fixed_gb))
