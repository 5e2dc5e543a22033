"""Choosing GPU machines for training, inference and GPU workers at least cost.

Training cost is instance-hours: the month's FLOPs over each machine's dense
BF16 peak at the stated model FLOPs utilisation; more than one machine only of
the interconnect-class kind (``gpus.INTERCONNECT``). Inference is sized on
memory (weights and the KV cache of the requests a replica holds must fit its
GPUs) and on decode speed, which is bound by memory bandwidth: each step reads
the weights and the batch's KV cache once, and every request in the batch must
still stream at its stated speed. A GPU worker gets the cheapest machines with
enough GPUs of the memory (and model) it asks for.
"""

from __future__ import annotations

import math

from infra_mind.catalog.model import PriceRow, PurchaseOption
from infra_mind.catalog.store import Catalog
from infra_mind.engine import growth
from infra_mind.engine.gpus import interconnect_of, spec_for
from infra_mind.engine.option import counterpart
from infra_mind.engine.pricing import OS_MEMORY_GIB
from infra_mind.engine.sizing import HOURS_PER_MONTH, WorkloadDemand

GIB = 2**30

Choice = tuple[PriceRow, float, str, growth.Part]


def choose_training(catalog: Catalog, provider: str, region: str, d: WorkloadDemand,
                    option: PurchaseOption) -> Choice | None:
    """The GPU machine with the lowest cost for the month's training FLOPs."""
    flops = float(d.resources["flops_per_month"])
    memory_gib = float(d.resources["memory_gib_total"])
    mfu = float(d.resources["mfu"])
    runs = float(d.resources["runs_per_month"])
    best: tuple[float, int, str, Choice] | None = None
    for row in catalog.search(provider, region, gpu=True, purchase_option=option):
        a = row.attributes
        spec = spec_for(str(a["gpu_model"]), float(a["gpu_memory_gib"]))
        if spec is None or spec.dense_bf16_tflops is None:
            continue  # no sourced throughput: cannot estimate training hours
        count = int(a["gpu_count"])
        per_hour_flops = count * spec.dense_bf16_tflops * 1e12 * mfu * 3600
        hours = flops / per_hour_flops
        by_memory = math.ceil(memory_gib / (count * float(a["gpu_memory_gib"])) - 1e-9)
        by_time = math.ceil(hours / HOURS_PER_MONTH - 1e-9)
        machines = max(by_memory, by_time, 1)
        link = interconnect_of(row.sku)
        if machines > 1 and link is None:
            continue  # multi-node training on ordinary networking: see gpus.INTERCONNECT
        cost = hours * row.price_usd
        wall = hours / runs / machines
        why = [f"for memory ({memory_gib:,.0f} GiB)"] if by_memory == machines > 1 else []
        why += ["to finish the month's runs within the month"] if by_time == machines > 1 \
            else []
        note = (f"{flops:.3e} FLOPs / ({count} x {spec.model} {spec.dense_bf16_tflops:g} TFLOPS "
                f"x MFU {mfu}) = {hours:,.1f} instance-hours; "
                + (f"{machines} machines in parallel {' and '.join(why)}" if machines > 1
                   else "1 machine")
                + f" ({memory_gib:,.0f} GiB to hold), about {wall:,.1f} h per run"
                + (f"; nodes joined by {link.fabric}" if machines > 1 and link else ""))
        key = (cost, machines, row.sku)
        if best is None or key < best[:3]:
            best = (*key, (row, hours, note, growth.FixedHours(row.price_usd, hours)))
    return best[3] if best else None


def replica_batch(*, weights_bytes: float, kv_bytes_per_token: float, context_tokens: int,
                  avg_context_tokens: float, usable_bytes: float, bandwidth_bytes_per_s: float,
                  tokens_per_sec_per_request: float, limit: int) -> tuple[int, int, int]:
    """Requests one replica can hold: (batch, by memory, by speed), batch <= ``limit``.

    Memory: the weights, one request at the full context and the others at the average
    context must fit. Speed: a decode step reads the weights and the batch's KV cache, and
    must take at most 1 / tokens_per_sec_per_request. 0 when even one request does not fit.
    """
    per_request = kv_bytes_per_token * avg_context_tokens
    fixed = weights_bytes + kv_bytes_per_token * context_tokens
    by_memory = 1 + math.floor((usable_bytes - fixed) / per_request) if usable_bytes >= fixed \
        else 0
    budget = bandwidth_bytes_per_s / tokens_per_sec_per_request
    by_speed = 1 + math.floor((budget - fixed) / per_request) if budget >= fixed else 0
    return max(0, min(by_memory, by_speed, limit)), by_memory, by_speed


