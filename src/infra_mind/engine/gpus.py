"""Peak hardware figures for the GPU models the price catalog sells.

Every figure here is a vendor *peak*: the memory bandwidth and the dense tensor-core
throughput NVIDIA publishes for the part, with the URL the figure was read from in
``source``. They are upper bounds, never achievable in practice. The engine turns them
into estimates by applying its own stated utilisation factors on top -- model FLOPs
utilisation (MFU) for training, a memory-bandwidth efficiency for inference -- and
those factors, with their own sources, live with the estimators, not in this module.

Conventions:

* ``dense_bf16_tflops`` is dense, i.e. *without* 2:4 structured sparsity. NVIDIA's
  datasheets headline the sparse figure (marked ``*``), which is exactly twice the dense
  one; where a source gave only the sparse figure it has been halved and the entry's
  ``precision_note`` says so. GPUs without bf16 tensor cores (T4, V100) carry their FP16
  tensor-core dense figure instead, also said in ``precision_note``.
* ``memory_gib`` is the nominal capacity the datasheet quotes ("80GB"). The catalog's
  ``gpu_memory_gib`` attribute records the same nominal numbers, which is what
  :func:`spec_for` matches on.
* Keys are the catalog's ``gpu_model`` names. A model sold with two memory sizes has one
  entry per size, the larger one suffixed (``"A100"`` is the 40 GB part, ``"A100-80GB"``
  the 80 GB one); :func:`spec_for` picks between them by memory.

The A10G (AWS's variant of the A10) has a sourced memory size and bandwidth but no
sourced tensor throughput (AWS publishes none and NVIDIA has no public datasheet), so
its ``dense_bf16_tflops`` is None: the engine uses it for inference, which is bound by
memory bandwidth, and never for training. Deliberately absent, because no source
confirming its figures was found (see ``tests/engine/test_gpus.py``'s ``UNSOURCED``):
the H100 NVL 94 GB (sold on Azure as ``H100 NVL`` and, on NC H100 v5, as ``H100`` with
94 GiB). :func:`spec_for` returns ``None`` for it rather than the figures of another part.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GpuSpec:
    """One GPU part's vendor peak figures and where they were read."""

    model: str
    memory_gib: float  # nominal capacity as the datasheet quotes it
    memory_bandwidth_gbps: float  # GB/s, peak
    #: dense (no sparsity); FP16 tensor where no bf16 -- see note. None where no source
    #: gives it: such a GPU is sized for inference (bandwidth-bound) but not for training.
    dense_bf16_tflops: float | None
    source: str  # URL the figures were read from
    precision_note: str = ""


