"""Sizing: each workload becomes a resource demand by a documented formula.

Every ``Demand`` carries its trace: the formula with the numbers put in, so a
reader can redo the arithmetic. The constants below are the engine's stated
assumptions; each says why it has the value it has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from infra_mind.engine.requirements import (
    Cache,
    Database,
    MlInference,
    MlTraining,
    ObjectStorage,
    Requirements,
    StaticSite,
    WebService,
    Worker,
)
from infra_mind.engine.result import Demand

HOURS_PER_MONTH = 730
#: Always-on services are sized so that peak load uses 60% of their vCPUs: the rest
#: is headroom for bursts above the stated peak and for losing one instance.
TARGET_CPU_UTILISATION = 0.6
#: Redis needs memory beyond its data set for fragmentation, replication and fork.
CACHE_MEMORY_OVERHEAD = 1.25
#: A database without stated size keeps about a tenth of its data in memory.
DB_MEMORY_FRACTION_OF_DATA = 0.10
DB_MIN_MEMORY_GIB = 4.0
#: Memory-optimised database shapes have about 8 GiB per vCPU.
DB_GIB_PER_VCPU = 8.0
DB_MIN_VCPU = 2
#: Training: FLOPs = 6 x parameters x tokens (forward and backward pass, Kaplan et al.
#: 2020, "Scaling Laws for Neural Language Models"), run at this model FLOPs utilisation.
TRAINING_MFU = 0.40
#: Mixed-precision training with Adam keeps about 16 bytes per parameter (weights,
#: gradients, fp32 master weights and two moments), sharded across GPUs (ZeRO-3 / FSDP);
#: 20% more for activations and buffers.
TRAINING_BYTES_PER_PARAM = 16.0
TRAINING_MEMORY_OVERHEAD = 1.2
#: Inference: bytes per weight by precision.
BYTES_PER_PARAM = {"fp16": 2.0, "int8": 1.0, "int4": 0.5}
#: Decoder shape assumed to estimate the KV cache when only the size is known:
#: parameters ~ 12 x layers x d_model^2 with d_model / layers ~ 128 (GPT-3 175B:
#: 12288/96; Llama 2 7B: 4096/32), and grouped-query attention with 8 K/V heads for
#: 32 query heads (Llama 3 8B, Mistral 7B). Larger models share K/V heads more
#: (Llama 3 70B: 8 of 64), so for them this overestimates the cache: conservative.
D_MODEL_PER_LAYER = 128
GQA_KV_FRACTION = 1 / 4
KV_BYTES = 2.0  # fp16 K and V
#: Decoding reads the weights and the batch's KV cache once per step; achievable
#: bandwidth is this share of the GPU's peak.
INFERENCE_BANDWIDTH_EFFICIENCY = 0.6
#: Serving memory beyond weights and KV cache (activations, CUDA context, fragmentation).
INFERENCE_MEMORY_OVERHEAD = 1.1


def min_instances(availability_target: float) -> int:
    """Instances an always-on service needs for the availability target.

    One below 99.9; two in separate zones from 99.9 (one zone can fail); three
    from 99.99 (one zone can fail while another is in maintenance).
    """
    if availability_target >= 99.99:
        return 3
    if availability_target >= 99.9:
        return 2
    return 1


def database_ha(availability_target: float) -> bool:
    """A standby in another zone from 99.9."""
    return availability_target >= 99.9


@dataclass
class WorkloadDemand:
    """A sized workload: the result's ``Demand`` plus what the optimiser needs."""

    workload: str
    type: str
    resources: dict[str, float | int | str | bool]
    trace: list[str]
    egress_gb_per_month: float = 0.0
    #: For projection: share of this demand that follows traffic (1 = all of it).
    scales_with_traffic: bool = False
    notes: list[str] = field(default_factory=list)

    def to_demand(self) -> Demand:
        return Demand(workload=self.workload, type=self.type, resources=self.resources,
                      trace=self.trace)


