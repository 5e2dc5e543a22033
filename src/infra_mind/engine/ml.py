"""Choosing GPU machines for training and inference at least cost.

Training cost is instance-hours: the month's FLOPs over each machine's dense
BF16 peak at the stated model FLOPs utilisation. Inference is sized on memory
(weights and KV cache must fit a replica's GPUs) and on decode throughput,
which is bound by memory bandwidth: each step reads the weights and the batch's
KV cache once.
"""

from __future__ import annotations

import math

from infra_mind.catalog.model import PriceRow, PurchaseOption
from infra_mind.catalog.store import Catalog
from infra_mind.engine import growth
from infra_mind.engine.gpus import spec_for
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
        machines = max(math.ceil(memory_gib / (count * float(a["gpu_memory_gib"])) - 1e-9),
                       math.ceil(hours / HOURS_PER_MONTH - 1e-9), 1)
        cost = hours * row.price_usd
        wall = hours / runs / machines
        note = (f"{flops:.3e} FLOPs / ({count} x {spec.model} {spec.dense_bf16_tflops:g} TFLOPS "
                f"x MFU {mfu}) = {hours:,.1f} instance-hours; {machines} machine(s) in "
                f"parallel for memory ({memory_gib:,.0f} GiB), about {wall:,.1f} h per run")
        key = (cost, machines, row.sku)
        if best is None or key < best[:3]:
            best = (*key, (row, hours, note, growth.FixedHours(row.price_usd, hours)))
    return best[3] if best else None


def choose_inference(catalog: Catalog, provider: str, region: str, d: WorkloadDemand,
                     option: PurchaseOption) -> Choice | None:
    """The GPU machine and count serving the peak token rate at the lowest cost."""
    res = d.resources
    need_gib = float(res["memory_gb"]) * 1e9 / GIB
    bytes_per_step = (float(res["weights_gb"]) + float(res["kv_gb"])) * 1e9
    concurrent = int(res["concurrent_requests"])
    peak = float(res["peak_tokens_per_sec"])
    min_instances = int(res["replicas_min"])
    efficiency = float(res["bandwidth_efficiency"])
    best: tuple[float, int, str, Choice] | None = None
    for row in catalog.search(provider, region, gpu=True, purchase_option=option):
        a = row.attributes
        spec = spec_for(str(a["gpu_model"]), float(a["gpu_memory_gib"]))
        if spec is None:
            continue
        gpu_mem, count = float(a["gpu_memory_gib"]), int(a["gpu_count"])
        gpus_per_replica = math.ceil(need_gib / gpu_mem - 1e-9)
        if gpus_per_replica > count:
            continue  # a replica must fit one machine: no multi-node serving modelled
        # tensor parallelism across 1, 2, 4 or 8 GPUs
        gpus_per_replica = 1 << (gpus_per_replica - 1).bit_length()
        if gpus_per_replica > count:
            continue
        replicas_per_instance = count // gpus_per_replica
        step_s = bytes_per_step / (gpus_per_replica * spec.memory_bandwidth_gbps * 1e9
                                   * efficiency)
        tps = concurrent / step_s
        part = growth.ScaledReplicas(row.price_usd, tps, replicas_per_instance, peak,
                                     min_instances)
        instances = part.count(1.0)
        cost = instances * row.price_usd * HOURS_PER_MONTH
        note = (f"{instances} x {count} x {spec.model} ({gpu_mem:g} GiB); replica on "
                f"{gpus_per_replica} GPU(s), {replicas_per_instance} per machine; "
                f"{tps:,.0f} tokens/s per replica = {concurrent} concurrent / "
                f"({bytes_per_step / 1e9:.1f} GB per step / ({gpus_per_replica} x "
                f"{spec.memory_bandwidth_gbps:g} GB/s x {efficiency})); "
                f"{instances} x {HOURS_PER_MONTH} h")
        key = (cost, instances, row.sku)
        if best is None or key < best[:3]:
            best = (*key, (row, instances * HOURS_PER_MONTH, note, part))
    return best[3] if best else None
