"""Builders for small, explicit catalogs: each test states the prices it designs with.

Prices are round, made-up figures in the shape of the providers' (the rule under test is
the point, not the figure); every row follows the catalog's conventions (product family,
unit, ``dimension``, tiers).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from infra_mind.catalog.model import PriceRow, ProductFamily, Provider, PurchaseOption, Unit
from infra_mind.catalog.regions import region
from infra_mind.catalog.store import Catalog
from infra_mind.engine.design import OptionDesign, design_option
from infra_mind.engine.requirements import Requirements
from infra_mind.engine.sizing import size_all

AS_OF = date(2026, 11, 1)
HOME = {Provider.AWS: "us-east-1", Provider.AZURE: "eastus", Provider.GCP: "us-central1"}


def row(kind: ProductFamily, sku: str, price: float, unit: Unit = Unit.HOUR, *,
        provider: Provider = Provider.AWS, option: PurchaseOption = PurchaseOption.ON_DEMAND,
        tier: tuple[float, float | None] | None = None, **attributes: Any) -> PriceRow:
    extra: dict[str, Any] = {}
    if tier is not None:
        extra = {"tier_start": tier[0], "tier_end": tier[1]}
    basis = attributes.pop("basis", "list")
    rule = attributes.pop("rule", "")
    return PriceRow(provider=provider, service=f"{provider.value}-{kind.value}",
                    product_family=kind, sku=sku, region=HOME[provider], unit=unit,
                    price_usd=price, purchase_option=option, as_of=AS_OF,
                    source=f"https://example.test/{provider.value}/{kind.value}",
                    attributes=attributes, basis=basis, rule=rule, **extra)


def vm(sku: str, vcpu: float, memory: float, price: float, *, family: str | None = None,
       provider: Provider = Provider.AWS, option: PurchaseOption = PurchaseOption.ON_DEMAND,
       arch: str = "arm64", **extra: Any) -> PriceRow:
    return row(ProductFamily.COMPUTE, sku, price, provider=provider, option=option, vcpu=vcpu,
               memory_gib=memory, arch=arch, family=family or sku.split(".")[0], **extra)


def gpu(sku: str, count: int, model: str, memory: float, price: float, *, vcpu: float = 8,
        provider: Provider = Provider.AWS, option: PurchaseOption = PurchaseOption.ON_DEMAND
        ) -> PriceRow:
    return row(ProductFamily.COMPUTE, sku, price, provider=provider, option=option, vcpu=vcpu,
               memory_gib=64 * count, arch="x86_64", family=sku.split(".")[0],
               gpu_count=count, gpu_model=model, gpu_memory_gib=memory)


def network(provider: Provider = Provider.AWS) -> list[PriceRow]:
    """Load balancer, NAT and internet egress the way AWS prices them."""
    return [row(ProductFamily.LOAD_BALANCER, "alb", 0.0225, provider=provider,
                dimension="hourly"),
            row(ProductFamily.LOAD_BALANCER, "alb-lcu", 0.008, Unit.LCU_HOUR, provider=provider,
                dimension="capacity"),
            row(ProductFamily.NAT_GATEWAY, "nat-gateway", 0.045, provider=provider,
                dimension="hourly"),
            row(ProductFamily.NAT_GATEWAY, "nat-gateway-data", 0.045, Unit.GB, provider=provider,
                dimension="data"),
            row(ProductFamily.EGRESS, "internet-egress", 0.09, Unit.GB, provider=provider,
                tier=(0.0, None), free_gb_per_month=100),
            row(ProductFamily.OBJECT_STORAGE, "s3-standard", 0.023, Unit.GB_MONTH,
                provider=provider, storage_class="standard")]


def catalog(*rows: PriceRow | list[PriceRow]) -> Catalog:
    flat: list[PriceRow] = []
    for r in rows:
        flat.extend(r if isinstance(r, list) else [r])
    return Catalog(flat, generated_at=AS_OF)


def requirements(*workloads: dict[str, Any], provider: str = "aws", **top: Any
                 ) -> Requirements:
    prefs = {"providers": [provider], "regions": [HOME[Provider(provider)]],
             **top.pop("preferences", {})}
    named = [{"name": f"w{i}", **w} for i, w in enumerate(workloads)]
    return Requirements.model_validate({"name": "t", "availability_target": 99.5,
                                        "preferences": prefs, "workloads": named, **top})


def design(cat: Catalog, req: Requirements) -> OptionDesign:
    """The one option of a pinned requirement, designed on ``cat``."""
    (provider,) = req.preferences.providers
    return design_option(cat, req, size_all(req), region(provider, HOME[provider]))


def lines(d: OptionDesign, component: str | None = None) -> list:
    return [pl.item for pl in d.lines if component is None or pl.item.component == component]