def _fmt(x: float) -> str:
    return f"{x:,.4g}" if abs(x) < 1e6 else f"{x:,.0f}"


def size_web_service(w: WebService, availability: float) -> WorkloadDemand:
    avg = w.avg_rps if w.avg_rps is not None else w.peak_rps / 3
    vcpu = w.peak_rps * w.cpu_ms_per_request / 1000 / TARGET_CPU_UTILISATION
    vcpu_avg = avg * w.cpu_ms_per_request / 1000 / TARGET_CPU_UTILISATION
    n_min = min_instances(availability)
    trace = [
        f"vCPU at peak = peak_rps x cpu_ms_per_request / 1000 / target utilisation = "
        f"{_fmt(w.peak_rps)} x {_fmt(w.cpu_ms_per_request)} / 1000 / "
        f"{TARGET_CPU_UTILISATION} = {vcpu:.2f}",
        f"vCPU at average = {_fmt(avg)} x {_fmt(w.cpu_ms_per_request)} / 1000 / "
        f"{TARGET_CPU_UTILISATION} = {vcpu_avg:.2f}"
        + ("" if w.avg_rps is not None else " (avg_rps not given: peak / 3)"),
        f"instances >= {n_min} for availability {availability}% "
        f"({'one per zone' if n_min > 1 else 'single zone'}); each with >= {_fmt(w.memory_gb)} "
        f"GiB memory",
    ]
    return WorkloadDemand(w.name, w.type, {
        "vcpu": round(vcpu, 4), "vcpu_avg": round(vcpu_avg, 4),
        "memory_gib_per_instance": w.memory_gb, "instances_min": n_min,
        "peak_rps": w.peak_rps, "avg_rps": round(avg, 4)},
        trace, w.egress_gb_per_month, scales_with_traffic=True)


def size_worker(w: Worker, spot_ok: bool) -> WorkloadDemand:
    if w.vcpu is not None:
        vcpu = w.vcpu
        trace = [f"vCPU = {_fmt(vcpu)} (stated, running all month)"]
    else:
        assert w.vcpu_hours_per_month is not None
        vcpu = w.vcpu_hours_per_month / HOURS_PER_MONTH
        trace = [f"vCPU = vcpu_hours_per_month / {HOURS_PER_MONTH} = "
                 f"{_fmt(w.vcpu_hours_per_month)} / {HOURS_PER_MONTH} = {vcpu:.2f}"]
    spot = w.interruptible and spot_ok
    trace.append(f"memory >= {_fmt(w.memory_gb)} GiB in total; "
                 + ("interruptible and spot allowed: spot capacity" if spot else
                    "on-demand capacity" + (" (interruptible, but spot_ok is false)"
                                            if w.interruptible else "")))
    return WorkloadDemand(w.name, w.type, {
        "vcpu": round(vcpu, 4), "memory_gib": w.memory_gb, "spot": spot,
        "interruptible": w.interruptible}, trace, w.egress_gb_per_month,
        scales_with_traffic=True)


