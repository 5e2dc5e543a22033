"""Catalog API schemas."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field


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


class PriceLookupOut(BaseModel):
    prices: list[PriceOut] = Field(description="One row, or every tier of a tiered price")


class SearchOut(BaseModel):
    provider: str
    region: str
    purchase_option: str
    items: list[PriceOut]


class CompareItem(BaseModel):
    provider: str
    sku: str
    region: str


class CompareIn(BaseModel):
    items: list[CompareItem] = Field(min_length=2, max_length=20)
    purchase_option: str = "on_demand"


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
