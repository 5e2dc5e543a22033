"""Price catalog API: lookup, search and side-by-side comparison (authenticated), in the
catalog the settings choose (``INFRA_MIND_CATALOG``, ``catalog.store.default_catalog``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from infra_mind.api.deps import PlatformDep, PrincipalDep, error_responses
from infra_mind.api.schemas.catalog import (
    CompareIn,
    CompareItem,
    CompareOut,
    CompareRow,
    PriceLookupOut,
    PriceOut,
    SearchOut,
)
from infra_mind.catalog.model import ProductFamily, Provider, PurchaseOption
from infra_mind.catalog.store import Catalog, LookupFailed, default_catalog
from infra_mind.kit.errors import NotFound
from infra_mind.kit.platform import Platform

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])
_errors = error_responses({401: "Not authenticated", 404: "No such price",
                          422: "Invalid parameters"})


def _catalog(platform: Platform) -> Catalog:
    return default_catalog(platform.settings.infra_mind_catalog)


@router.get("/prices/{provider}/{sku}", response_model=PriceLookupOut,
            responses=_errors(401, 404, 422))
async def price(provider: Provider, sku: str, principal: PrincipalDep, platform: PlatformDep,
                region: Annotated[str, Query(min_length=1, max_length=64)],
                purchase_option: PurchaseOption = PurchaseOption.ON_DEMAND,
                family: ProductFamily | None = None) -> PriceLookupOut:
    """One price (or the tiers of a tiered price), with its date and source."""
    try:
        rows = _catalog(platform).price(provider, sku, region, purchase_option, None, family)
    except LookupFailed as exc:
        raise NotFound(str(exc)) from None
    return PriceLookupOut(prices=[PriceOut(**r.to_dict()) for r in rows])


@router.get("/search", response_model=SearchOut, responses=_errors(401, 422))
async def search(principal: PrincipalDep, platform: PlatformDep, provider: Provider,
                 region: Annotated[str, Query(min_length=1, max_length=64)],
                 min_vcpu: Annotated[float, Query(ge=0, le=1024)] = 0,
                 min_memory_gib: Annotated[float, Query(ge=0, le=32768)] = 0,
                 gpu: bool | None = None,
                 purchase_option: PurchaseOption = PurchaseOption.ON_DEMAND,
                 limit: Annotated[int, Query(ge=1, le=200)] = 20) -> SearchOut:
    """Machines meeting the minimums in one region, cheapest first."""
    rows = _catalog(platform).search(provider, region, min_vcpu=min_vcpu,
                                     min_memory_gib=min_memory_gib, gpu=gpu,
                                     purchase_option=purchase_option)[:limit]
    return SearchOut(provider=provider.value, region=region,
                     purchase_option=purchase_option.value,
                     items=[PriceOut(**r.to_dict()) for r in rows])


@router.post("/compare", response_model=CompareOut, responses=_errors(401, 422))
async def compare(body: CompareIn, principal: PrincipalDep, platform: PlatformDep
                  ) -> CompareOut:
    """SKUs side by side (any providers and regions), with their monthly cost; an
    unknown SKU or region is answered in its row's ``error``."""
    option = body.purchase_option
    rows: list[CompareRow] = []
    catalog = _catalog(platform)
    for item in body.items:
        try:
            (found, *_) = catalog.price(item.provider, item.sku, item.region, option)
        except LookupFailed as exc:
            rows.append(CompareRow(**item.model_dump(), price=None, monthly_usd=None,
                                   error=str(exc)))
            continue
        monthly = round(found.price_usd * 730, 2) if found.unit.value == "hour" else None
        rows.append(CompareRow(**item.model_dump(), price=PriceOut(**found.to_dict()),
                               monthly_usd=monthly))
    priced = [r for r in rows if r.monthly_usd is not None]
    cheapest = min(priced, key=lambda r: r.monthly_usd) if priced else None
    return CompareOut(rows=rows, cheapest=CompareItem(provider=cheapest.provider,
                                                      sku=cheapest.sku,
                                                      region=cheapest.region)
                      if cheapest else None)
