"""The price catalog's row model.

One row is one published price: which provider sells what (``service``,
``product_family``, ``sku``) where (``region``), per which ``unit``, at which
``price_usd`` under which ``purchase_option``, and when (``as_of``) and where
(``source``) that price was read. Rows are keyed the way the Infracost Cloud
Pricing API keys its products (vendor, service, product family, region, sku,
attributes) so that rows from a live price list map onto it one to one.

Tiered prices (internet egress, some storage) are several rows that share a
sku and differ in ``tier_start``/``tier_end``: the price applies to usage in
``[tier_start, tier_end)`` units per month, ``tier_end`` ``None`` meaning "and
above".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Provider(StrEnum):
    AWS = "aws"
    AZURE = "azure"
    GCP = "gcp"


class PurchaseOption(StrEnum):
    ON_DEMAND = "on_demand"
    SPOT = "spot"
    RESERVED_1Y = "reserved_1y"
    RESERVED_3Y = "reserved_3y"
    SAVINGS_PLAN_1Y = "savings_plan_1y"
    SAVINGS_PLAN_3Y = "savings_plan_3y"


class ProductFamily(StrEnum):
    """What a row prices, in the engine's vocabulary."""

    COMPUTE = "compute"  # virtual machines, GPU machines included
    OBJECT_STORAGE = "object_storage"
    BLOCK_STORAGE = "block_storage"
    DATABASE = "database"  # managed database instance hours
    DATABASE_STORAGE = "database_storage"
    KUBERNETES = "kubernetes"  # managed control-plane fee
    LOAD_BALANCER = "load_balancer"
    NAT_GATEWAY = "nat_gateway"
    EGRESS = "egress"  # internet data transfer out
    CACHE = "cache"  # managed Redis/Memcached node hours


class Unit(StrEnum):
    HOUR = "hour"
    MONTH = "month"  # a fixed monthly fee, e.g. one provisioned disk of a given size
    GB_MONTH = "GB-month"
    GB = "GB"
    REQUESTS_1K = "1K-requests"
    LCU_HOUR = "LCU-hour"


#: Attributes every compute row carries.
COMPUTE_ATTRIBUTES = ("vcpu", "memory_gib", "arch")
#: Attributes every GPU compute row carries in addition.
GPU_ATTRIBUTES = ("gpu_count", "gpu_model", "gpu_memory_gib")


class CatalogError(Exception):
    """A catalog row or snapshot that breaks the catalog's rules."""


@dataclass(frozen=True, slots=True)
class PriceRow:
    """One dated, sourced price."""

    provider: Provider
    service: str
    product_family: ProductFamily
    sku: str
    region: str
    unit: Unit
    price_usd: float
    purchase_option: PurchaseOption
    as_of: date
    source: str
    attributes: MappingProxyType[str, Any] = field(
        default_factory=lambda: MappingProxyType({})
    )
    tier_start: float | None = None
    tier_end: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.attributes, dict):
            object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))
        problems = row_problems(self)
        if problems:
            raise CatalogError(f"{self.provider}/{self.sku}/{self.region}: {'; '.join(problems)}")

    @property
    def is_gpu(self) -> bool:
        return bool(self.attributes.get("gpu_count"))

    @property
    def variant(self) -> tuple[tuple[str, Any], ...]:
        """Attributes that tell apart rows sharing provider, sku, region and option.

        For example a managed database's ``engine`` and ``deployment``.
        """
        return tuple(sorted((k, self.attributes[k]) for k in VARIANT_ATTRIBUTES
                            if k in self.attributes))

    def to_dict(self) -> dict[str, Any]:
        """The row as plain JSON-ready data (the CLI's ``catalog price --json``)."""
        out: dict[str, Any] = {
            "provider": self.provider.value,
            "service": self.service,
            "product_family": self.product_family.value,
            "sku": self.sku,
            "region": self.region,
            "unit": self.unit.value,
            "price_usd": self.price_usd,
            "purchase_option": self.purchase_option.value,
            "as_of": self.as_of.isoformat(),
            "source": self.source,
            "attributes": dict(self.attributes),
        }
        if self.tier_start is not None or self.tier_end is not None:
            out["tier_start"] = self.tier_start
            out["tier_end"] = self.tier_end
        return out


#: Attribute names that distinguish otherwise equal keys (see ``PriceRow.variant``).
VARIANT_ATTRIBUTES = ("engine", "deployment", "tier", "storage_class", "dimension")


def row_problems(row: PriceRow) -> list[str]:
    """Every rule a row breaks; empty when the row is sound.

    A zero, negative or non-finite price is never a price: it means "unknown"
    in the sources this catalog is built from, and an unknown price is absent.
    """
    problems: list[str] = []
    if not isinstance(row.price_usd, int | float) or not math.isfinite(row.price_usd):
        problems.append(f"price_usd {row.price_usd!r} is not a finite number")
    elif row.price_usd <= 0:
        problems.append(f"price_usd {row.price_usd!r} is not positive")
    if not row.source.strip():
        problems.append("no source")
    if not isinstance(row.as_of, date):
        problems.append("as_of is not a date")
    if not row.sku.strip() or not row.region.strip():
        problems.append("empty sku or region")
    if row.product_family is ProductFamily.COMPUTE:
        if row.unit is not Unit.HOUR:
            problems.append(f"compute priced per {row.unit}, not per hour")
        missing = [a for a in COMPUTE_ATTRIBUTES if a not in row.attributes]
        if row.attributes.get("gpu_count"):
            missing += [a for a in GPU_ATTRIBUTES if a not in row.attributes]
        if missing:
            problems.append(f"missing attributes {', '.join(missing)}")
    if row.tier_start is not None and row.tier_end is not None and row.tier_end <= row.tier_start:
        problems.append(f"tier_end {row.tier_end} is not above tier_start {row.tier_start}")
    return problems