def size_database(w: Database, availability: float, horizon_months: int) -> WorkloadDemand:
    trace = []
    if w.memory_gb is not None:
        memory = w.memory_gb
        trace.append(f"memory = {_fmt(memory)} GiB (stated)")
    else:
        memory = max(DB_MIN_MEMORY_GIB, w.storage_gb * DB_MEMORY_FRACTION_OF_DATA)
        trace.append(f"memory = max({DB_MIN_MEMORY_GIB}, storage_gb x "
                     f"{DB_MEMORY_FRACTION_OF_DATA}) = max({DB_MIN_MEMORY_GIB}, "
                     f"{_fmt(w.storage_gb)} x {DB_MEMORY_FRACTION_OF_DATA}) = {memory:.1f} GiB")
    if w.vcpu is not None:
        vcpu = w.vcpu
        trace.append(f"vCPU = {_fmt(vcpu)} (stated)")
    else:
        vcpu = max(DB_MIN_VCPU, math.ceil(memory / DB_GIB_PER_VCPU))
        trace.append(f"vCPU = max({DB_MIN_VCPU}, ceil(memory / {DB_GIB_PER_VCPU})) = {vcpu}")
    ha = database_ha(availability)
    final = w.storage_gb + w.growth_gb_per_month * (horizon_months - 1)
    trace.append(f"storage month 1 = {_fmt(w.storage_gb)} GB; month {horizon_months} = "
                 f"{_fmt(w.storage_gb)} + {_fmt(w.growth_gb_per_month)} x "
                 f"{horizon_months - 1} = {_fmt(final)} GB")
    trace.append("high availability: a standby in a second zone" if ha else
                 f"single instance (availability {availability}% < 99.9)")
    return WorkloadDemand(w.name, w.type, {
        "engine": w.engine, "vcpu": vcpu, "memory_gib": round(memory, 2),
        "storage_gb": w.storage_gb, "growth_gb_per_month": w.growth_gb_per_month, "ha": ha},
        trace, w.egress_gb_per_month)


def size_object_storage(w: ObjectStorage, horizon_months: int) -> WorkloadDemand:
    final = w.storage_gb + w.growth_gb_per_month * (horizon_months - 1)
    return WorkloadDemand(w.name, w.type, {
        "storage_gb": w.storage_gb, "growth_gb_per_month": w.growth_gb_per_month,
        "storage_class": "standard" if w.access == "frequent" else "infrequent"},
        [f"storage month 1 = {_fmt(w.storage_gb)} GB; month {horizon_months} = "
         f"{_fmt(w.storage_gb)} + {_fmt(w.growth_gb_per_month)} x {horizon_months - 1} = "
         f"{_fmt(final)} GB; {w.access} access"], w.egress_gb_per_month)


def size_cache(w: Cache, availability: float) -> WorkloadDemand:
    memory = w.memory_gb * CACHE_MEMORY_OVERHEAD
    ha = database_ha(availability)
    return WorkloadDemand(w.name, w.type, {"memory_gib": round(memory, 2), "ha": ha},
                          [f"node memory >= memory_gb x {CACHE_MEMORY_OVERHEAD} = "
                           f"{_fmt(w.memory_gb)} x {CACHE_MEMORY_OVERHEAD} = {memory:.2f} GiB",
                           "a replica in a second zone" if ha else "a single node"],
                          w.egress_gb_per_month)


def size_static_site(w: StaticSite) -> WorkloadDemand:
    return WorkloadDemand(w.name, w.type, {"storage_gb": w.storage_gb},
                          [f"site files {_fmt(w.storage_gb)} GB in object storage, served "
                           f"through the load balancer; egress {_fmt(w.egress_gb_per_month)} "
                           "GB/month"], w.egress_gb_per_month, scales_with_traffic=True)


def size_training(w: MlTraining, spot_ok: bool) -> WorkloadDemand:
    flops_per_run = 6 * w.model_params_b * 1e9 * w.tokens_b_per_run * 1e9
    flops = flops_per_run * w.runs_per_month
    memory_gib = (w.model_params_b * 1e9 * TRAINING_BYTES_PER_PARAM
                  * TRAINING_MEMORY_OVERHEAD / 2**30)
    trace = [
        f"FLOPs per run = 6 x parameters x tokens = 6 x {_fmt(w.model_params_b)}e9 x "
        f"{_fmt(w.tokens_b_per_run)}e9 = {flops_per_run:.3e}",
        f"FLOPs per month = {flops_per_run:.3e} x {_fmt(w.runs_per_month)} runs = {flops:.3e}",
        f"GPU-hours = FLOPs / (GPU dense BF16 peak x MFU {TRAINING_MFU}) / 3600, per GPU model",
        f"training memory = parameters x {TRAINING_BYTES_PER_PARAM} bytes x "
        f"{TRAINING_MEMORY_OVERHEAD} = {memory_gib:,.0f} GiB across the GPUs (sharded)",
        "spot capacity (checkpointed training tolerates interruption)" if spot_ok else
        "on-demand capacity (spot_ok is false)",
    ]
    return WorkloadDemand(w.name, w.type, {
        "flops_per_month": flops, "memory_gib_total": round(memory_gib, 1), "spot": spot_ok,
        "mfu": TRAINING_MFU, "runs_per_month": w.runs_per_month}, trace,
        w.egress_gb_per_month)


