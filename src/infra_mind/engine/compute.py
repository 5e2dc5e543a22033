"""Machines for the workloads that run on them: autoscaled web tiers, workers (GPU ones
included), self-managed data stores, and GPU training and inference.

Each function prices one demand into an ``OptionDesign`` at least cost, under the
purchase terms the requirements ask for where the catalog prices them.
"""

from __future__ import annotations

import math
from dataclasses import replace

from infra_mind.catalog.model import PriceRow, PurchaseOption
from infra_mind.catalog.store import Catalog
from infra_mind.engine import growth
from infra_mind.engine.facts import HeldPeak, PartTimeWorker, SuddenPeak
from infra_mind.engine.ml import (
    choose_gpu_worker,
    choose_inference,
    choose_training,
    inference_shortfall,
)
from infra_mind.engine.money import qty
from infra_mind.engine.network import per_vm_hour_usd
from infra_mind.engine.option import (
    COMMITMENT_OPTION,
    OptionDesign,
    PricedLine,
    committed,
    counterpart,
)
from infra_mind.engine.pricing import (
    OS_MEMORY_GIB,
    Candidate,
    MachineChoice,
    ScalingChoice,
    autoscaled_counts,
    choose_autoscaled,
    choose_machines,
    hourly_line,
    line,
    machine_candidates,
    money,
    processes_held,
    worker_processes,
)
from infra_mind.engine.requirements import Requirements
from infra_mind.engine.sizing import HOURS_PER_MONTH, TARGET_CPU_UTILISATION, WorkloadDemand
from infra_mind.engine.workloads import WorkloadKind, is_internal


def machines(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand,
              *, component: str, vcpu: float, memory_per_instance: float,
              total_memory: float, min_count: int, spot: bool, scales: bool,
              vcpu_per_instance: float = 0.0, on_cluster: bool = False,
              processes: int = 0) -> bool:
    """Price always-on machines for a steady demand; False when none fits.

    Burstable machines qualify when their baseline covers the sustained vCPUs.
    ``on_cluster``: the machines are Kubernetes nodes, counted for what they leave for pods.
    """
    p, r = design.provider, design.region.code
    commit = None if spot else COMMITMENT_OPTION.get(req.preferences.commitment)
    allow_arm = req.preferences.allow_arm

    def pick(option: PurchaseOption):
        # with a commitment, choose on the committed price where the catalog has one
        candidates = machine_candidates(catalog, p, r, option, allow_arm=allow_arm,
                                        prefer=commit, kubernetes=on_cluster)
        return choose_machines(candidates, vcpu=vcpu,
                               memory_per_instance_gib=memory_per_instance,
                               total_memory_gib=total_memory, min_count=min_count,
                               vcpu_per_instance=vcpu_per_instance,
                               per_instance_hour_usd=per_vm_hour_usd(catalog, design, req),
                               processes=processes)

    choice = pick(PurchaseOption.SPOT if spot else PurchaseOption.ON_DEMAND)
    if choice is None and spot:
        design.missing(f"{d.workload}: no spot prices in {p} {r}; priced on demand")
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
        design.missing(f"{d.workload}: no {commit.value} price for {p} {row.sku} in {r}; "
                       "priced on demand")
    a = row.attributes
    sustained, memory = choice.vcpu, choice.memory_gib
    # a worker's whole processes one machine holds (``pricing.choose_machines``)
    each = processes_held(sustained, memory, memory_per_instance) if processes else 0
    note = (shape(choice, on_cluster)
            + f"; count = max({min_count}, ceil({vcpu:.2f} vCPU / {sustained:g})"
            + (f", ceil({total_memory:g} GiB / {memory:g})" if total_memory else "")
            + (f", ceil({processes} processes / {each})" if each else "")
            + ")" + (f"; each machine holds >= {qty(memory_per_instance, 4)} GiB of the "
                     f"{total_memory:g}" if total_memory and memory_per_instance else "")
            + (f" ({each} process{'' if each == 1 else 'es'} of "
               f"{qty(memory_per_instance, 4)} GiB)" if each else "")
            + (f"; burstable: {choice.burst.basis}" if choice.burst else ""))
    item = hourly_line(row, choice.count, workload=d.workload, component=component, note=note)
    part = (growth.ScaledMachines(row.price_usd, sustained, memory,
                                  vcpu, total_memory, min_count, processes_each=each)
            if scales else growth.Fixed(item.monthly_usd))
    design.add(item, "compute", part, interruptible=d.resources.get("interruptible") is True,
               row=row, always_on_hours=choice.count * HOURS_PER_MONTH, vm=True)
    design.term(d.workload, row.purchase_option.value)
    design.uses_spot |= spot
    design.arm64 |= a["arch"] == "arm64"
    return True


