"""Hand-curated price rows: YAML files under ``curated/``, one per topic.

Every entry names the public page it came from and the date of that page (the
date the page states for its prices, or the date the copy we read was taken).
The build script merges these rows with the rows it derives from packaged data;
where both give a price for the same key, the newer ``as_of`` wins and the
disagreement goes into the data-quality report.

Format (a list of groups; every group shares its provider, service, family,
unit, source and as_of)::

    - provider: aws
      service: AmazonEKS
      product_family: kubernetes
      unit: hour
      source: https://aws.amazon.com/eks/pricing/
      as_of: 2026-03-01
      purchase_option: on_demand        # optional, default on_demand
      note: what the price covers       # optional, for readers only
      sha256: 3f5a...                   # optional: of the cited file, where it is a file
      rows:
        - sku: eks-cluster
          attributes: {support: standard}     # optional
          tier_start: 0                       # optional, tiered prices only
          tier_end: 10240                     # optional; null = and above
          prices: {us-east-1: 0.10, eu-west-1: 0.10}
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from infra_mind.catalog.model import (
    CatalogError,
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
    Unit,
)

CURATED_DIR = Path(__file__).parent / "curated"
_GROUP_KEYS = {"provider", "service", "product_family", "unit", "source", "as_of",
               "purchase_option", "note", "rows", "sha256"}
_ROW_KEYS = {"sku", "attributes", "tier_start", "tier_end", "prices"}


def load_curated(directory: Path = CURATED_DIR) -> list[PriceRow]:
    """Every curated row; raises ``CatalogError`` naming file, group and key on a defect."""
    rows: list[PriceRow] = []
    for path in sorted(directory.glob("*.yaml")):
        rows.extend(load_curated_file(path))
    return rows


def load_curated_file(path: Path) -> list[PriceRow]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path.name}: not valid YAML: {exc}") from None
    if not isinstance(doc, list):
        raise CatalogError(f"{path.name}: expected a list of groups")
    rows: list[PriceRow] = []
    for gi, group in enumerate(doc):
        where = f"{path.name}[{gi}]"
        if not isinstance(group, dict):
            raise CatalogError(f"{where}: expected a mapping")
        unknown = set(group) - _GROUP_KEYS
        if unknown:
            raise CatalogError(f"{where}: unknown keys {sorted(unknown)}")
        try:
            provider = Provider(group["provider"])
            family = ProductFamily(group["product_family"])
            unit = Unit(group["unit"])
            option = PurchaseOption(group.get("purchase_option", "on_demand"))
            as_of = group["as_of"]
            as_of = as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of))
            service = str(group["service"])
            source = str(group["source"])
            entries = group["rows"]
        except KeyError as exc:
            raise CatalogError(f"{where}: missing key {exc.args[0]}") from None
        except ValueError as exc:
            raise CatalogError(f"{where}: {exc}") from None
        for ri, entry in enumerate(entries):
            rwhere = f"{where}.rows[{ri}]"
            unknown = set(entry) - _ROW_KEYS
            if unknown:
                raise CatalogError(f"{rwhere}: unknown keys {sorted(unknown)}")
            attrs: dict[str, Any] = dict(entry.get("attributes") or {})
            prices = entry.get("prices")
            if not isinstance(prices, dict) or not prices:
                raise CatalogError(f"{rwhere}: prices must map region to price")
            for region, price in prices.items():
                try:
                    rows.append(PriceRow(
                        provider=provider, service=service, product_family=family,
                        sku=str(entry["sku"]), region=str(region), unit=unit,
                        price_usd=float(price), purchase_option=option, as_of=as_of,
                        source=source, attributes=attrs,
                        tier_start=_opt_float(entry.get("tier_start")),
                        tier_end=_opt_float(entry.get("tier_end")),
                    ))
                except (CatalogError, KeyError, TypeError, ValueError) as exc:
                    raise CatalogError(f"{rwhere}.{region}: {exc}") from None
    return rows


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def curated_sources(path: Path) -> list[tuple[str, str, str]]:
    """(source, as_of, sha256 of the cited file or "") of every group in a curated file."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out = []
    for group in doc:
        as_of = group["as_of"]
        as_of = as_of.isoformat() if isinstance(as_of, date) else str(as_of)
        out.append((str(group["source"]), as_of, str(group.get("sha256", ""))))
    return out
