"""Google Compute Engine predefined machine types, and how they are priced.

Compute Engine bills a predefined machine type as the sum of its resources:
vCPUs times the family's per-vCPU hourly rate plus GiB of memory times the
family's per-GiB hourly rate (cloud.google.com/compute/vm-instance-pricing,
"Each predefined machine type is billed for its vCPUs and memory"). The shapes
below are the documented ones (cloud.google.com/compute/docs/general-purpose-
machines and .../compute-optimized-machines, read 2026-11).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MachineShape:
    name: str
    family: str
    vcpu: int
    memory_gib: float
    arch: str = "x86_64"


_GIB_PER_VCPU = {"standard": 4, "highmem": 8, "highcpu": 1}
_SIZES = {
    "e2": {"standard": (2, 4, 8, 16, 32), "highmem": (2, 4, 8, 16), "highcpu": (2, 4, 8, 16, 32)},
    "n2": {"standard": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128),
           "highmem": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128),
           "highcpu": (2, 4, 8, 16, 32, 48, 64, 80, 96)},
    "n2d": {"standard": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224),
            "highmem": (2, 4, 8, 16, 32, 48, 64, 80, 96),
            "highcpu": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224)},
    "c2": {"standard": (4, 8, 16, 30, 60)},
}


#: Shapes that break their kind's GiB-per-vCPU rule (``gcloud compute machine-types list``,
#: recorded in Cyclenerd/google-cloud-pricing-cost-calculator tools/machinetypes.csv
#: @8c32d22, 2026-07-01: "n2-highmem-128;128;False;864.00"), not 8 x 128 = 1,024.
_MEMORY_EXCEPTIONS_GIB = {"n2-highmem-128": 864.0}


def machine_shapes() -> list[MachineShape]:
    """Every predefined shape of the priced-by-resource families (e2, n2, n2d, c2)."""
    shapes = []
    for family, kinds in _SIZES.items():
        for kind, sizes in kinds.items():
            for vcpu in sizes:
                name = f"{family}-{kind}-{vcpu}"
                memory = _MEMORY_EXCEPTIONS_GIB.get(name, float(vcpu * _GIB_PER_VCPU[kind]))
                shapes.append(MachineShape(name, family, vcpu, memory))
    return shapes


def machine_price(shape: MachineShape, per_vcpu_hour: float, per_gib_hour: float) -> float:
    """Hourly price of a predefined machine from its family's resource rates."""
    return round(shape.vcpu * per_vcpu_hour + shape.memory_gib * per_gib_hour, 6)