def shape(c: Candidate | MachineChoice, on_cluster: bool) -> str:
    """A line note's words for one machine and what it leaves the service: a Kubernetes
    node's allocatable, else its memory less the operating system's."""
    a = c.row.attributes
    left = (f"{c.vcpu:g} vCPU, {c.memory_gib:g} GiB allocatable as a Kubernetes node"
            if on_cluster else f"{c.memory_gib:g} GiB after {OS_MEMORY_GIB:g} GiB for the "
                               "operating system")
    return f"{a['vcpu']:g} vCPU, {a['memory_gib']:g} GiB each ({left})"


def web(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand,
        alone: bool = False) -> None:
    """An autoscaled stateless service: a floor all month, peak instances for peak hours;
    ``alone``: one machine that carries the peak by itself (``design.design_option``)."""
    res = d.resources
    p, r = design.provider, design.region.code
    n_min = int(res["instances_min"])
    vcpu, vcpu_avg = float(res["vcpu"]), float(res["vcpu_avg"])
    peak_hours = float(res["peak_hours_per_month"])
    commit = COMMITMENT_OPTION.get(req.preferences.commitment)
    candidates = machine_candidates(catalog, p, r, PurchaseOption.ON_DEMAND,
                                    allow_arm=req.preferences.allow_arm, prefer=commit,
                                    kubernetes=design.kubernetes)
    def peak_price(c: Candidate) -> float:
        # the peak runs on demand (``_autoscaled_lines``), whatever the floor is bought as
        if c.row.purchase_option is PurchaseOption.ON_DEMAND:
            return c.price_per_hour
        on_demand = counterpart(catalog, c.row, PurchaseOption.ON_DEMAND)
        return c.price_per_hour if on_demand is None else on_demand.price_usd

    choice = choose_autoscaled(candidates, vcpu_peak=vcpu, vcpu_avg=vcpu_avg,
                               memory_per_instance_gib=float(res["memory_gib_per_instance"]),
                               min_count=n_min, peak_hours_per_month=peak_hours,
                               per_instance_hour_usd=per_vm_hour_usd(catalog, design, req),
                               peak_price_per_hour=peak_price,
                               max_peak=1 if alone else None)
    if choice is None:
        need = f">= {float(res['memory_gib_per_instance']):g} GiB memory"
        design.violations.append(f"{d.workload}: no machine in {p} {r} has {need}")
        design.unpriced.append(f"{d.workload}: app servers ({need}) in {p} {r}")
        return
    first_line = len(design.lines)
    _autoscaled_lines(catalog, design, req, d, choice, peak_hours)
    c, floor = choice.candidate, choice.floor
    sudden = _sudden_peak(d, choice, peak_price(c) + per_vm_hour_usd(catalog, design, req),
                          peak_hours)
    if sudden is not None:
        design.sudden_peaks.append(sudden)
    design.compute_instances_min = (floor if not design.compute_instances_min
                                    else min(design.compute_instances_min, floor))
    design.arm64 |= c.row.attributes["arch"] == "arm64"
    if c.burst is None and vcpu_avg < 0.3 * floor * c.vcpu:
        if choice.held:
            scaling, _ = autoscaled_counts(c, vcpu_peak=vcpu, vcpu_avg=vcpu_avg,
                                           min_count=n_min)
            design.held_peaks.append(HeldPeak(
                d.workload, choice.peak, scaling, c.row.purchase_option.value,
                round(peak_hours * 24 / HOURS_PER_MONTH, 2), vcpu_avg, c.vcpu))
        else:
            design.underutilised.append(d.workload)
    if is_internal(d):
        design.internal_services.append((d.workload, choice.peak, first_line))
        return
    design.public_services.append((d.workload, choice.peak, first_line))
    design.has_public_endpoint = True


#: The review warns of a sudden peak where the peak is more than this many times what the
#: fleet's floor carries at full CPU: then most of a peak that arrives at once waits on
#: machines still starting. Below it (a floor at full CPU carries half the peak or more) a
#: daily ramp, which autoscaling follows, is the usual shape, and the floor rides out the
#: minutes a scale-out takes running hot.
SUDDEN_PEAK_RATIO = 2.0