def choose_inference(catalog: Catalog, provider: str, region: str, d: WorkloadDemand,
                     option: PurchaseOption, *, prefer: PurchaseOption | None = None
                     ) -> Choice | None:
    """The GPU machine and count serving the requests in flight at peak at the lowest cost.

    For each machine and each replica width (1, 2, 4 or 8 of its GPUs, tensor parallel):
    the batch a replica holds (``replica_batch``), replicas = ceil(in flight / batch),
    instances = ceil(replicas / replicas per machine), never fewer than the
    availability floor. With ``prefer`` (a commitment), each machine is compared at its
    price under it where the catalog has one: chosen on demand and committed afterwards,
    two committed mid-size GPUs lost to one uncommitted large one that cost more.
    """
    res = d.resources
    weights = float(res["weights_gb"]) * 1e9
    kv_token = float(res["kv_bytes_per_token"])
    context, avg_context = int(res["context_tokens"]), float(res["avg_context_tokens"])
    stream = float(res["tokens_per_sec_per_request"])
    in_flight = int(res["concurrent_requests"])
    peak = float(res["peak_tokens_per_sec"])
    avg = float(res.get("avg_tokens_per_sec", peak))
    peak_hours = float(res.get("peak_hours_per_month", HOURS_PER_MONTH))
    min_instances = int(res["replicas_min"])
    efficiency = float(res["bandwidth_efficiency"])
    overhead = float(res["memory_overhead"])
    best: tuple[float, int, str, Choice] | None = None
    for listed in catalog.search(provider, region, gpu=True, purchase_option=option):
        a = listed.attributes
        spec = spec_for(str(a["gpu_model"]), float(a["gpu_memory_gib"]))
        if spec is None:
            continue
        row = (counterpart(catalog, listed, prefer) or listed) if prefer else listed
        gpu_mem, count = float(a["gpu_memory_gib"]), int(a["gpu_count"])
        width = 1
        while width <= count:  # tensor parallelism across 1, 2, 4 or 8 GPUs
            batch, by_memory, by_speed = replica_batch(
                weights_bytes=weights, kv_bytes_per_token=kv_token, context_tokens=context,
                avg_context_tokens=avg_context, usable_bytes=width * gpu_mem * GIB / overhead,
                bandwidth_bytes_per_s=width * spec.memory_bandwidth_gbps * 1e9 * efficiency,
                tokens_per_sec_per_request=stream, limit=in_flight)
            if batch >= 1:
                per_machine = count // width
                # tokens/s a replica is counted for: replicas = ceil(in flight / batch)
                part = growth.ScaledReplicas(row.price_usd, batch * peak / in_flight,
                                             per_machine, peak, min_instances,
                                             avg if avg < peak else None, peak_hours)
                floor, instances = part.counts(1.0)
                replicas = math.ceil(in_flight / batch - 1e-9)
                # the floor is bought as asked (a commitment), the peak's instances on demand
                cost = (floor * row.price_usd * HOURS_PER_MONTH
                        + (instances - floor) * listed.price_usd * peak_hours)
                note = (f"{instances} x {count} x {spec.model} ({gpu_mem:g} GiB); replica on "
                        f"{width} GPU(s), {per_machine} per machine; {batch} requests per "
                        f"replica (memory fits {by_memory}, {stream:g} tokens/s each allows "
                        f"{by_speed}; bandwidth {width} x {spec.memory_bandwidth_gbps:g} GB/s x "
                        f"{efficiency}); {replicas} replica(s) for {in_flight} in flight; "
                        + (f"{instances} x {HOURS_PER_MONTH} h" if floor == instances else
                           f"autoscaled: floor = max({min_instances}, ceil({avg:g} tokens/s "
                           f"average / {part.tokens_per_sec_per_replica:,.0f} a replica"
                           + (f", {per_machine} replicas a machine" if per_machine > 1 else "")
                           + f")) = {floor} x {HOURS_PER_MONTH} h, peak {instances} for "
                           f"{peak_hours:.1f} h"))
                key = (cost, instances, row.sku)
                if best is None or key < best[:3]:
                    best = (*key, (row, part.hours(1.0), note, part))
            width *= 2
    return best[3] if best else None


