"""Catalog API schemas."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from infra_mind.catalog.model import Provider, PurchaseOption


class PriceOut(BaseModel):
    provider: str
    service: str
    product_family: str
    sku: str
    region: str
    unit: str
    price_usd: float
    purchase_option: str
    as_of: date
    source: str
    attributes: dict[str, Any]
    tier_start: float | None = None
    tier_end: float | None = None
    basis: Literal["list", "derived"] = Field(
        description="'list': a published price; 'derived': computed from list prices by the "
                    "rule in 'rule', not a list price (mark it wherever it is shown)")
    rule: str | None = Field(None, description="For a derived price: the rule and its inputs")


class PriceLookupOut(BaseModel):
    prices: list[PriceOut] = Field(description="One row, or every tier of a tiered price")


class SearchOut(BaseModel):
    provider: str
    region: str
    purchase_option: str
    items: list[PriceOut]


class CompareItem(BaseModel):
    # the bounds of the lookup's query parameters; the longest SKU in the catalog has 28
    # characters. An unknown SKU or region is answered in the row's error, echoed back:
    # bounded
    provider: Provider
    sku: str = Field(min_length=1, max_length=128)
    region: str = Field(min_length=1, max_length=64)


class CompareIn(BaseModel):
    items: list[CompareItem] = Field(min_length=2, max_length=20)
    purchase_option: PurchaseOption = PurchaseOption.ON_DEMAND


class CompareRow(BaseModel):
    provider: str
    sku: str
    region: str
    price: PriceOut | None
    monthly_usd: float | None = Field(description="730 hours at the hourly price")
    error: str | None = None


class CompareOut(BaseModel):
    rows: list[CompareRow]
    cheapest: CompareItem | None