def _sudden_peak(d: WorkloadDemand, choice: ScalingChoice, peak_hour_usd: float,
                 peak_hours: float) -> SuddenPeak | None:
    """The fleet's floor against its peak, where the peak is more than
    ``SUDDEN_PEAK_RATIO`` times what the floor carries at full CPU (machines sized at
    ``TARGET_CPU_UTILISATION`` carry 1 / that much more at 100%)."""
    c, floor, peak = choice.candidate, choice.floor, choice.peak
    if choice.held or peak <= floor or peak_hours >= HOURS_PER_MONTH:
        return None  # the peak machines run all month already
    res = d.resources
    peak_rps = float(res["peak_rps"])
    # vCPU-seconds a request takes, from the peak's sizing (vCPU at the target utilisation)
    cpu_s = float(res["vcpu"]) * TARGET_CPU_UTILISATION / peak_rps
    floor_rps = floor * c.peak_vcpu / cpu_s  # a burstable floor bursts to its peak vCPUs
    if peak_rps <= SUDDEN_PEAK_RATIO * floor_rps:
        return None
    held_hours = (peak - floor) * (HOURS_PER_MONTH - peak_hours)
    return SuddenPeak(d.workload, floor, peak, round(floor_rps), peak_rps,
                      money(held_hours * peak_hour_usd))


def _autoscaled_lines(catalog: Catalog, design: OptionDesign, req: Requirements,
                      d: WorkloadDemand, choice: ScalingChoice, peak_hours: float) -> None:
    """One line for the fleet; with a commitment, the floor committed and the peak on demand.

    A commitment bills every hour, so it covers only the instances held all month.
    """
    res = d.resources
    c, floor, peak = choice.candidate, choice.floor, choice.peak
    hours_a_day = peak_hours * 24 / HOURS_PER_MONTH
    if c.burst is not None and peak == floor:
        how = (f"burstable, {c.burst.basis}; count = max({res['instances_min']}, "
               f"ceil({float(res['vcpu_avg']):.2f} vCPU avg / {c.vcpu:g} baseline), "
               f"ceil({float(res['vcpu']):.2f} vCPU peak / {c.peak_vcpu:g})), held all month")
    elif c.burst is not None and not choice.held:
        how = (f"burstable, {c.burst.basis}; floor = max({res['instances_min']}, "
               f"ceil({float(res['vcpu_avg']):.2f} vCPU avg / {c.vcpu:g} baseline)) = "
               f"{floor}; peak = ceil({float(res['vcpu']):.2f} vCPU peak / "
               f"{c.peak_vcpu:g}) = {peak} for {hours_a_day:g} h a day")
    elif choice.held:
        how = (f"peak = ceil({float(res['vcpu']):.2f} vCPU / {c.peak_vcpu:g}) = {peak}, held all "
               f"month: committed, that costs less than the instances above the floor on "
               f"demand for {hours_a_day:g} h a day")
    else:
        how = (f"floor = max({res['instances_min']}, ceil({float(res['vcpu_avg']):.2f} vCPU avg "
               f"/ {c.vcpu:g})) = {floor}; peak = ceil({float(res['vcpu']):.2f} vCPU / "
               f"{c.vcpu:g}) = {peak} for {hours_a_day:g} h a day")
    machine = shape(c, design.kubernetes) + f"; min {floor}, max {peak}"
    instances = (floor, peak, peak_hours)
    args = dict(machine=c, vcpu_peak_need=float(res["vcpu"]),
                vcpu_avg_need=float(res["vcpu_avg"]), min_count=int(res["instances_min"]),
                peak_hours_per_month=peak_hours, hold_peak=choice.held)
    committed = c.row.purchase_option is not PurchaseOption.ON_DEMAND
    on_demand = c.row if not committed else counterpart(catalog, c.row, PurchaseOption.ON_DEMAND)
    option = COMMITMENT_OPTION.get(req.preferences.commitment)
    if option is not None and not committed:
        design.missing(f"{d.workload}: no {option.value} price for {design.provider} "
                       f"{c.row.sku} in {c.row.region}; priced on demand")
    if not committed or on_demand is None:
        hours_text = f"{floor} x {HOURS_PER_MONTH} h" + (
            f" + {peak - floor} x {peak_hours:.1f} h at peak" if peak > floor else "")
        item = line(c.row, workload=d.workload, component="app servers",
                    quantity=choice.instance_hours,
                    note=f"{machine}: {hours_text}; {how}", instances=instances)
        design.add(item, "compute", growth.AutoscaledMachines(c.row.price_usd, **args),
                   row=c.row, always_on_hours=floor * HOURS_PER_MONTH, vm=True)
        design.term(d.workload, c.row.purchase_option.value)
        return
    _committed_floor_and_peak(design, d, "compute", "app servers", c.row, on_demand,
                              growth.AutoscaledMachines(c.row.price_usd, **args), instances,
                              f"{machine}: {floor} x {HOURS_PER_MONTH} h committed; {how}")


