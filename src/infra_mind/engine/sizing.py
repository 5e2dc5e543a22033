"""Sizing: each workload becomes a resource demand by a documented formula.

Every ``Demand`` carries its trace: the formula with the numbers put in, so a
reader can redo the arithmetic. The constants below are the engine's stated
assumptions; each says why it has the value it has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import assert_never

from infra_mind.engine.money import qty
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
from infra_mind.engine.workloads import WorkloadKind

HOURS_PER_MONTH = 730
#: Always-on services are sized so that peak load uses 60% of their vCPUs: the rest
#: is headroom for bursts above the stated peak and for losing one instance.
TARGET_CPU_UTILISATION = 0.6
#: Redis needs memory beyond its data set for fragmentation, replication and fork.
CACHE_MEMORY_OVERHEAD = 1.25
#: A database without stated size keeps about a tenth of its data in memory.
DB_MEMORY_FRACTION_OF_DATA = 0.10
#: 1 GiB: the smallest managed tiers (RDS db.t4g.micro 1 GiB, Azure flexible server B1ms
#: 2 GiB, Cloud SQL db-g1-small 1.7 GB) run a small site's PostgreSQL or MySQL.
DB_MIN_MEMORY_GIB = 1.0
#: Memory-optimised database shapes have about 8 GiB per vCPU; a database sized from its
#: data needs memory / 8 vCPUs, a fraction of one for a small database (a burstable or
#: shared-core tier whose baseline covers it, see ``burstable``).
DB_GIB_PER_VCPU = 8.0
#: Hours in a day, to turn a web service's peak hours a day into hours a month.
HOURS_PER_DAY = 24
#: CDN requests when none are stated: egress / 30 KB. The HTTP Archive's Web Almanac 2022
#: (Page Weight chapter) has a median page of about 2.3 MB in about 70-76 requests, about
#: 30 KB a request; smaller objects mean more requests, so this errs towards more.
AVG_RESPONSE_KB = 30.0
#: Inference: an unstated average prompt is half the context window, an unstated average
#: reply an eighth of it (512 tokens of a 4k window): long prompts, as in retrieval.
DEFAULT_PROMPT_SHARE_OF_CONTEXT = 1 / 2
DEFAULT_OUTPUT_SHARE_OF_CONTEXT = 1 / 8
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
#: 12288/96; Llama 2 7B: 4096/32). Grouped-query attention keeps the K/V width of a
#: layer at 8 K/V heads of 128 whatever the size (their config.json files: Llama 3.1 8B,
#: 70B and 405B, Qwen2.5 72B, Mistral 7B), and at most a quarter of d_model (8 K/V
#: heads for 32 query heads: Llama 3 8B, Mistral 7B; a 1B model's heads are narrower).
#: A quarter of d_model alone had sized a 70B model's cache twice its Llama 3.1 70B's.
D_MODEL_PER_LAYER = 128
KV_HEADS, KV_HEAD_DIM = 8, 128
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
    type: WorkloadKind
    resources: dict[str, float | int | str | bool]
    trace: list[str]
    egress_gb_per_month: float = 0.0
    #: For projection: whether this demand follows traffic.
    scales_with_traffic: bool = False
    #: Whether its internet egress follows traffic (not a fixed-size worker's, nor
    #: training's).
    egress_scales: bool = True
    notes: list[str] = field(default_factory=list)

    def to_demand(self) -> Demand:
        return Demand(workload=self.workload, type=self.type.value, resources=self.resources,
                      trace=self.trace)


def _fmt(x: float) -> str:
    return qty(x, 4)


def size_web_service(w: WebService, availability: float) -> WorkloadDemand:
    avg = w.average_rps
    vcpu = w.peak_rps * w.cpu_ms_per_request / 1000 / TARGET_CPU_UTILISATION
    vcpu_avg = avg * w.cpu_ms_per_request / 1000 / TARGET_CPU_UTILISATION
    n_min = min_instances(availability)
    peak_hours = w.peak_hours_per_day * HOURS_PER_MONTH / HOURS_PER_DAY
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
        f"autoscaled: floor = max({n_min}, instances for the average) all month; peak "
        f"instances for {_fmt(w.peak_hours_per_day)} h a day = {_fmt(w.peak_hours_per_day)} x "
        f"{HOURS_PER_MONTH} / {HOURS_PER_DAY} = {peak_hours:.1f} h a month",
    ]
    resources: dict[str, float | int | str | bool] = {
        "vcpu": round(vcpu, 4), "vcpu_avg": round(vcpu_avg, 4),
        "memory_gib_per_instance": w.memory_gb, "instances_min": n_min,
        "peak_rps": w.peak_rps, "avg_rps": round(avg, 4),
        "peak_hours_per_month": round(peak_hours, 4)}
    if w.internal:  # said only when so: a public service's demand reads as it always did
        resources["internal"] = True
        trace.append("internal: called by the business's own services only, not from the "
                     "internet")
    return WorkloadDemand(w.name, WorkloadKind(w.type), resources, trace,
                          w.egress_gb_per_month, scales_with_traffic=True)


def size_worker(w: Worker, spot_ok: bool) -> WorkloadDemand:
    gpu = w.gpu
    hours = gpu.hours_per_month if gpu is not None and gpu.hours_per_month else HOURS_PER_MONTH
    if w.vcpu is not None:
        vcpu = w.vcpu
        trace = [f"vCPU = {_fmt(vcpu)} (stated, while running)"]
    else:
        assert w.vcpu_hours_per_month is not None
        vcpu = w.vcpu_hours_per_month / hours
        trace = [f"vCPU = vcpu_hours_per_month / {_fmt(hours)} h = "
                 f"{_fmt(w.vcpu_hours_per_month)} / {_fmt(hours)} = {vcpu:.2f}"]
    spot = w.interruptible and spot_ok
    trace.append(f"memory >= {_fmt(w.memory_gb)} GiB in total; "
                 + ("interruptible and spot allowed: spot capacity" if spot else
                    "on-demand capacity" + (" (interruptible, but spot_ok is false)"
                                            if w.interruptible else "")))
    resources: dict[str, float | int | str | bool] = {
        "vcpu": round(vcpu, 4), "memory_gib": w.memory_gb, "spot": spot,
        "interruptible": w.interruptible, "follows_traffic": w.follows_traffic}
    if w.vcpu_hours_per_month is not None:
        resources["vcpu_hours_per_month"] = w.vcpu_hours_per_month
    if gpu is not None:
        together = gpu.per_machine or 1
        resources |= {"gpu_count": gpu.count, "gpu_memory_gib": gpu.memory_gb,
                      "gpu_model": gpu.model or "any", "hours_per_month": round(hours, 4),
                      "gpu_per_machine": together,
                      "gpu_per_machine_stated": gpu.per_machine is not None}
        trace.append(f"GPUs: {gpu.count} x >= {_fmt(gpu.memory_gb)} GB"
                     + (f" ({gpu.model})" if gpu.model else "")
                     + (f", {together} to a machine" if together > 1 else "")
                     + " on GPU machines, "
                     + (f"{_fmt(hours)} h a month (started when there is work)"
                        if hours < HOURS_PER_MONTH else "all month"))
    trace.append("size follows traffic over the projection" if w.follows_traffic else
                 "fixed size over the projection (follows_traffic is false)")
    return WorkloadDemand(w.name, WorkloadKind(w.type), resources, trace,
                          w.egress_gb_per_month, scales_with_traffic=w.follows_traffic,
                          egress_scales=w.follows_traffic)


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
        vcpu = round(memory / DB_GIB_PER_VCPU, 4)
        trace.append(f"vCPU = memory / {DB_GIB_PER_VCPU} GiB = {vcpu:g} (sustained; a "
                     "burstable tier qualifies when its baseline covers it)")
    ha = database_ha(availability)
    final = w.storage_gb + w.growth_gb_per_month * (horizon_months - 1)
    trace.append(f"storage month 1 = {_fmt(w.storage_gb)} GB; month {horizon_months} = "
                 f"{_fmt(w.storage_gb)} + {_fmt(w.growth_gb_per_month)} x "
                 f"{horizon_months - 1} = {_fmt(final)} GB")
    trace.append("high availability: a standby in a second zone" if ha else
                 f"single instance (availability {availability}% < 99.9)")
    return WorkloadDemand(w.name, WorkloadKind(w.type), {
        "engine": w.engine, "vcpu": vcpu, "memory_gib": round(memory, 2),
        "storage_gb": w.storage_gb, "growth_gb_per_month": w.growth_gb_per_month, "ha": ha},
        trace, w.egress_gb_per_month)


def cdn_requests(egress_gb: float, stated: float | None) -> tuple[float, str]:
    """Requests a month through the CDN, and how that figure was found."""
    if stated is not None:
        return stated, f"{_fmt(stated)} requests a month (stated)"
    requests = egress_gb * 1e6 / AVG_RESPONSE_KB
    return requests, (f"requests = egress {_fmt(egress_gb)} GB x 1e6 / {AVG_RESPONSE_KB:g} KB "
                      f"a response = {_fmt(requests)} a month")


def size_object_storage(w: ObjectStorage, horizon_months: int) -> WorkloadDemand:
    final = w.storage_gb + w.growth_gb_per_month * (horizon_months - 1)
    trace = [f"storage month 1 = {_fmt(w.storage_gb)} GB; month {horizon_months} = "
             f"{_fmt(w.storage_gb)} + {_fmt(w.growth_gb_per_month)} x {horizon_months - 1} = "
             f"{_fmt(final)} GB; {w.access} access"]
    resources: dict[str, float | int | str | bool] = {
        "storage_gb": w.storage_gb, "growth_gb_per_month": w.growth_gb_per_month,
        "storage_class": "standard" if w.access == "frequent" else "infrequent",
        "public": w.public}
    if w.public:
        requests, how = cdn_requests(w.egress_gb_per_month, w.requests_per_month)
        resources["cdn_requests_per_month"] = round(requests, 2)
        # a bucket's files may be megabytes (media, downloads): ``assess`` warns when the
        # web-asset size assumed here weighs on the price
        resources["cdn_requests_assumed"] = w.requests_per_month is None
        trace.append(f"public: served through the CDN with the bucket as origin; egress "
                     f"{_fmt(w.egress_gb_per_month)} GB a month is CDN egress; {how}")
    return WorkloadDemand(w.name, WorkloadKind(w.type), resources, trace,
                          w.egress_gb_per_month, scales_with_traffic=w.public)


def size_cache(w: Cache, availability: float) -> WorkloadDemand:
    memory = w.memory_gb * CACHE_MEMORY_OVERHEAD
    ha = database_ha(availability)
    return WorkloadDemand(w.name, WorkloadKind(w.type),
                          {"memory_gib": round(memory, 2), "ha": ha},
                          [f"node memory >= memory_gb x {CACHE_MEMORY_OVERHEAD} = "
                           f"{_fmt(w.memory_gb)} x {CACHE_MEMORY_OVERHEAD} = {memory:.2f} GiB",
                           "a replica in a second zone" if ha else "a single node"],
                          w.egress_gb_per_month)


def size_static_site(w: StaticSite) -> WorkloadDemand:
    requests, how = cdn_requests(w.egress_gb_per_month, w.requests_per_month)
    return WorkloadDemand(w.name, WorkloadKind(w.type),
                          {"storage_gb": w.storage_gb, "public": True,
                           "cdn_requests_per_month": round(requests, 2)},
                          [f"site files {_fmt(w.storage_gb)} GB in object storage, the origin "
                           f"of the provider's CDN; no servers, no load balancer; CDN egress "
                           f"{_fmt(w.egress_gb_per_month)} GB a month", how],
                          w.egress_gb_per_month, scales_with_traffic=True)


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
        "more than one machine (for memory or to finish within the month): interconnect-"
        "class nodes only (8 GPUs on NVLink, EFA or InfiniBand between nodes)",
        "spot capacity (checkpointed training tolerates interruption)" if spot_ok else
        "on-demand capacity (spot_ok is false)",
    ]
    return WorkloadDemand(w.name, WorkloadKind(w.type), {
        "flops_per_month": flops, "memory_gib_total": round(memory_gib, 1), "spot": spot_ok,
        "mfu": TRAINING_MFU, "runs_per_month": w.runs_per_month}, trace,
        w.egress_gb_per_month, egress_scales=False)


def kv_bytes_per_token(params_b: float) -> tuple[float, int, int, float]:
    """KV-cache bytes per token, with the assumed layer count, model width and K/V width
    of a layer (``KV_HEADS`` x ``KV_HEAD_DIM``, at most ``GQA_KV_FRACTION`` of d_model)."""
    d_model = (params_b * 1e9 * D_MODEL_PER_LAYER / 12) ** (1 / 3)
    layers = max(1, round(d_model / D_MODEL_PER_LAYER))
    kv_width = min(KV_HEADS * KV_HEAD_DIM, d_model * GQA_KV_FRACTION)
    return 2 * layers * kv_width * KV_BYTES, layers, round(d_model), kv_width


def size_inference(w: MlInference, availability: float) -> WorkloadDemand:
    """Memory and concurrency of a served model.

    Concurrency by Little's law: requests in flight L = arrival rate x time in system =
    (peak tokens/s / output tokens a request) x (output tokens / tokens/s a request) =
    peak tokens/s / tokens/s a request (prefill, a fraction of a second, is not counted).
    The KV cache holds each request's prompt and, on average, half its reply; a replica
    must also hold one request at the full context (see ``ml.choose_inference``).
    """
    weights_gb = w.model_params_b * 1e9 * BYTES_PER_PARAM[w.precision] / 1e9
    kv_token, layers, d_model, kv_width = kv_bytes_per_token(w.model_params_b)
    prompt = (w.avg_prompt_tokens if w.avg_prompt_tokens is not None
              else round(w.context_tokens * DEFAULT_PROMPT_SHARE_OF_CONTEXT))
    output = (w.avg_output_tokens if w.avg_output_tokens is not None
              else max(1, round(w.context_tokens * DEFAULT_OUTPUT_SHARE_OF_CONTEXT)))
    avg_context = prompt + output / 2
    stream = w.tokens_per_sec_per_request
    if w.concurrent_requests is not None:
        concurrent = w.concurrent_requests
        how = f"{concurrent} (stated)"
    else:
        concurrent = max(1, math.ceil(w.peak_tokens_per_sec / stream - 1e-9))
        how = (f"Little's law: (peak {_fmt(w.peak_tokens_per_sec)} tokens/s / {output} "
               f"output tokens) requests/s x ({output} / {_fmt(stream)} tokens/s) s in "
               f"system = ceil({_fmt(w.peak_tokens_per_sec)} / {_fmt(stream)}) = {concurrent}")
    peak = w.peak_tokens_per_sec
    avg = w.avg_tokens_per_sec if w.avg_tokens_per_sec is not None else peak
    # the requests in flight scale with the arrival rate (Little's law, same time in system)
    concurrent_avg = max(1, math.ceil(concurrent * avg / peak - 1e-9))
    peak_hours = (w.peak_hours_per_day * HOURS_PER_MONTH / HOURS_PER_DAY if avg < peak
                  else float(HOURS_PER_MONTH))
    kv_gb = kv_token * (w.context_tokens + (concurrent - 1) * avg_context) / 1e9
    memory_gb = (weights_gb + kv_gb) * INFERENCE_MEMORY_OVERHEAD
    n_min = min_instances(availability)
    trace = [
        f"weights = {_fmt(w.model_params_b)}e9 parameters x {BYTES_PER_PARAM[w.precision]} "
        f"bytes ({w.precision}) = {weights_gb:.1f} GB",
        f"KV cache per token = 2 x layers {layers} x K/V width {kv_width:.0f} x {KV_BYTES} "
        f"bytes = {kv_token / 1e3:.1f} kB (shape assumed from size: d_model {d_model}, "
        f"d_model/layers = {D_MODEL_PER_LAYER}; grouped-query attention, "
        + (f"{KV_HEADS} K/V heads of {KV_HEAD_DIM})" if kv_width == KV_HEADS * KV_HEAD_DIM
           else "K/V a quarter of d_model)"),
        f"requests in flight at peak = {how}",
        f"average context held = prompt {prompt} + half the output {output} = "
        f"{avg_context:g} tokens" + ("" if w.avg_prompt_tokens is not None else
                                     " (prompt not given: half the context window)")
        + ("" if w.avg_output_tokens is not None else
           " (output not given: an eighth of the context window)"),
        f"KV cache, all in flight on one replica = {kv_token / 1e3:.1f} kB x (one request at "
        f"the full context {w.context_tokens} + {concurrent - 1} x {avg_context:g}) = "
        f"{kv_gb:.1f} GB",
        f"GPU memory, one replica for all = (weights + KV) x {INFERENCE_MEMORY_OVERHEAD} = "
        f"{memory_gb:.1f} GB; replicas hold as many requests as fit and still stream "
        f"{_fmt(stream)} tokens/s each (bandwidth x {INFERENCE_BANDWIDTH_EFFICIENCY} per "
        f"step), per GPU model; instances >= {n_min} for availability",
        (f"autoscaled: requests in flight at average = ceil({concurrent} x {_fmt(avg)} / "
         f"{_fmt(peak)} tokens/s) = {concurrent_avg}; the replicas they need run all month, "
         f"those for the peak {_fmt(w.peak_hours_per_day)} h a day = {peak_hours:.1f} h a month"
         if avg < peak else
         "the peak's replicas run all month (avg_tokens_per_sec not given, or at the peak)"),
    ]
    return WorkloadDemand(w.name, WorkloadKind(w.type), {
        "weights_gb": round(weights_gb, 3), "precision": w.precision, "kv_gb": round(kv_gb, 3),
        "kv_bytes_per_token": round(kv_token, 1), "context_tokens": w.context_tokens,
        "avg_context_tokens": avg_context, "tokens_per_sec_per_request": stream,
        "memory_gb": round(memory_gb, 3), "peak_tokens_per_sec": w.peak_tokens_per_sec,
        "concurrent_requests": concurrent, "replicas_min": n_min,
        "avg_tokens_per_sec": avg, "concurrent_requests_avg": concurrent_avg,
        "peak_hours_per_month": round(peak_hours, 4),
        "bandwidth_efficiency": INFERENCE_BANDWIDTH_EFFICIENCY,
        "memory_overhead": INFERENCE_MEMORY_OVERHEAD}, trace,
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
            case _:
                assert_never(w)
    return out
