"""Turning catalog rows and quantities into line items; choosing machines at least cost."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from infra_mind.catalog.burstable import Burst, burst_of, is_burstable_family
from infra_mind.catalog.model import (
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
    service_name,
)
from infra_mind.catalog.store import Catalog, normalize_sku
from infra_mind.engine.burstable import small_load
from infra_mind.engine.kubernetes import allocatable
from infra_mind.engine.money import qty
from infra_mind.engine.result import LineItem
from infra_mind.engine.sizing import HOURS_PER_MONTH


def money(x: float) -> float:
    """Round to cents for display fields; totals are sums of rounded lines."""
    return round(x + 0.0, 2)


def price_basis(row: PriceRow) -> str:
    """``derived`` for a price computed from list prices by a stated rule, else ``list``."""
    return "derived" if row.is_derived else "list"


def line(row: PriceRow, *, workload: str, component: str, quantity: float,
         note: str = "", instances: tuple[int, int, float] | None = None) -> LineItem:
    """One line item: ``quantity`` units of ``row`` in a month.

    ``instances`` (min, max, peak hours a month) describes an autoscaled fleet. A derived
    price says so in the note, with its rule.
    """
    basis = price_basis(row)
    if basis == "derived":
        note += f"{'; ' if note else ''}derived price ({row.rule.strip()})"
    low, high, hours = instances if instances is not None else (None, None, None)
    # built without re-validation: every field comes from a validated catalog row
    return LineItem.model_construct(
        workload=workload, component=component, service=service_name(row.service), sku=row.sku,
        region=row.region, quantity=round(quantity, 4), unit=row.unit.value,
        unit_price_usd=row.price_usd, monthly_usd=money(quantity * row.price_usd),
        purchase_option=row.purchase_option.value, source=row.source, as_of=row.as_of,
        note=note, instances_min=low, instances_max=high,
        peak_hours_per_month=None if hours is None else round(hours, 2), price_basis=basis)


def hourly_line(row: PriceRow, count: float, *, workload: str, component: str,
                note: str = "") -> LineItem:
    """``count`` always-on units of an hourly price for a 730-hour month."""
    text = f"{count:g} x {HOURS_PER_MONTH} h" + (f"; {note}" if note else "")
    return line(row, workload=workload, component=component,
                quantity=count * HOURS_PER_MONTH, note=text)


def tier_amounts(rows: list[PriceRow], quantity: float) -> list[tuple[PriceRow, float, str]]:
    """How ``quantity`` units of a tiered price fall into its tiers: (row, used, note).

    A free allowance (attribute ``free_gb_per_month``) is used first; tiers are
    filled in order.
    """
    if not rows or quantity <= 0:
        return []
    ordered = sorted(rows, key=lambda r: r.tier_start or 0.0)
    free = float(ordered[0].attributes.get("free_gb_per_month", 0) or 0)
    out = []
    for row in ordered:
        start = row.tier_start or 0.0
        end = row.tier_end if row.tier_end is not None else math.inf
        lo = max(start, free)
        used = max(0.0, min(quantity, end) - lo)
        if used <= 0:
            continue
        if row.tier_start is None and row.tier_end is None:
            bounds = ""  # a flat price
        else:
            bounds = f"tier {qty(start)}-{'' if end == math.inf else qty(end)} {row.unit.value}"
        if free and lo == free and start < free:
            bounds += f"{', ' if bounds else ''}after {free:g} free"
        out.append((row, used, bounds))
    return out


def last_tier_end(rows: list[PriceRow]) -> float | None:
    """Where the catalog's last tier of a price ends; None when it is open (or no rows)."""
    if not rows or any(r.tier_end is None for r in rows):
        return None
    return max(r.tier_end for r in rows if r.tier_end is not None)


def beyond_tiers(rows: list[PriceRow], quantity: float) -> str:
    """Words for the part of ``quantity`` above the last tier the catalog prices, where
    that tier has an end ("" when none is: the last tier is open or not reached). Cloud
    CDN's last listed tier ends at 500 TB a month (Google quotes more), and Azure CDN's
    catalog tiers at 1 PB: the rest must be said unpriced, not left out of the total."""
    end = last_tier_end(rows)
    if end is None or quantity <= end:
        return ""
    unit = rows[0].unit.value
    return (f"{quantity - end:,.0f} {unit} above the catalog's last tier, which ends at "
            f"{end:,.0f} {unit} a month")


def tiered_lines(rows: list[PriceRow], quantity: float, *, workload: str, component: str,
                 ) -> list[LineItem]:
    """Lines for ``quantity`` units of a tiered price, one line per tier used."""
    return [line(row, workload=workload, component=component, quantity=used, note=note)
            for row, used, note in tier_amounts(rows, quantity)]