def kv_bytes_per_token(params_b: float) -> tuple[float, int, int]:
    """KV-cache bytes per token, with the assumed layer count and model width."""
    d_model = (params_b * 1e9 * D_MODEL_PER_LAYER / 12) ** (1 / 3)
    layers = max(1, round(d_model / D_MODEL_PER_LAYER))
    return 2 * layers * d_model * GQA_KV_FRACTION * KV_BYTES, layers, round(d_model)


def size_inference(w: MlInference, availability: float) -> WorkloadDemand:
    weights_gb = w.model_params_b * 1e9 * BYTES_PER_PARAM[w.precision] / 1e9
    kv_token, layers, d_model = kv_bytes_per_token(w.model_params_b)
    kv_gb = kv_token * w.context_tokens * w.concurrent_requests / 1e9
    memory_gb = (weights_gb + kv_gb) * INFERENCE_MEMORY_OVERHEAD
    n_min = min_instances(availability)
    trace = [
        f"weights = {_fmt(w.model_params_b)}e9 parameters x {BYTES_PER_PARAM[w.precision]} "
        f"bytes ({w.precision}) = {weights_gb:.1f} GB",
        f"KV cache per token = 2 x layers {layers} x d_model {d_model} x GQA "
        f"{GQA_KV_FRACTION:.3f} x {KV_BYTES} bytes = {kv_token / 1e3:.1f} kB (shape assumed "
        f"from size: d_model/layers = {D_MODEL_PER_LAYER})",
        f"KV cache = {kv_token / 1e3:.1f} kB x context {w.context_tokens} x "
        f"{w.concurrent_requests} concurrent = {kv_gb:.1f} GB",
        f"GPU memory per replica = (weights + KV) x {INFERENCE_MEMORY_OVERHEAD} = "
        f"{memory_gb:.1f} GB",
        f"decode tokens/s per replica = concurrent / (bytes read per step / (GPU bandwidth x "
        f"{INFERENCE_BANDWIDTH_EFFICIENCY})), per GPU model; replicas >= "
        f"ceil({_fmt(w.peak_tokens_per_sec)} / that) and >= {n_min} for availability",
    ]
    return WorkloadDemand(w.name, w.type, {
        "weights_gb": round(weights_gb, 3), "kv_gb": round(kv_gb, 3),
        "memory_gb": round(memory_gb, 3), "peak_tokens_per_sec": w.peak_tokens_per_sec,
        "concurrent_requests": w.concurrent_requests, "replicas_min": n_min,
        "bandwidth_efficiency": INFERENCE_BANDWIDTH_EFFICIENCY}, trace,
        w.egress_gb_per_month, scales_with_traffic=True)


def size_all(req: Requirements) -> list[WorkloadDemand]:
    """The demand of every workload, in file order."""
    availability = float(req.availability_target)
    horizon = req.business.horizon_months
    spot_ok = req.preferences.spot_ok
    out = []
    for w in req.workloads:
        match w:
            case WebService():
                out.append(size_web_service(w, availability))
            case Worker():
                out.append(size_worker(w, spot_ok))
            case Database():
                out.append(size_database(w, availability, horizon))
            case ObjectStorage():
                out.append(size_object_storage(w, horizon))
            case Cache():
                out.append(size_cache(w, availability))
            case StaticSite():
                out.append(size_static_site(w))
            case MlTraining():
                out.append(size_training(w, spot_ok))
            case MlInference():
                out.append(size_inference(w, availability))
    return out
