"""Parsers for the GCP price files the catalog records (see ``record.py`` for the pins).

* Cyclenerd/google-cloud-pricing-cost-calculator ``pricing.yml``, generated weekly
  from the Cloud Billing Catalog API (``about.generated`` stamps it):
  ``compute.instance.<type>.{cpu, ram, a100|h100|l4}`` and
  ``.cost.<region>.{hour, hour_spot, month_1y, month_3y}`` (a 1- or 3-year
  resource-based committed use discount is ``month_1y / 730`` per hour);
  ``compute.storage.<disk>.cost.<region>.month`` (USD per GiB-month);
  ``compute.network.nat.{gateway.cost.<region>.hour, data.cost.<region>.month}``
  (the data key says month but is USD per GiB processed);
  ``compute.network.traffic.egress.internet.cost.<0-1|1-10|10n>.<region>.month``
  (premium tier, USD per GiB, bands in TiB per month);
  ``storage.bucket.<class>.cost.<region>.month``.
* cloudpilot-ai/karpenter-provider-gcp ``initial-prices.json``:
  ``{"prices": {region: {"on_demand": {type: usd_h}, "spot": {...}}}}`` from the
  same API by independent code; no specs (the build joins Cyclenerd's).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from infra_mind.catalog.build.recorded import Fact
from infra_mind.catalog.model import ProductFamily as F
from infra_mind.catalog.model import PurchaseOption as O
from infra_mind.catalog.model import Unit as U
from infra_mind.catalog.regions import regions_of

GCP_REGIONS = [r.code for r in regions_of("gcp")]
#: Machine families in scope: general purpose, compute optimised, burstable shared core,
#: Arm (t2a), and the GPU families the catalog already carried (a2, a3, g2).
FAMILIES = ("e2", "n1", "n2", "n2d", "n4", "c2", "c2d", "c3", "c3d", "c4", "t2d", "t2a",
            "a2", "a3", "g2")
ARM_FAMILIES = ("t2a",)
#: Shared-core E2 sizes: Google counts 2 vCPUs that share a fraction of a core.
SHARED_CORE = ("e2-micro", "e2-small", "e2-medium")
_GPUS = {"a100": "A100", "a100-80gb": "A100", "h100-80gb": "H100", "h100-80gb-mega": "H100",
         "l4": "L4"}
#: GPU memory per GPU by machine series (cloud.google.com/compute/docs/gpus).
_GPU_MEMORY = {"a2-highgpu": 40.0, "a2-megagpu": 40.0, "a2-ultragpu": 80.0, "a3": 80.0,
               "g2": 24.0}
_EGRESS_TIERS = {"0-1": (0, 1024), "1-10": (1024, 10240), "10n": (10240, None)}


def load_pricing(blob: bytes) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(blob, Loader=loader)  # a safe loader, the C one where built


def in_scope(machine: str) -> bool:
    family = machine.split("-")[0]
    return family in FAMILIES and "lssd" not in machine and "metal" not in machine


def machine_specs(spec: dict[str, Any], machine: str) -> dict[str, Any] | None:
    """vcpu, memory_gib, arch, family (and GPU attributes) of one pricing.yml machine."""
    if "cpu" not in spec or "ram" not in spec:
        return None
    family = machine.split("-")[0]
    attrs: dict[str, Any] = {"vcpu": spec["cpu"], "memory_gib": float(spec["ram"]),
                             "arch": "arm64" if family in ARM_FAMILIES else "x86_64",
                             "family": family}
    if machine in SHARED_CORE:
        attrs.update(vcpu=2, shared_core_fraction=spec["cpu"])
    for key, model in _GPUS.items():
        if spec.get(key):
            series = "-".join(machine.split("-")[:2]) if family == "a2" else family
            attrs.update(gpu_count=int(spec[key]), gpu_model=model,
                         gpu_memory_gib=_GPU_MEMORY[series])
    if family in ("a2", "a3", "g2") and "gpu_count" not in attrs:
        return None
    return attrs


def cyclenerd(doc: dict[str, Any]) -> list[Fact]:
    facts = []
    for machine, spec in doc["compute"]["instance"].items():
        if not in_scope(machine):
            continue
        attrs = machine_specs(spec, machine)
        if attrs is None:
            continue
        for region in GCP_REGIONS:
            cost = (spec.get("cost") or {}).get(region)
            if not cost:
                continue
            for key, option, per_hour in (("hour", O.ON_DEMAND, 1), ("hour_spot", O.SPOT, 1),
                                          ("month_1y", O.RESERVED_1Y, 730),
                                          ("month_3y", O.RESERVED_3Y, 730)):
                if float(cost.get(key) or 0) > 0:
                    extra = ({"commitment": f"resource-based committed use discount "
                                            f"({key} / 730)"} if per_hour == 730 else {})
                    facts.append(Fact("Compute Engine", F.COMPUTE, U.HOUR, option, machine,
                                      region, round(float(cost[key]) / per_hour, 10),
                                      {**attrs, **extra}))
    storage = doc["compute"]["storage"]
    for disk, sku in (("balanced", "pd-balanced"), ("ssd", "pd-ssd")):
        for region, cost in storage[disk]["cost"].items():
            if region in GCP_REGIONS and float(cost.get("month") or 0) > 0:
                facts.append(Fact("Compute Engine", F.BLOCK_STORAGE, U.GB_MONTH, O.ON_DEMAND,
                                  sku, region, float(cost["month"]),
                                  {"storage_class": "ssd", "unit_note": "per GiB-month"}))
    nat = doc["compute"]["network"]["nat"]
    for region in GCP_REGIONS:
        gateway = nat["gateway"]["cost"].get(region)
        if gateway:
            facts.append(Fact("Cloud NAT", F.NAT_GATEWAY, U.HOUR, O.ON_DEMAND, "cloud-nat",
                              region, float(gateway["hour"]),
                              {"dimension": "hourly", "charge_basis": "gateway_hour_at_32_vm_cap"}))
        data = nat["data"]["cost"].get(region)
        if data:
            facts.append(Fact("Cloud NAT", F.NAT_GATEWAY, U.GB, O.ON_DEMAND, "cloud-nat-data",
                              region, float(data["month"]), {"dimension": "data"}))
    egress = doc["compute"]["network"]["traffic"]["egress"]["internet"]["cost"]
    for band, (t0, t1) in _EGRESS_TIERS.items():
        for region, cost in egress[band].items():
            if region in GCP_REGIONS:
                facts.append(Fact("Compute Engine", F.EGRESS, U.GB, O.ON_DEMAND,
                                  "internet-egress", region, float(cost["month"]),
                                  {"network_tier": "premium", "tier_unit": "GiB per month"},
                                  t0, t1))
    for cls, sku, storage_class in (("standard", "gcs-standard", "standard"),
                                    ("nearline", "gcs-nearline", "infrequent")):
        for region, cost in doc["storage"]["bucket"][cls]["cost"].items():
            if region in GCP_REGIONS and float(cost.get("month") or 0) > 0:
                facts.append(Fact("Cloud Storage", F.OBJECT_STORAGE, U.GB_MONTH, O.ON_DEMAND,
                                  sku, region, float(cost["month"]),
                                  {"storage_class": storage_class}))
    return facts


def cloudpilot(blob: bytes) -> list[Fact]:
    prices = json.loads(blob)["prices"]
    facts = []
    for region in GCP_REGIONS:
        for key, option in (("on_demand", O.ON_DEMAND), ("spot", O.SPOT)):
            for machine, price in (prices.get(region, {}).get(key) or {}).items():
                if in_scope(machine) and float(price) > 0:
                    facts.append(Fact("Compute Engine", F.COMPUTE, U.HOUR, option, machine,
                                      region, float(price), {"family": machine.split("-")[0]}))
    return facts