def tiered_cost(rows: list[PriceRow], quantity: float) -> float:
    """What ``tiered_lines`` would add up to, without building the lines."""
    return round(sum(money(used * row.price_usd) for row, used, _ in
                     tier_amounts(rows, quantity)), 2)


def is_burstable(row: PriceRow) -> bool:
    """Burstable shapes run on CPU credits or a shared core (see ``burstable``)."""
    return is_burstable_family(row)


@dataclass(frozen=True)
class MachineChoice:
    row: PriceRow
    count: int
    monthly_usd: float
    burst: Burst | None = None
    #: What each machine is counted for: sustained vCPUs and memory (a cluster node's
    #: allocatable, a burstable machine's baseline).
    vcpu: float = 0.0
    memory_gib: float = 0.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """A machine as the optimiser sees it.

    ``vcpu`` is what a sustained load may use (a burstable machine's baseline) and
    ``peak_vcpu`` what a peak may use; both are the machine's vCPUs for any other
    machine.
    """

    vcpu: float
    memory_gib: float
    price_per_hour: float
    row: PriceRow
    peak_vcpu: float = 0.0
    burst: Burst | None = None


_PREPARED: WeakKeyDictionary[Catalog, dict[tuple, list[Candidate]]] = WeakKeyDictionary()

#: Memory a machine keeps for its operating system, beside what the service on it is sized
#: for: 256 MiB, the least Debian's installation guide gives for a system without a desktop
#: (bullseye, section 3.4, "Meeting Minimum Hardware Requirements": 256 MiB minimum, 512
#: recommended). A 1 GiB service does not run on a 1 GiB machine. A Kubernetes node's
#: reservations (``kubernetes.allocatable``) count its operating system already.
OS_MEMORY_GIB = 0.25


def machine_candidates(catalog: Catalog, provider: str, region: str,
                       purchase_option: PurchaseOption = PurchaseOption.ON_DEMAND, *,
                       allow_arm: bool = True, prefer: PurchaseOption | None = None,
                       kubernetes: bool = False) -> list[Candidate]:
    """The machines worth considering in one region, computed once per catalog.

    GPU machines are left out, and so are burstable machines without a sourced baseline;
    a burstable machine with one counts its baseline as its sustained vCPUs (see
    ``burstable``). With ``prefer`` (a commitment), a machine is priced under it where
    the catalog has that price, on demand elsewhere. A machine another beats on
    sustained and peak vCPUs, memory and price at once can never be the cheapest choice
    and is dropped. A machine's memory is what it leaves the service: less its operating
    system's ``OS_MEMORY_GIB``, or with ``kubernetes`` (the machines are a cluster's nodes)
    what it leaves for pods (``kubernetes.allocatable``).
    """
    key = (provider, region, purchase_option, allow_arm, prefer, kubernetes)
    cache = _PREPARED.setdefault(catalog, {})
    if key in cache:
        return cache[key]
    rows = []
    # the machines with a committed price here, read in one pass: the catalog builds a
    # family's rows together, where a lookup for each machine built its rows one by one
    p = Provider(provider)
    committable = set() if prefer is None else {
        normalize_sku(p, r.sku)
        for r in catalog.family_rows(p, region, ProductFamily.COMPUTE, prefer)}
    for row in catalog.search(provider, region, gpu=False, purchase_option=purchase_option):
        if not allow_arm and row.attributes["arch"] == "arm64":
            continue
        burst = None
        if is_burstable(row):
            burst = burst_of(row)
            if burst is None:
                continue  # no sourced baseline: its sustained capacity is unknown
        if committable and normalize_sku(p, row.sku) in committable:
            committed = [c for c in catalog.lookup(p, row.sku, region, prefer)
                         if c.product_family is ProductFamily.COMPUTE]
            row = committed[0] if committed else row
        vcpu, memory = float(row.attributes["vcpu"]), float(row.attributes["memory_gib"])
        sustained, peak = (burst.sustained_vcpu, burst.peak_vcpu) if burst else (vcpu, vcpu)
        if kubernetes:
            node_vcpu, memory = allocatable(p, row.sku, vcpu, memory)
            kept_back = vcpu - node_vcpu
            sustained, peak = sustained - kept_back, peak - kept_back
            if sustained <= 0 or memory <= 0:
                continue  # the node's own reservations take all of it
        else:
            memory -= OS_MEMORY_GIB
        rows.append(Candidate(sustained, memory, row.price_usd, row, peak, burst))
    rows.sort(key=lambda c: (c.price_per_hour, -c.vcpu, -c.peak_vcpu, -c.memory_gib,
                             c.row.sku))
    kept: list[Candidate] = []
    # the most of each measure among the kept: a machine above one of them has no
    # machine in kept that beats it, and is kept without comparing it with each
    top_vcpu = top_peak = top_memory = -math.inf
    for c in rows:  # cheapest first: anything dominating c is already in kept
        if (c.vcpu > top_vcpu or c.peak_vcpu > top_peak or c.memory_gib > top_memory
                # newest first: the dearer kept are the likelier to beat c
                or not any(k.vcpu >= c.vcpu and k.peak_vcpu >= c.peak_vcpu
                           and k.memory_gib >= c.memory_gib for k in reversed(kept))):
            kept.append(c)
            top_vcpu, top_peak = max(top_vcpu, c.vcpu), max(top_peak, c.peak_vcpu)
            top_memory = max(top_memory, c.memory_gib)
    cache[key] = kept
    return kept


