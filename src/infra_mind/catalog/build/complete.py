"""Completing recorded rows with the specs their source files do not carry.

* EC2 machines and RDS/Aurora classes: vCPUs, memory, architecture and GPUs
  from libcloud's scraped EC2 table (an RDS class ``db.m6g.large`` has the
  specs of its EC2 twin ``m6g.large``).
* Azure sizes: ``specs.AZURE_SIZES`` (the size pages on learn.microsoft.com).
* GCP machines priced by cloudpilot: the specs Cyclenerd's file gives the same
  machine type.

A row whose specs cannot be found is refused, with its reason, never guessed.
"""

from __future__ import annotations

from typing import Any

from infra_mind.catalog.build.packaged import Dropped, ec2_attributes
from infra_mind.catalog.build.specs import AZURE_BY_NAME
from infra_mind.catalog.model import CatalogError, PriceRow, ProductFamily, Provider

_GCP_SPEC_KEYS = ("vcpu", "memory_gib", "arch", "family", "gpu_count", "gpu_model",
                  "gpu_memory_gib", "shared_core_fraction")


def gcp_machine_specs(rows: list[PriceRow]) -> dict[str, dict[str, Any]]:
    """GCP machine specs by type, from every row that carries them."""
    return {r.sku: {k: r.attributes[k] for k in _GCP_SPEC_KEYS if k in r.attributes}
            for r in rows if r.provider is Provider.GCP
            and r.product_family is ProductFamily.COMPUTE and "vcpu" in r.attributes}


def complete(rows: list[PriceRow], ec2_specs: dict[str, dict[str, Any]],
             gcp_specs: dict[str, dict[str, Any]]) -> tuple[list[PriceRow], list[Dropped]]:
    """Rows with specs joined and validated; those that could not be completed, refused."""
    out: list[PriceRow] = []
    dropped: list[Dropped] = []
    for row in rows:
        attrs = _specs(row, ec2_specs, gcp_specs)
        if attrs is None:
            dropped.append(Dropped(row.provider.value, row.sku, row.region, row.price_usd,
                                   "no vCPU/memory specs for this size", row.source))
            continue
        try:
            out.append(row.with_price(row.price_usd, attributes=attrs))
        except CatalogError as exc:
            dropped.append(Dropped(row.provider.value, row.sku, row.region, row.price_usd,
                                   f"unsound row: {exc}", row.source))
    return out, dropped


def _specs(row: PriceRow, ec2_specs: dict[str, dict[str, Any]],
           gcp_specs: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    attrs = dict(row.attributes)
    if row.provider is Provider.AWS and row.product_family is ProductFamily.COMPUTE:
        found = ec2_attributes(row.sku, ec2_specs.get(row.sku, {}))
        return None if found is None else {**attrs, **found}
    if row.provider is Provider.AWS and row.product_family is ProductFamily.DATABASE:
        twin = row.sku.removeprefix("db.")
        found = ec2_attributes(twin, ec2_specs.get(twin, {}))
        if found is None:
            return None
        return {**attrs, "vcpu": found["vcpu"], "memory_gib": found["memory_gib"],
                "arch": found["arch"]}
    if row.provider is Provider.AZURE and row.product_family is ProductFamily.COMPUTE:
        size = AZURE_BY_NAME.get(row.sku.lower())
        return None if size is None else {**attrs, **size.attributes()}
    if row.provider is Provider.GCP and row.product_family is ProductFamily.COMPUTE:
        if "vcpu" in attrs:
            return attrs
        found = gcp_specs.get(row.sku)
        return None if found is None else {**attrs, **found}
    return attrs
