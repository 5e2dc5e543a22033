"""Burstable and shared-core machines: how much CPU they sustain, and how much at a peak.

Facts about a price row (what its provider publishes for that machine), so they live with
the catalog: its coverage counts the machines with a sourced baseline, and the engine
(``engine.burstable``) decides when such a machine may serve a load.

A burstable machine (AWS T3/T3a/T4g, Azure B-series, GCP E2 shared-core) is sold with
more vCPUs than it may use all the time. Each has a *baseline*: the CPU it can use
around the clock. Above it, AWS and Azure machines spend CPU credits earned while below
it; GCP's shared-core machines burst only briefly. So a machine has, from its price row:

* ``sustained_vcpu``: the baseline, in vCPUs -- what an average load may use;
* ``peak_vcpu``: what a peak may use for the hours it lasts -- all the vCPUs where credits
  pay for the burst (AWS, Azure), the baseline where bursting is only momentary (GCP).

Why the daily average is the test: AWS launches T3/T3a/T4g in *unlimited* mode, which
charges extra only when the average CPU over 24 hours exceeds the baseline; Azure's
B-series bank at least 24 hours of earned credits (B1ms: 12 an hour, 720 banked). So a
machine whose average stays at or under its baseline pays for its peaks from credits
earned the same day, and costs its list price. The engine sizes the average with the
same 60% target utilisation as everything else, which leaves credits to spare.

Figures, as the providers publish them:

* AWS (docs.aws.amazon.com/AWSEC2/latest/UserGuide/burstable-credits-baseline-concepts.html,
  "Baseline utilization per vCPU"): nano 5%, micro 10%, small 20%, medium 20%, large 30%,
  xlarge 40%, 2xlarge 40% of each vCPU, the same for T3, T3a and T4g; RDS's db.t3/db.t4g
  classes are the same machines.
* Azure (learn.microsoft.com/azure/virtual-machines/sizes-b-series-burstable, "Base CPU
  performance of VM", where 100% is one vCPU): B1ls 5%, B1s 10%, B1ms 20%, B2s 40%,
  B2ms 60%, B4ms 90%, B8ms 135%, B12ms 202%, B16ms 270%, B20ms 337%; Azure Database
  flexible servers' Burstable tier uses the same sizes.
* GCP (cloud.google.com/compute/docs/general-purpose-machines#sharedcore_machine_types):
  e2-micro 0.25 vCPU, e2-small 0.5, e2-medium 1 (a fraction of 2 vCPUs, billed as that
  fraction); Cloud SQL's shared-core tiers db-f1-micro 0.2 vCPU and db-g1-small 0.5.

A machine of a burstable family that is not listed here has no sourced baseline and is
never chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from infra_mind.catalog.model import PriceRow, Provider

#: Baseline per vCPU by size, for AWS T3, T3a and T4g (and RDS db.t3 / db.t4g).
_AWS_T_BASELINE = {"nano": 0.05, "micro": 0.10, "small": 0.20, "medium": 0.20, "large": 0.30,
                   "xlarge": 0.40, "2xlarge": 0.40}
_AWS_T_FAMILIES = ("t3", "t3a", "t4g")
#: Azure B-series baseline in vCPUs (the published percentage of one vCPU / 100).
_AZURE_B_BASELINE_VCPU = {"b1ls": 0.05, "b1s": 0.10, "b1ms": 0.20, "b2s": 0.40, "b2ms": 0.60,
                          "b4ms": 0.90, "b8ms": 1.35, "b12ms": 2.02, "b16ms": 2.70,
                          "b20ms": 3.37}
#: GCP shared-core sustained vCPUs (Compute Engine E2 and Cloud SQL shared-core tiers).
_GCP_SHARED_VCPU = {"e2-micro": 0.25, "e2-small": 0.5, "e2-medium": 1.0,
                    "db-f1-micro": 0.2, "db-g1-small": 0.5}


@dataclass(frozen=True, slots=True)
class Burst:
    """What a burstable machine sustains and what it may use during a peak, in vCPUs."""

    sustained_vcpu: float
    peak_vcpu: float
    basis: str  # how the figures were found, for notes


def _normalise(row: PriceRow) -> str:
    sku = row.sku.strip().lower()
    sku = sku.removeprefix("standard_")  # Azure
    return sku.removeprefix("db.")  # RDS classes are EC2 machines


def burst_of(row: PriceRow) -> Burst | None:
    """The burst figures of a burstable or shared-core machine; None for any other row.

    Works for compute rows and for managed-database rows of the same machines (RDS
    db.t4g.micro, Azure flexible server Standard_B1ms, Cloud SQL db-g1-small).
    """
    sku = _normalise(row)
    vcpu = float(row.attributes.get("vcpu", 0) or 0)
    match row.provider:
        case Provider.AWS:
            family, _, size = sku.partition(".")
            if family in _AWS_T_FAMILIES and size in _AWS_T_BASELINE and vcpu > 0:
                share = _AWS_T_BASELINE[size]
                return Burst(share * vcpu, vcpu, f"{share:.0%} of each vCPU sustained (AWS "
                                                  "baseline); peaks on CPU credits")
            return None
        case Provider.AZURE:
            if sku in _AZURE_B_BASELINE_VCPU and vcpu > 0:
                base = _AZURE_B_BASELINE_VCPU[sku]
                return Burst(base, vcpu, f"{base:g} vCPU sustained (Azure base performance); "
                                         "peaks on banked credits")
            return None
        case Provider.GCP:
            if sku in _GCP_SHARED_VCPU:
                base = _GCP_SHARED_VCPU[sku]
                # bursts are momentary: a peak lasting hours gets the sustained share only
                return Burst(base, base, f"shared core: {base:g} vCPU sustained, also at peak")
            return None
        case _:
            assert_never(row.provider)


def is_burstable_family(row: PriceRow) -> bool:
    """A machine sold on CPU credits or a shared core, whether or not its baseline is known.

    Such a row is only ever priced through ``burst_of``; one without a sourced baseline
    is never chosen.
    """
    sku = _normalise(row)
    family = str(row.attributes.get("family", "")).lower()
    return (family in ("t2", "t3", "t3a", "t4g", "bs", "bsv2", "basv2", "bpsv2")
            or sku.split(".")[0] in ("t2", "t3", "t3a", "t4g")
            or (row.provider.value == "azure" and sku.startswith("b") and sku[1:2].isdigit())
            or sku in _GCP_SHARED_VCPU or sku.startswith(("db-f1-", "db-g1-")))
