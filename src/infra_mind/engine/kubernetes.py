"""What a Kubernetes node leaves for pods: its allocatable CPU and memory.

Each managed Kubernetes service reserves part of every node for the kubelet, the container
runtime and the operating system, and the kubelet keeps 100 MiB free to evict pods before
the node runs out (``memory.available<100Mi``). The scheduler places pods against what is
left, the node's *allocatable*, so a service whose instances need 4 GiB does not run on a
4 GiB node: the design sizes a cluster's nodes on their allocatable, not on the machine.

The reservations, as each provider documents or ships them (read 2026-12-07):

- **CPU**, EKS and GKE: 6% of the first core, 1% of the second, 0.5% of the next two and
  0.25% of every core above four (EKS: ``getCPUMillicoresToReserve`` in
  awslabs/amazon-eks-ami, nodeadm/internal/kubelet/config.go at 81fec2e; GKE: "Plan node
  sizes", cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes). AKS: 60, 100,
  140, 180, 260, 420 and 740 millicores on 1, 2, 4, 8, 16, 32 and 64 cores
  (learn.microsoft.com/azure/aks/node-resource-reservations); between two sizes of the
  table, the straight line between them; above 64 cores, 10 millicores a core more (the
  table's last slope).
- **Memory**, EKS: 11 MiB for each pod the node may run plus 255 MiB (``getMemoryMebibytes
  ToReserve``), the node's pod limit being its ENIs x (IPv4 addresses per ENI - 1) + 2
  (``data/eks-max-pods-2026-07-23.csv``, from nodeadm's instance-info.jsonl at the same
  commit; an instance type it does not list counts the kubelet's default of 110 pods).
  GKE: 255 MiB on machines under 1 GiB, else 25% of the first 4 GiB, 20% of the next 4,
  10% of the next 8, 6% of the next 112 and 2% above 128 GiB. AKS (1.29 and later): the
  lesser of 20 MB x the node's pod limit + 50 MB and 25% of the memory, with the pod limit
  of Azure CNI Overlay, the recommended network, 250.
- **Eviction**: 100 MiB on all three.

Pods the cluster itself runs on every node (kube-proxy, the network plugin, log and
metrics agents) take their share of the allocatable too; they vary with the add-ons
chosen and are not counted.
"""

from __future__ import annotations

import csv
from functools import cache
from itertools import pairwise
from pathlib import Path

from infra_mind.catalog.model import Provider

MIB = 1 / 1024  # GiB
EVICTION_GIB = 100 * MIB
#: EKS's pod limits per instance type (ENIs x (IPv4 per ENI - 1) + 2).
EKS_MAX_PODS_DATA = Path(__file__).with_name("data") / "eks-max-pods-2026-07-23.csv"
#: The kubelet's own default pod limit: EKS types missing from the table.
KUBELET_DEFAULT_MAX_PODS = 110
#: Azure CNI Overlay's default pod limit per node.
AKS_MAX_PODS = 250
#: (up to cores, share of those cores reserved): EKS and GKE.
_CPU_LADDER = ((1, 0.06), (2, 0.01), (4, 0.005), (float("inf"), 0.0025))
#: AKS's table: cores -> millicores reserved.
_AKS_CPU = ((1, 60), (2, 100), (4, 140), (8, 180), (16, 260), (32, 420), (64, 740))
_AKS_CPU_SLOPE_ABOVE = 10  # millicores a core above 64: 32 to 64 cores add 320
#: (up to GiB, share of that memory reserved): GKE.
_GKE_MEMORY_LADDER = ((4, 0.25), (8, 0.20), (16, 0.10), (128, 0.06), (float("inf"), 0.02))


@cache
def eks_max_pods() -> dict[str, int]:
    with EKS_MAX_PODS_DATA.open(newline="") as f:
        return {row["instance_type"]: int(row["max_pods"]) for row in csv.DictReader(f)}


def _ladder(amount: float, ladder: tuple[tuple[float, float], ...]) -> float:
    reserved, start = 0.0, 0.0
    for end, share in ladder:
        if amount <= start:
            break
        reserved += (min(amount, end) - start) * share
        start = end
    return reserved


def reserved_vcpu(provider: Provider | str, vcpu: float) -> float:
    """vCPUs the provider's Kubernetes keeps on a node of ``vcpu``."""
    if Provider(provider) is not Provider.AZURE:
        return _ladder(vcpu, _CPU_LADDER)
    points = _AKS_CPU
    if vcpu <= points[0][0]:
        return points[0][1] / 1000 * vcpu / points[0][0]
    for (c0, m0), (c1, m1) in pairwise(points):
        if vcpu <= c1:
            return (m0 + (m1 - m0) * (vcpu - c0) / (c1 - c0)) / 1000
    return (points[-1][1] + _AKS_CPU_SLOPE_ABOVE * (vcpu - points[-1][0])) / 1000


def reserved_memory_gib(provider: Provider | str, sku: str, memory_gib: float) -> float:
    """GiB the provider's Kubernetes keeps on a node of ``memory_gib``, eviction included."""
    match Provider(provider):
        case Provider.AWS:
            pods = eks_max_pods().get(sku, KUBELET_DEFAULT_MAX_PODS)
            reserved = (11 * pods + 255) * MIB
        case Provider.GCP:
            reserved = 255 * MIB if memory_gib < 1 else _ladder(memory_gib, _GKE_MEMORY_LADDER)
        case Provider.AZURE:
            # the docs' MB taken as MiB: 20 x 250 + 50 = 5,050, about 4.9 GiB
            reserved = min((20 * AKS_MAX_PODS + 50) * MIB, 0.25 * memory_gib)
    return reserved + EVICTION_GIB


def allocatable(provider: Provider | str, sku: str, vcpu: float, memory_gib: float
                ) -> tuple[float, float]:
    """(vCPUs, GiB) a node of this machine leaves for pods."""
    return (round(vcpu - reserved_vcpu(provider, vcpu), 4),
            round(memory_gib - reserved_memory_gib(provider, sku, memory_gib), 4))