def _committed_floor_and_peak(design: OptionDesign, d: WorkloadDemand, kind: str,
                              component: str, row: PriceRow, on_demand: PriceRow,
                              part: growth.AutoscaledMachines | growth.ScaledReplicas,
                              instances: tuple[int, int, float], floor_note: str) -> None:
    """A scaled fleet under a commitment, in two lines: the floor committed all month, the
    instances above it on demand for the peak hours (a commitment bills every hour).
    ``part`` prices the whole fleet; each line prices its ``portion``. A fleet held at its
    peak all month is one committed line, named as the fleet."""
    floor, peak, peak_hours = instances
    item = line(row, workload=d.workload,
                component=f"{component} (floor)" if peak > floor else component,
                quantity=floor * HOURS_PER_MONTH, note=floor_note, instances=instances)
    design.add(item, kind, replace(part, portion="floor").repriced(row.price_usd),
               row=row, always_on_hours=floor * HOURS_PER_MONTH, vm=True)
    design.term(d.workload, row.purchase_option.value)
    if peak > floor:
        item = line(on_demand, workload=d.workload, component=f"{component} (peak)",
                    quantity=(peak - floor) * peak_hours,
                    note=f"{peak - floor} x {peak_hours:.1f} h at peak, on demand (a "
                         "commitment bills every hour)", instances=instances)
        design.add(item, kind, replace(part, portion="peak").repriced(on_demand.price_usd),
                   row=on_demand, vm=True)
        design.term(d.workload, on_demand.purchase_option.value)


def _split_gpus(design: OptionDesign, d: WorkloadDemand, row: PriceRow) -> None:
    """A warning where a worker's GPUs are priced on several machines and nothing said
    whether they may be: a radiology team's 8 A100s for retraining came out as 8 machines
    of one GPU each, cheapest per GPU and no place to train one model across them."""
    res = d.resources
    gpus, each = int(res["gpu_count"]), int(row.attributes["gpu_count"])
    if res.get("gpu_per_machine_stated") or each >= gpus:
        return
    design.warnings.append(
        f"{d.workload}: its {gpus} GPUs are priced on machines of {each} GPU"
        f"{'' if each == 1 else 's'} ({row.sku}), as gpu.per_machine is not stated. Work "
        "that needs them on one machine (a model split across GPUs, training on several at "
        f"once) should state gpu.per_machine ({gpus} for all of them); independent jobs, "
        "1.")


def worker(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand
            ) -> None:
    """A worker on machines, or on GPU machines when it asks for GPUs; spot where it is
    interruptible and spot is allowed; fixed-size unless it follows traffic."""
    res = d.resources
    spot = bool(res["spot"])
    if res["interruptible"] and not spot:
        design.interruptible_on_demand.append(d.workload)
    if "gpu_count" in res:
        _gpu_worker(catalog, design, req, d, spot)
        return
    vcpu, memory = float(res["vcpu"]), float(res["memory_gib"])
    if (machines(catalog, design, req, d, component="workers", vcpu=vcpu,
                 memory_per_instance=worker_share(vcpu, memory), total_memory=memory,
                 min_count=1, processes=worker_processes(vcpu),
                 spot=spot, scales=bool(res.get("follows_traffic")),
                 on_cluster=design.kubernetes)
            and "vcpu_hours_per_month" in res and not res.get("follows_traffic")):
        part_time = _part_time(catalog, design, req, d, design.lines[-1])
        if part_time is not None:
            design.part_time_workers.append(part_time)


def worker_share(vcpu: float, memory_gib: float) -> float:
    """The least memory each of a worker's machines holds: its memory divided among no
    more machines than it has whole vCPUs of work (at least one). A worker's memory is a
    total its processes share out, but a machine that runs less than a vCPU of the work is
    one a process was split to fill: 60 vCPU-hours a month (0.08 vCPU) with 2 GiB had been
    three 1 GiB machines, not one that holds the 2 GiB."""
    return memory_gib / worker_processes(vcpu)