def worker_processes(vcpu: float) -> int:
    """A worker's processes: one per whole vCPU of its work, at least one."""
    return max(1, math.ceil(vcpu - 1e-9))


def processes_held(vcpu: float, memory_gib: float, process_gib: float) -> int:
    """The whole processes of ``process_gib`` a machine of ``vcpu`` vCPUs and
    ``memory_gib`` runs, one per whole vCPU: at least one."""
    return max(1, min(math.floor(vcpu + 1e-9), math.floor(memory_gib / process_gib + 1e-9)))


def choose_machines(candidates: list[Candidate], *, vcpu: float,
                    memory_per_instance_gib: float, total_memory_gib: float = 0.0,
                    min_count: int = 1, vcpu_per_instance: float = 0.0,
                    per_instance_hour_usd: float = 0.0,
                    processes: int = 0) -> MachineChoice | None:
    """The cheapest machine and count meeting vCPU and memory needs.

    count = max(min_count, ceil(vcpu / vCPUs per machine),
                ceil(total_memory / memory per machine)),
    over machines with at least ``memory_per_instance_gib`` and
    ``vcpu_per_instance`` (a database node cannot be split across machines); burstable
    machines only for a small load (``burstable.small_load``). Ties go to fewer machines,
    then the SKU name. ``per_instance_hour_usd`` is what each machine adds beside its own
    price (Cloud NAT bills per VM-hour): fewer, larger machines may then cost less.

    ``processes``: the work is that many whole processes of ``memory_per_instance_gib``
    each (a worker's, ``compute.worker_share``), and a machine holds as many as its whole
    vCPUs and its memory both allow (at least one): count >= ceil(processes / that).
    Without it, 4 vCPUs of work with 32 GiB (4 processes of 8 GiB) went on three 15.75 GiB
    machines, which hold one such process each, and cost less than 2 vCPUs with the same
    memory (found by the engine's property test).
    """
    best: tuple[float, int, str, Candidate] | None = None
    floor = max(min_count, 1)
    burstable_ok = small_load(vcpu)
    for c in candidates:  # cheapest per hour first
        if best is not None and (c.price_per_hour + per_instance_hour_usd) * floor > best[0]:
            break  # even its smallest possible count costs more than the best so far
        if c.memory_gib < memory_per_instance_gib or c.vcpu < vcpu_per_instance:
            continue
        if c.burst is not None and not burstable_ok:
            continue
        count = max(min_count, 1, math.ceil(vcpu / c.vcpu - 1e-9),
                    math.ceil(total_memory_gib / c.memory_gib - 1e-9))
        if processes:
            count = max(count, math.ceil(
                processes / processes_held(c.vcpu, c.memory_gib, memory_per_instance_gib)))
        key = (count * (c.price_per_hour + per_instance_hour_usd), count, c.row.sku)
        if best is None or key < best[:3]:
            best = (*key, c)
    if best is None:
        return None
    c = best[3]
    return MachineChoice(c.row, best[1], best[1] * c.price_per_hour * HOURS_PER_MONTH, c.burst,
                         c.vcpu, c.memory_gib)


def autoscaled_counts(c: Candidate, *, vcpu_peak: float, vcpu_avg: float,
                      min_count: int) -> tuple[int, int]:
    """(floor, peak) instances of machine ``c`` for a stateless service.

    floor = max(availability minimum, instances for the average load), peak = max(floor,
    instances for the peak load); the autoscaler adds the difference for the peak hours.
    A burstable machine counts its baseline for the average and its burst capacity for the
    peak (``c.peak_vcpu``): where credits let the floor burst through the peak, peak and
    floor are one count. Where they cannot (GCP's shared-core machines burst only for
    moments, or a peak beyond what the floor bursts to), the machines above the floor run
    for the peak hours only: three e2-medium held all month for a booking API that peaks
    at 3 vCPU for 4 hours a day had cost $94.54, where two and a third at peak cost $68.28.
    """
    low = max(min_count, 1)
    floor = max(low, math.ceil(vcpu_avg / c.vcpu - 1e-9))
    return floor, max(floor, math.ceil(vcpu_peak / c.peak_vcpu - 1e-9))


