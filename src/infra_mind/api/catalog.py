"""Price catalog API: lookup, search and side-by-side comparison (authenticated)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from infra_mind.api.deps import PrincipalDep
from infra_mind.api.schemas.catalog import (
    CompareIn,
    CompareItem,
    CompareOut,
    CompareRow,
    PriceLookupOut,
    PriceOut,
    SearchOut,
)
from infra_mind.catalog.model import Provider, PurchaseOption
from infra_mind.catalog.store import LookupFailed, default_catalog
from infra_mind.kit.errors import Invalid, NotFound

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])
ERRORS = {401: {"description": "Not authenticated"}, 404: {"description": "No such price"},
          422: {"description": "Invalid parameters"}}


def _provider(value: str) -> Provider:
    try:
        return Provider(value)
    except ValueError:
        raise Invalid(f"unknown provider {value!r}; one of aws, azure, gcp") from None


def _option(value: str) -> PurchaseOption:
    try:
        return PurchaseOption(value)
    except ValueError:
        raise Invalid(f"unknown purchase option {value!r}; one of "
                      f"{', '.join(o.value for o in PurchaseOption)}") from None


@router.get("/prices/{provider}/{sku}", response_model=PriceLookupOut, responses=ERRORS)
async def price(provider: str, sku: str, principal: PrincipalDep,
                region: Annotated[str, Query(min_length=1, max_length=64)],
                purchase_option: Annotated[str, Query(max_length=32)] = "on_demand",
                family: Annotated[str | None, Query(max_length=32)] = None) -> PriceLookupOut:
    """One price (or the tiers of a tiered price), with its date and source."""
    try:
        rows = default_catalog().price(_provider(provider), sku, region,
                                       _option(purchase_option), None, family)
    except LookupFailed as exc:
        raise NotFound(str(exc)) from None
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return PriceLookupOut(prices=[PriceOut(**r.to_dict()) for r in rows])


@router.get("/search", response_model=SearchOut, responses=ERRORS)
async def search(principal: PrincipalDep,
                 provider: Annotated[str, Query(max_length=8)],
                 region: Annotated[str, Query(min_length=1, max_length=64)],
                 min_vcpu: Annotated[float, Query(ge=0, le=1024)] = 0,
                 min_memory_gib: Annotated[float, Query(ge=0, le=32768)] = 0,
                 gpu: bool | None = None,
                 purchase_option: Annotated[str, Query(max_length=32)] = "on_demand",
                 limit: Annotated[int, Query(ge=1, le=200)] = 20) -> SearchOut:
    """Machines meeting the minimums in one region, cheapest first."""
    p, option = _provider(provider), _option(purchase_option)
    rows = default_catalog().search(p, region, min_vcpu=min_vcpu,
                                    min_memory_gib=min_memory_gib, gpu=gpu,
                                    purchase_option=option)[:limit]
    return SearchOut(provider=p.value, region=region, purchase_option=option.value,
                     items=[PriceOut(**r.to_dict()) for r in rows])


@router.post("/compare", response_model=CompareOut, responses=ERRORS)
async def compare(body: CompareIn, principal: PrincipalDep) -> CompareOut:
    """SKUs side by side (any providers and regions), with their monthly cost."""
    option = _option(body.purchase_option)
    rows: list[CompareRow] = []
    for item in body.items:
        try:
            (found, *_) = default_catalog().price(_provider(item.provider), item.sku,
                                                  item.region, option)
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