def inference_shortfall(catalog: Catalog, provider: str, region: str, d: WorkloadDemand
                        ) -> str:
    """Why no machine in the region serves a model: the words for the violation.

    The machine with the most GPU memory is the nearest miss: either one request at the
    full context does not fit its GPUs, or it fits but the GPUs' memory bandwidth cannot
    stream it at the speed asked (each token reads the weights and the request's KV
    cache). Where the weights are fp16 or int8, says whether halving them would fit.
    """
    res = d.resources
    weights = float(res["weights_gb"]) * 1e9
    kv_token, context = float(res["kv_bytes_per_token"]), int(res["context_tokens"])
    fixed_kv = kv_token * context
    stream = float(res["tokens_per_sec_per_request"])
    efficiency, overhead = float(res["bandwidth_efficiency"]), float(res["memory_overhead"])
    largest: tuple[float, PriceRow, float] | None = None  # (usable bytes, row, bandwidth)
    for row in catalog.search(provider, region, gpu=True):
        a = row.attributes
        spec = spec_for(str(a["gpu_model"]), float(a["gpu_memory_gib"]))
        if spec is None:
            continue
        count = int(a["gpu_count"])
        usable = count * float(a["gpu_memory_gib"]) * GIB / overhead
        bandwidth = count * spec.memory_bandwidth_gbps * 1e9 * efficiency
        if largest is None or (usable, bandwidth) > (largest[0], largest[2]):
            largest = (usable, row, bandwidth)
    if largest is None:
        return "no GPU machine with a sourced memory bandwidth is priced there"
    usable, row, bandwidth = largest
    a = row.attributes
    machine = f"{row.sku} ({a['gpu_count']} x {a['gpu_model']}, {usable / 1e9:,.0f} GB usable)"

    def fits(w: float) -> bool:  # one request at the full context, as choose_inference asks
        batch, _, _ = replica_batch(
            weights_bytes=w, kv_bytes_per_token=kv_token, context_tokens=context,
            avg_context_tokens=float(res["avg_context_tokens"]), usable_bytes=usable,
            bandwidth_bytes_per_s=bandwidth, tokens_per_sec_per_request=stream, limit=1)
        return batch >= 1

    if usable < weights + fixed_kv:
        why = (f"one request at its full context needs {(weights + fixed_kv) / 1e9:,.0f} GB "
               f"(weights {weights / 1e9:,.0f} GB, KV cache {fixed_kv / 1e9:,.0f} GB), more "
               f"than the largest machine, {machine}, holds")
    else:
        top = bandwidth / (weights + fixed_kv)
        why = (f"the largest machine, {machine}, holds it but streams one request at most "
               f"{top:,.1f} tokens/s (each token reads {(weights + fixed_kv) / 1e9:,.0f} GB "
               f"at {bandwidth / 1e12:,.1f} TB/s), under the {stream:g} asked "
               "(tokens_per_sec_per_request)")
    smaller = {"fp16": "int8", "int8": "int4"}.get(str(res["precision"]))
    if smaller is not None and fits(weights / 2):
        why += f"; at {smaller} ({weights / 2e9:,.0f} GB of weights) it fits that machine"
    return why + "; serving across machines (pipeline parallel) is not designed"


def gpu_model_family(name: str) -> str:
    """``"H100 NVL"`` -> ``"H100"``, ``"A100-80GB"`` -> ``"A100"``: the model a user names."""
    return name.strip().upper().replace("-", " ").split(" ")[0]


def choose_gpu_worker(catalog: Catalog, provider: str, region: str, d: WorkloadDemand,
                      option: PurchaseOption, *, prefer: PurchaseOption | None = None
                      ) -> tuple[PriceRow, int, float, str, growth.GpuMachines] | None:
    """The GPU machines for a worker: (row, machines, hours a month each, note, part).

    machines = max(ceil(GPUs / GPUs per machine), ceil(vCPU / machine vCPU),
    ceil(memory / machine memory)), over machines whose GPUs have the memory (and model)
    asked for and that hold the GPUs that must share a machine (``gpu_per_machine``) a
    whole number of times; cost = machines x hours x price, under ``prefer`` (a
    commitment, for machines that run all month) where the catalog prices it.
    """
    res = d.resources
    gpus, gpu_mem = int(res["gpu_count"]), float(res["gpu_memory_gib"])
    together = int(res.get("gpu_per_machine", 1))
    model, hours = str(res["gpu_model"]), float(res["hours_per_month"])
    vcpu, memory = float(res["vcpu"]), float(res["memory_gib"])
    follows = bool(res.get("follows_traffic"))
    best: tuple[float, int, str, tuple] | None = None
    for listed in catalog.search(provider, region, gpu=True, purchase_option=option):
        a = listed.attributes
        row = (counterpart(catalog, listed, prefer) or listed) if prefer else listed
        if float(a["gpu_memory_gib"]) < gpu_mem:
            continue
        if model != "any" and gpu_model_family(str(a["gpu_model"])) != model.upper():
            continue
        if int(a["gpu_count"]) % together:
            continue
        # what each machine leaves the worker: its memory less the operating system's
        left = float(a["memory_gib"]) - OS_MEMORY_GIB
        part = growth.GpuMachines(row.price_usd, hours, int(a["gpu_count"]), float(a["vcpu"]),
                                  left, gpus, vcpu, memory, follows)
        machines = part.count(1.0)
        key = (machines * hours * row.price_usd, machines, row.sku)
        if best is None or key < best[:3]:
            note = (f"{machines} x {a['gpu_count']} x {a['gpu_model']} "
                    f"({float(a['gpu_memory_gib']):g} GiB), {a['vcpu']} vCPU, "
                    f"{a['memory_gib']} GiB each; machines = max(ceil({gpus} GPUs / "
                    f"{a['gpu_count']}), ceil({vcpu:g} vCPU / {a['vcpu']}), ceil({memory:g} "
                    f"GiB / {left:g} after {OS_MEMORY_GIB:g} GiB for the operating system)); "
                    f"{machines} x {hours:g} h"
                    + (f"; {together} GPUs to a machine, as asked" if together > 1 else ""))
            best = (*key, (row, machines, hours, note, part))
    return best[3] if best else None