def scaled_instance_hours(floor: int, peak: int, peak_hours_per_month: float) -> float:
    """Instance-hours a month: the floor all month, the rest for the peak hours."""
    return floor * HOURS_PER_MONTH + (peak - floor) * peak_hours_per_month


@dataclass(frozen=True)
class ScalingChoice:
    """An autoscaled fleet: machine, floor and peak counts, and its monthly instance-hours."""

    candidate: Candidate
    floor: int
    peak: int
    instance_hours: float
    #: The peak count is held all month (the floor raised to it): see ``choose_autoscaled``.
    held: bool = False

    @property
    def row(self) -> PriceRow:
        return self.candidate.row


def choose_autoscaled(candidates: list[Candidate], *, vcpu_peak: float, vcpu_avg: float,
                      memory_per_instance_gib: float, min_count: int,
                      peak_hours_per_month: float, per_instance_hour_usd: float = 0.0,
                      peak_price_per_hour: Callable[[Candidate], float] | None = None,
                      max_peak: int | None = None) -> ScalingChoice | None:
    """The machine whose autoscaled fleet costs least for the month.

    Cost = price x floor x 730 + peak price x (peak - floor) x peak hours; see
    ``autoscaled_counts``. The peak price is the candidate's own unless
    ``peak_price_per_hour`` says otherwise: a committed candidate's peak instances are
    billed on demand (a commitment bills every hour), and ranking them at the committed
    price chose a fleet that was not the cheapest bill. Burstable machines only when the
    average is a small load (``burstable.small_load``). Ties go to fewer peak instances,
    then the SKU name. ``per_instance_hour_usd`` is what each instance-hour adds beside the
    machine's price (as in ``choose_machines``). ``max_peak``: only fleets of at most that
    many instances at peak (one: a machine that carries the peak alone).

    When the floor is committed and the peak is billed on demand, a long peak can cost
    more than holding the peak count all month at the committed price; the floor is then
    raised to the peak (``held``). Cost being linear in the floor, one end or the other is
    the cheapest: without it, a higher availability target (a higher floor) cost less.
    """
    best: tuple[float, int, str, ScalingChoice] | None = None
    floor_min = max(min_count, 1)
    burstable_ok = small_load(vcpu_avg)
    for c in candidates:  # cheapest per hour first
        hourly = c.price_per_hour + per_instance_hour_usd
        if best is not None and hourly * floor_min * HOURS_PER_MONTH > best[0]:
            break  # even its smallest fleet all month costs more than the best so far
        if c.memory_gib < memory_per_instance_gib or (c.burst is not None and not burstable_ok):
            continue
        floor, peak = autoscaled_counts(c, vcpu_peak=vcpu_peak, vcpu_avg=vcpu_avg,
                                        min_count=min_count)
        if max_peak is not None and peak > max_peak:
            continue
        peak_hourly = hourly if peak_price_per_hour is None else \
            peak_price_per_hour(c) + per_instance_hour_usd
        cost = floor * HOURS_PER_MONTH * hourly + \
            (peak - floor) * peak_hours_per_month * peak_hourly
        held = peak > floor and peak * HOURS_PER_MONTH * hourly < cost
        if held:
            floor, cost = peak, peak * HOURS_PER_MONTH * hourly
        hours = scaled_instance_hours(floor, peak, peak_hours_per_month)
        key = (cost, peak, c.row.sku)
        if best is None or key < best[:3]:
            best = (*key, ScalingChoice(c, floor, peak, hours, held))
    return best[3] if best else None


def first_row(catalog: Catalog, provider: str, region: str, family: ProductFamily,
              **attrs: object) -> PriceRow | None:
    """The cheapest on-demand row of a family in a region whose attributes match."""
    for row in catalog.family_rows(provider, region, family):
        if all(str(row.attributes.get(k)) == str(v) for k, v in attrs.items()):
            return row
    return None


def tier_group(catalog: Catalog, provider: str, region: str, family: ProductFamily,
               **attrs: object) -> list[PriceRow]:
    """All tiers of the cheapest matching tiered (or flat) price of a family in a region."""
    rows = [r for r in catalog.family_rows(provider, region, family)
            if all(str(r.attributes.get(k)) == str(v) for k, v in attrs.items())]
    if not rows:
        return []
    by_sku: dict[str, list[PriceRow]] = {}
    for r in rows:
        by_sku.setdefault(r.sku, []).append(r)
    # cheapest first tier wins; the SKU name breaks ties
    sku = min(by_sku, key=lambda s: (min(by_sku[s], key=lambda r: r.tier_start or 0.0)
                                     .price_usd, s))
    return by_sku[sku]