_SPECS: tuple[GpuSpec, ...] = (
    GpuSpec(
        model="A10G",
        memory_gib=24,
        memory_bandwidth_gbps=600,
        dense_bf16_tflops=None,
        source="https://www.baseten.co/blog/nvidia-a10-vs-a10g-for-ml-model-inference/",
        precision_note=(
            "24 GB GDDR6 at 600 GB/s, the same memory as the A10 (the page: 'share the same "
            "GPU memory and bandwidth'). Tensor throughput differs from the A10 and is not "
            "published: None, so the A10G is not used for training estimates."
        ),
    ),
    GpuSpec(
        model="T4",
        memory_gib=16,
        memory_bandwidth_gbps=320,
        dense_bf16_tflops=65,
        source="https://computeprices.com/gpus/t4",
        precision_note=(
            "No bf16 tensor cores (Turing): FP16 mixed-precision tensor figure, dense. "
            "Same 16 GB / 320 GB/s / 65 TFLOPS as NVIDIA's T4 datasheet "
            "(t4-tensor-core-datasheet-951643.pdf)."
        ),
    ),
    GpuSpec(
        model="V100",
        memory_gib=16,
        memory_bandwidth_gbps=900,
        dense_bf16_tflops=125,
        source="https://developer.nvidia.com/programming-tensor-cores-cuda-9-0",
        precision_note=(
            "No bf16 tensor cores (Volta): FP16 tensor figure ('up to 125 Tensor TFLOPS'), "
            "which is the SXM2 part (AWS p3); the PCIe part (Azure NCv3) is rated 112. "
            "16 GB HBM2 at 900 GB/s per "
            "https://www.olcf.ornl.gov/for-users/system-user-guides/summit/nvidia-v100-gpus/"
        ),
    ),
    GpuSpec(
        model="V100-32GB",
        memory_gib=32,
        memory_bandwidth_gbps=900,
        dense_bf16_tflops=125,
        source="https://github.com/fanghostt/transformers-benchmarks",
        precision_note=(
            "No bf16 tensor cores (Volta): FP16 tensor figure (SXM2, as in AWS p3dn / Azure NDv2)."
        ),
    ),
    GpuSpec(
        model="A10",
        memory_gib=24,
        memory_bandwidth_gbps=600,
        dense_bf16_tflops=125,
        source="https://gist.github.com/kimbochen",
        precision_note=(
            "Source lists 125 TFLOP/s FP16 compute, 0.6 TB/s, 24 GB; GA102 tensor cores run "
            "bf16 at the FP16 rate (A40 datasheet: BF16 149.7 = FP16 149.7). 24 GB at "
            "600 GB/s also per https://www.baseten.co/blog/nvidia-a10-vs-a10g-for-ml-model-inference/"
        ),
    ),
    GpuSpec(
        model="L4",
        memory_gib=24,
        memory_bandwidth_gbps=300,
        dense_bf16_tflops=121,
        source="https://grokipedia.com/page/NVIDIA_L4_vs_L40S",
        precision_note=(
            "Half of the 242 TFLOPS FP16 tensor figure quoted with sparsity; Ada tensor "
            "cores run bf16 at the FP16 rate (L40S datasheet: BF16 362.05 = FP16 362.05)."
        ),
    ),
    GpuSpec(
        model="L40S",
        memory_gib=48,
        memory_bandwidth_gbps=864,
        dense_bf16_tflops=362.05,
        source="https://www.mullet.se/product.html?product_id=355414",
        precision_note="Datasheet table: BFLOAT16 Tensor Core 362.05 dense | 733 with sparsity.",
    ),
    GpuSpec(
        model="A100",
        memory_gib=40,
        memory_bandwidth_gbps=1555,
        dense_bf16_tflops=312,
        source="https://glennklockwood.com/garden/processors/A100",
        precision_note=(
            "40 GB HBM2 part; BF16 312 dense / 624 sparse, as in NVIDIA's A100 datasheet "
            "(nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf) which the source cites."
        ),
    ),
    GpuSpec(
        model="A100-80GB",
        memory_gib=80,
        memory_bandwidth_gbps=2039,
        dense_bf16_tflops=312,
        source="https://glennklockwood.com/garden/processors/A100",
        precision_note=(
            "80 GB HBM2e SXM4 part (AWS p4de, GCP a2-ultragpu). The 80 GB PCIe part "
            "(Azure NC A100 v4) has the same 312 TFLOPS but a lower bandwidth, which memory "
            "alone cannot tell apart."
        ),
    ),
    GpuSpec(
        model="H100",
        memory_gib=80,
        memory_bandwidth_gbps=3350,
        dense_bf16_tflops=989.5,
        source="https://archive-lib.hpctech.co.jp/gpuproduct/nvidia-h100.html",
        precision_note=(
            "H100 SXM5 80 GB. Half of the 1,979 TFLOPS BF16 figure the table gives with "
            "sparsity ('Specifications 1/2 lower without sparsity')."
        ),
    ),
    GpuSpec(
        model="H200",
        memory_gib=141,
        memory_bandwidth_gbps=4800,
        dense_bf16_tflops=989.5,
        source=(
            "https://ai-hpc.github.io/ai-hardware-engineer-roadmap/Phase%205%20-%20Advanced"
            "%20Topics%20and%20Specialization/1.%20GPU%20Infrastructure/Nvidia%20GPU/"
            "HPC%20Setup/8x-H200-Training-Inference"
        ),
        precision_note=(
            "H200 SXM. Half of the ~1,979 TFLOPS BF16 figure, which is NVIDIA's with-sparsity "
            "number (same GH100 compute as H100 SXM, whose dense BF16 is 989.5)."
        ),
    ),
)

#: Vendor peak figures keyed by the catalog's ``gpu_model`` (memory variants suffixed).
GPU_SPECS: dict[str, GpuSpec] = {spec.model: spec for spec in _SPECS}

#: How far (relative) a catalog memory size may be from a variant's nominal size and
#: still be that variant. Catalog sizes are the same nominal numbers, so this is slack
#: for GB/GiB rounding only; 94 GiB is *not* an 80 GB H100.
_MEMORY_TOLERANCE = 0.1


def _family(model: str) -> str:
    """The catalog model a key belongs to: ``"A100-80GB"`` -> ``"A100"``."""
    return model.split("-", 1)[0]


def spec_for(model: str, gpu_memory_gib: float) -> GpuSpec | None:
    """The spec of catalog GPU ``model`` with ``gpu_memory_gib`` of memory, or ``None``.

    Among the entries of ``model``'s family (``"A100"`` and ``"A100-80GB"`` for an A100)
    the one whose nominal memory is closest to ``gpu_memory_gib`` is returned, provided
    it is within 10% of it; a size no sourced variant has gives ``None`` rather than
    another part's figures. ``gpu_memory_gib`` of 0 or less (unknown) gives the exact
    ``model`` entry if there is one. ``model`` is matched case-insensitively, with spaces
    read as hyphens (``"H100 NVL"`` -> ``"H100-NVL"``).
    """
    key = "-".join(model.strip().split()).upper()
    by_upper = {name.upper(): spec for name, spec in GPU_SPECS.items()}
    if gpu_memory_gib is None or gpu_memory_gib <= 0:
        return by_upper.get(key)
    family = _family(key)
    if key != family and key not in by_upper:
        return None  # a named variant nobody sourced, e.g. "H100-NVL"
    variants = [spec for name, spec in by_upper.items() if _family(name) == family]
    if not variants:
        return None
    best = min(variants, key=lambda s: abs(s.memory_gib - gpu_memory_gib))
    if abs(best.memory_gib - gpu_memory_gib) > _MEMORY_TOLERANCE * best.memory_gib:
        return None
    if key != family and best is not by_upper[key]:
        return None  # "A100-80GB" asked for with 40 GiB: contradictory, not guessed
    return best


