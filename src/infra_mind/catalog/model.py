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

Every row has a ``basis``: ``list`` (a published price, read from a dated
source) or ``derived`` (computed from list prices by one stated rule, given in
``rule``; see ``infra_mind.catalog.build.derive``). A list price always wins
over a derived one.

A row is an immutable tuple underneath (``PriceRow`` subclasses a
``NamedTuple``): a snapshot of tens of thousands of rows loads in a few
milliseconds that way, where a frozen dataclass took a hundred. Building a row
by its constructor validates it; ``PriceRow.trusted`` skips that for rows the
snapshot loader has already checked column by column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple


class Provider(StrEnum):
    AWS = "aws"
    AZURE = "azure"
    GCP = "gcp"


#: AWS price-list service codes (the Price List API's ``serviceCode``, which the catalog keeps
#: as each row's ``service``) by the product names AWS uses for them: a result read
#: "AmazonRDS automated backups" and "TLS required on AmazonRDS db.r6g.large". Azure's and
#: Google Cloud's catalog rows already carry product names.
SERVICE_NAMES = {
    "AmazonEC2": "Amazon EC2", "AmazonRDS": "Amazon RDS", "AmazonS3": "Amazon S3",
    "AmazonCloudFront": "Amazon CloudFront", "AmazonEKS": "Amazon EKS",
    "AmazonElastiCache": "Amazon ElastiCache", "AmazonVPC": "Amazon VPC",
    "AWSELB": "Elastic Load Balancing", "AWSDataTransfer": "AWS Data Transfer",
    "awskms": "AWS KMS", "awswaf": "AWS WAF",
}


def service_name(service: str) -> str:
    """A catalog row's service as a reader knows it: "Amazon RDS" for AmazonRDS."""
    return SERVICE_NAMES.get(service, service)


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
    CDN = "cdn"  # content delivery: data out of the edge and requests
    INTER_REGION_TRANSFER = "inter_region_transfer"  # data between two of a provider's regions
    WAF = "waf"  # web application firewall: policy, rules, requests (or gateway hours)
    KEY_MANAGEMENT = "key_management"  # customer-managed keys: key-months, key requests


class Unit(StrEnum):
    HOUR = "hour"
    MONTH = "month"  # a fixed monthly fee, e.g. one provisioned disk of a given size
    GB_MONTH = "GB-month"
    GB = "GB"
    REQUESTS_1K = "1K-requests"
    REQUESTS_10K = "10K-requests"
    REQUESTS_1M = "1M-requests"
    LCU_HOUR = "LCU-hour"


class Basis(StrEnum):
    """Where a price comes from: published, or computed from published prices by a rule."""

    LIST = "list"
    DERIVED = "derived"


#: Attributes every compute row carries.
COMPUTE_ATTRIBUTES = ("vcpu", "memory_gib", "arch")
#: Attributes every GPU compute row carries in addition.
GPU_ATTRIBUTES = ("gpu_count", "gpu_model", "gpu_memory_gib")


class CatalogError(Exception):
    """A catalog row or snapshot that breaks the catalog's rules."""


_EMPTY: Mapping[str, Any] = MappingProxyType({})


class _RowFields(NamedTuple):
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
    attributes: Mapping[str, Any] = _EMPTY
    tier_start: float | None = None
    tier_end: float | None = None
    basis: Basis = Basis.LIST
    #: For a derived price: the rule's name and its inputs; empty for a list price.
    rule: str = ""


class PriceRow(_RowFields):
    """One dated, sourced price (immutable; attributes are a read-only mapping)."""

    __slots__ = ()

    def __new__(cls, provider: Provider, service: str, product_family: ProductFamily,
                sku: str, region: str, unit: Unit, price_usd: float,
                purchase_option: PurchaseOption, as_of: date, source: str,
                attributes: Mapping[str, Any] | None = None, tier_start: float | None = None,
                tier_end: float | None = None, basis: Basis | str = Basis.LIST,
                rule: str = "") -> PriceRow:
        if not isinstance(attributes, MappingProxyType):
            attributes = MappingProxyType(dict(attributes or {}))
        try:
            basis = Basis(basis)
        except ValueError:
            raise CatalogError(f"{provider}/{sku}/{region}: basis {basis!r} is neither "
                               "list nor derived") from None
        row = tuple.__new__(cls, (provider, service, product_family, sku, region, unit,
                                  price_usd, purchase_option, as_of, source, attributes,
                                  tier_start, tier_end, basis, rule))
        problems = row_problems(row)
        if problems:
            raise CatalogError(f"{provider}/{sku}/{region}: {'; '.join(problems)}")
        return row

    @classmethod
    def trusted(cls, values: tuple[Any, ...]) -> PriceRow:
        """A row from already-validated values in field order (the snapshot loader's path)."""
        return tuple.__new__(cls, values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"PriceRow is immutable: cannot set {name}")

    @property
    def is_gpu(self) -> bool:
        return bool(self.attributes.get("gpu_count"))

    @property
    def is_derived(self) -> bool:
        return self.basis is Basis.DERIVED

    @property
    def variant(self) -> tuple[tuple[str, Any], ...]:
        """Attributes that tell apart rows sharing provider, sku, region and option.

        For example a managed database's ``engine`` and ``deployment``.
        """
        return tuple(sorted((k, self.attributes[k]) for k in VARIANT_ATTRIBUTES
                            if k in self.attributes))

    def with_price(self, price_usd: float, **changes: Any) -> PriceRow:
        """A validated copy with another price (and optionally other fields)."""
        fields = self._asdict()
        fields.update(price_usd=price_usd, **changes)
        return PriceRow(**fields)

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
            "basis": self.basis.value,
        }
        if self.rule:
            out["rule"] = self.rule
        if self.tier_start is not None or self.tier_end is not None:
            out["tier_start"] = self.tier_start
            out["tier_end"] = self.tier_end
        return out


#: Attribute names that distinguish otherwise equal keys (see ``PriceRow.variant``).
VARIANT_ATTRIBUTES = ("engine", "deployment", "tier", "storage_class", "dimension",
                      "to_region")


def row_problems(row: PriceRow) -> list[str]:
    """Every rule a row breaks; empty when the row is sound.

    A zero, negative or non-finite price is never a price: it means "unknown"
    in the sources this catalog is built from, and an unknown price is absent.
    A derived price names its rule; a list price has none.
    """
    problems: list[str] = []
    if row.basis is Basis.DERIVED and not row.rule.strip():
        problems.append("a derived price without its rule")
    if row.basis is Basis.LIST and row.rule:
        problems.append("a list price with a derivation rule")
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