#: A worker stated in vCPU-hours whose machines, held all month, are busy less than this
#: share of the month is held for its memory: the review prices running it for its work.
PART_TIME_UTILISATION = 0.5
#: ... where that saves at least this much a month, and this share of the worker's cost.
PART_TIME_MIN_SAVING_USD = 10.0
PART_TIME_MIN_SHARE = 0.2


def _part_time(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand,
               held: PricedLine) -> PartTimeWorker | None:
    """The machines that would run a worker's vCPU-hours started only for its work (each
    with its memory, as many as hold it at once, with no more vCPUs in all than the held
    machines), where the machines held all month are mostly idle and that costs
    materially less; None otherwise. Part-time machines are on demand (or spot): a
    commitment bills every hour."""
    res = d.resources
    work = float(res["vcpu_hours_per_month"])
    memory = float(res["memory_gib"])
    a = held.item
    count = round(a.quantity / HOURS_PER_MONTH)
    row = held.row
    assert row is not None
    busy = float(res["vcpu"]) / (count * float(row.attributes["vcpu"]))
    if busy >= PART_TIME_UTILISATION:
        return None
    per_vm = per_vm_hour_usd(catalog, design, req)
    held_usd = a.monthly_usd + count * HOURS_PER_MONTH * per_vm
    # no more vCPUs at once than the held machines have: the work is not assumed to
    # spread wider than the design runs it (a 64-vCPU machine for 4 hours had been offered
    # for a billing run held on one 4-vCPU machine)
    held_vcpu = count * float(row.attributes["vcpu"])
    option = PurchaseOption.SPOT if res["spot"] else PurchaseOption.ON_DEMAND
    best: tuple[float, int, float, str] | None = None
    for c in machine_candidates(catalog, design.provider, design.region.code, option,
                                allow_arm=req.preferences.allow_arm,
                                kubernetes=design.kubernetes):
        if c.burst is not None:
            continue  # a burstable machine's credits are for idle time, not long runs
        n = max(1, math.ceil(memory / c.memory_gib - 1e-9),
                math.ceil(work / (c.vcpu * HOURS_PER_MONTH) - 1e-9))
        if n * float(c.row.attributes["vcpu"]) > held_vcpu + 1e-9:
            continue
        hours = work / (n * c.vcpu)
        cost = n * hours * (c.price_per_hour + per_vm)
        if best is None or (cost, n) < best[:2]:
            best = (cost, n, hours, c.row.sku)
    if best is None:
        return None
    cost, n, hours, sku = best
    saving = held_usd - cost
    if saving < max(PART_TIME_MIN_SAVING_USD, PART_TIME_MIN_SHARE * held_usd):
        return None
    return PartTimeWorker(d.workload, work, count, round(busy, 3), sku, n, round(hours, 1),
                          money(cost), money(saving), design.kubernetes)


def _gpu_worker(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand,
                spot: bool) -> None:
    p, r = design.provider, design.region.code
    # a commitment bills every hour: compared at its price only for all-month machines
    all_month = float(d.resources["hours_per_month"]) >= HOURS_PER_MONTH
    commit = COMMITMENT_OPTION.get(req.preferences.commitment) if all_month else None
    found = choose_gpu_worker(catalog, p, r, d, PurchaseOption.SPOT if spot
                              else PurchaseOption.ON_DEMAND, prefer=None if spot else commit)
    if found is None and spot:
        design.missing(f"{d.workload}: no GPU spot prices in {p} {r}; priced on demand")
        spot = False
        found = choose_gpu_worker(catalog, p, r, d, PurchaseOption.ON_DEMAND, prefer=commit)
    if found is None:
        res = d.resources
        together = int(res.get("gpu_per_machine", 1))
        need = (f"{res['gpu_count']} GPU(s) with >= {float(res['gpu_memory_gib']):g} GB"
                + ("" if res["gpu_model"] == "any" else f" ({res['gpu_model']})")
                + (f", {together} to a machine" if together > 1 else ""))
        design.violations.append(f"{d.workload}: no priced GPU machine in {p} {r} has {need}")
        design.unpriced.append(f"{d.workload}: GPU workers ({need}) in {p} {r}")
        return
    row, machines, hours, note, part = found
    _split_gpus(design, d, row)
    always_on = hours >= HOURS_PER_MONTH
    if always_on and not spot:  # a commitment bills every hour: only for all-month machines
        row = committed(catalog, row, req, design, d.workload)
    item = line(row, workload=d.workload, component="GPU workers", quantity=machines * hours,
                note=note)
    design.add(item, "gpu", part.repriced(row.price_usd),
               interruptible=bool(d.resources["interruptible"]), row=row,
               always_on_hours=machines * HOURS_PER_MONTH if always_on else 0.0, vm=True)
    design.term(d.workload, row.purchase_option.value)
    design.uses_spot |= spot
    design.has_ml = True