# -- interconnect-class machines -------------------------------------------------------
#
# Training on more than one machine exchanges the model every step: fully sharded data
# parallelism all-gathers the bf16 weights and reduce-scatters the gradients, about three
# times the weights' bytes per step (a 70B model: about 420 GB). Over the 25-100 Gbit/s of
# an ordinary GPU machine (3-12 GB/s) that is tens of seconds a step against a few seconds
# of compute, so model FLOPs utilisation falls far below the 40% the engine assumes. The
# machines built for it have 8 GPUs joined by NVLink/NVSwitch and 100-3,200 Gbit/s between
# nodes (EFA, InfiniBand, GPUDirect-TCPX). The engine trains on more than one machine
# only on these; the list is by SKU, from each provider's page for the machine.


@dataclass(frozen=True, slots=True)
class Interconnect:
    """A multi-GPU machine built for multi-node training, and what joins its GPUs."""

    gpus: int
    fabric: str  # inside the node and between nodes
    network_gbps: float  # between nodes, per node
    source: str


_P4 = "https://aws.amazon.com/ec2/instance-types/p4/"
_P5 = "https://aws.amazon.com/ec2/instance-types/p5/"
_A2 = "https://cloud.google.com/compute/docs/gpus#a100-gpus"
_A3 = "https://cloud.google.com/compute/docs/gpus#h100-gpus"

#: Keyed by SKU in lower case, Azure's ``Standard_`` prefix removed.
INTERCONNECT: dict[str, Interconnect] = {
    "p4d.24xlarge": Interconnect(8, "NVSwitch; 400 Gbit/s EFA", 400, _P4),
    "p4de.24xlarge": Interconnect(8, "NVSwitch; 400 Gbit/s EFA", 400, _P4),
    "p5.48xlarge": Interconnect(8, "NVSwitch; 3,200 Gbit/s EFA", 3200, _P5),
    "p5e.48xlarge": Interconnect(8, "NVSwitch; 3,200 Gbit/s EFA", 3200, _P5),
    "p5en.48xlarge": Interconnect(8, "NVSwitch; 3,200 Gbit/s EFA", 3200, _P5),
    "nd40rs_v2": Interconnect(
        8, "NVLink; 100 Gbit/s EDR InfiniBand", 100,
        "https://learn.microsoft.com/azure/virtual-machines/ndv2-series"),
    "nd96asr_v4": Interconnect(
        8, "NVLink 3.0; 8 x 200 Gbit/s HDR InfiniBand", 1600,
        "https://learn.microsoft.com/azure/virtual-machines/nda100-v4-series"),
    "nd96amsr_a100_v4": Interconnect(
        8, "NVLink 3.0; 8 x 200 Gbit/s HDR InfiniBand", 1600,
        "https://learn.microsoft.com/azure/virtual-machines/ndm-a100-v4-series"),
    "nd96isr_h100_v5": Interconnect(
        8, "NVLink 4.0; 8 x 400 Gbit/s NDR InfiniBand", 3200,
        "https://learn.microsoft.com/azure/virtual-machines/nd-h100-v5-series"),
    "nd96isr_h200_v5": Interconnect(
        8, "NVLink 4.0; 8 x 400 Gbit/s NDR InfiniBand", 3200,
        "https://learn.microsoft.com/azure/virtual-machines/nd-h200-v5-series"),
    "a2-highgpu-8g": Interconnect(8, "NVSwitch; 100 Gbit/s", 100, _A2),
    "a2-megagpu-16g": Interconnect(16, "NVSwitch; 100 Gbit/s", 100, _A2),
    "a2-ultragpu-8g": Interconnect(8, "NVSwitch; 100 Gbit/s", 100, _A2),
    "a3-highgpu-8g": Interconnect(8, "NVSwitch; 1,000 Gbit/s GPUDirect-TCPX", 1000, _A3),
    "a3-megagpu-8g": Interconnect(8, "NVSwitch; 1,800 Gbit/s GPUDirect-TCPXO", 1800, _A3),
    "a3-ultragpu-8g": Interconnect(8, "NVSwitch; 3,200 Gbit/s RDMA", 3200, _A3),
}


def interconnect_of(sku: str) -> Interconnect | None:
    """The interconnect of an interconnect-class GPU machine; None for any other SKU."""
    return INTERCONNECT.get(sku.strip().lower().removeprefix("standard_"))