def gpu(catalog: Catalog, design: OptionDesign, req: Requirements, d: WorkloadDemand) -> None:
    """GPU machines for training (part of the month: never on a commitment) or inference
    (always on, a public endpoint)."""
    design.has_ml = True
    p, r = design.provider, design.region.code
    training = d.type is WorkloadKind.ML_TRAINING
    spot = bool(d.resources.get("spot"))

    def chooser(option: PurchaseOption):
        if training:
            return choose_training(catalog, p, r, d, option)
        # with a commitment, choose on the committed price where the catalog has one
        prefer = None if spot else COMMITMENT_OPTION.get(req.preferences.commitment)
        return choose_inference(catalog, p, r, d, option, prefer=prefer)

    result = chooser(PurchaseOption.SPOT if spot else PurchaseOption.ON_DEMAND)
    if result is None and spot:
        design.missing(f"{d.workload}: no GPU spot prices in {p} {r} for a machine that fits; "
                       "priced on demand")
        spot = False
        result = chooser(PurchaseOption.ON_DEMAND)
    if result is None:
        design.violations.append(
            f"{d.workload}: no priced GPU machine in {p} {r} fits the model"
            + (" (on one machine, or on interconnect-class machines for multi-node training)"
               if training else f": {inference_shortfall(catalog, p, r, d)}"))
        design.unpriced.append(f"{d.workload}: {'training' if training else 'inference'} "
                               f"GPUs (no priced machine in {p} {r} fits the model)")
        return
    row, hours, note, part = result
    if training or spot:
        # training runs part of the month, and a commitment bills every hour
        item = line(row, workload=d.workload,
                    component="training GPUs" if training else "inference GPUs",
                    quantity=hours, note=note)
        design.add(item, "gpu", part.repriced(row.price_usd), interruptible=training,
                   row=row, always_on_hours=0.0 if training else hours, vm=True)
        design.term(d.workload, row.purchase_option.value)
        design.uses_spot |= spot
        if not training:
            design.public_services.append((d.workload, round(hours / HOURS_PER_MONTH),
                                           len(design.lines) - 1))
            design.has_public_endpoint = True
        return
    assert isinstance(part, growth.ScaledReplicas)
    _inference_lines(catalog, design, req, d, committed(catalog, row, req, design, d.workload),
                     note, part)


def _inference_lines(catalog: Catalog, design: OptionDesign, req: Requirements,
                     d: WorkloadDemand, row: PriceRow, note: str,
                     part: growth.ScaledReplicas) -> None:
    """A served model's GPU machines: the floor all month and, where an average is stated,
    the peak's instances for the peak hours; under a commitment the floor is committed
    and the peak's instances are on demand (a commitment bills every hour), as web tiers."""
    floor, peak = part.counts(1.0)
    instances = (floor, peak, part.peak_hours_per_month) if peak > floor else None
    first = len(design.lines)
    on_demand = (row if row.purchase_option is PurchaseOption.ON_DEMAND
                 else counterpart(catalog, row, PurchaseOption.ON_DEMAND))
    if instances is None or on_demand is None or on_demand is row:
        item = line(row, workload=d.workload, component="inference GPUs",
                    quantity=part.hours(1.0), note=note, instances=instances)
        design.add(item, "gpu", part.repriced(row.price_usd), row=row,
                   always_on_hours=floor * HOURS_PER_MONTH, vm=True)
        design.term(d.workload, row.purchase_option.value)
    else:
        _committed_floor_and_peak(design, d, "gpu", "inference GPUs", row, on_demand, part,
                                  instances, f"{note}; {floor} x {HOURS_PER_MONTH} h committed")
    design.public_services.append((d.workload, peak, first))
    design.has_public_endpoint = True
    if peak > floor:
        design.scaled_inference.append((d.workload, float(d.resources["weights_gb"])))
