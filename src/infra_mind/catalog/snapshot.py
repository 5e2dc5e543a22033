"""Reading and writing the catalog's snapshot file.

The file is compact JSON so that the bundled snapshot stays small and loads
fast: every distinct product (provider, service, family, sku, unit,
attributes) and every distinct (source, as_of) pair is written once, and
each price is a short array pointing at them::

    {"format": 1, "generated_at": "2026-11-28", "notes": [...],
     "sources": [["libcloud/data/pricing.json (apache-libcloud 3.9.1)", "2025-03-02"], ...],
     "products": [["aws", "AmazonEC2", "compute", "m5.large", "hour", {"vcpu": 2, ...}], ...],
     "prices": [[product_index, "us-east-1", "on_demand", 0.096, source_index, null, null], ...]}
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from infra_mind.catalog.model import (
    CatalogError,
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
    Unit,
)

FORMAT = 1
BUNDLED_PATH = Path(__file__).parent / "data" / "snapshot.json"


@dataclass(slots=True)
class Snapshot:
    rows: list[PriceRow]
    generated_at: date
    notes: list[str] = field(default_factory=list)


def read_snapshot(path: Path | str = BUNDLED_PATH) -> Snapshot:
    """Load a snapshot file; raises ``CatalogError`` with one line on any defect."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"no catalog snapshot at {path}") from None
    except (OSError, ValueError) as exc:
        raise CatalogError(f"catalog snapshot {path} is unreadable: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CatalogError(f"catalog snapshot {path} is not format {FORMAT}")
    try:
        sources = [(str(s), date.fromisoformat(d)) for s, d in raw["sources"]]
        products = [
            (Provider(p), str(svc), ProductFamily(fam), str(sku), Unit(unit), attrs)
            for p, svc, fam, sku, unit, attrs in raw["products"]
        ]
        rows = []
        for prod_i, region, option, price, src_i, t0, t1 in raw["prices"]:
            provider, service, family, sku, unit, attrs = products[prod_i]
            source, as_of = sources[src_i]
            rows.append(PriceRow(
                provider=provider, service=service, product_family=family, sku=sku,
                region=region, unit=unit, price_usd=price,
                purchase_option=PurchaseOption(option), as_of=as_of, source=source,
                attributes=attrs, tier_start=t0, tier_end=t1,
            ))
        generated_at = date.fromisoformat(raw["generated_at"])
    except CatalogError as exc:
        raise CatalogError(f"catalog snapshot {path}: {exc}") from None
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise CatalogError(f"catalog snapshot {path} is malformed: {exc!r}") from None
    return Snapshot(rows=rows, generated_at=generated_at, notes=list(raw.get("notes", [])))


def snapshot_to_json(rows: Iterable[PriceRow], generated_at: date,
                     notes: list[str] | None = None) -> str:
    """Serialise rows in the compact format, in a stable order (diff-friendly)."""
    ordered = sorted(rows, key=_row_order)
    sources: dict[tuple[str, str], int] = {}
    products: dict[str, int] = {}
    product_list: list[list[Any]] = []
    prices: list[list[Any]] = []
    for row in ordered:
        attrs = dict(sorted(row.attributes.items()))
        pkey = json.dumps([row.provider.value, row.service, row.product_family.value,
                           row.sku, row.unit.value, attrs], sort_keys=True)
        if pkey not in products:
            products[pkey] = len(product_list)
            product_list.append([row.provider.value, row.service, row.product_family.value,
                                 row.sku, row.unit.value, attrs])
        skey = (row.source, row.as_of.isoformat())
        if skey not in sources:
            sources[skey] = len(sources)
        prices.append([products[pkey], row.region, row.purchase_option.value, row.price_usd,
                       sources[skey], row.tier_start, row.tier_end])
    doc = {
        "format": FORMAT,
        "generated_at": generated_at.isoformat(),
        "notes": notes or [],
        "sources": [list(k) for k in sources],
        "products": product_list,
        "prices": prices,
    }
    # One product or price per line: small diffs when a price changes.
    lines = ["{"]
    for key in ("format", "generated_at", "notes"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(doc[key])},")
    for key in ("sources", "products", "prices"):
        items = doc[key]
        lines.append(f"  {json.dumps(key)}: [")
        lines.extend(f"    {json.dumps(item, sort_keys=True)}{',' if i < len(items) - 1 else ''}"
                     for i, item in enumerate(items))
        lines.append("  ]," if key != "prices" else "  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_snapshot(path: Path | str, rows: Iterable[PriceRow], generated_at: date,
                   notes: list[str] | None = None) -> None:
    """Write atomically: a crash mid-write never leaves a half snapshot behind."""
    path = Path(path)
    text = snapshot_to_json(rows, generated_at, notes)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _row_order(row: PriceRow) -> tuple[Any, ...]:
    return (row.provider.value, row.product_family.value, row.service, row.sku, row.region,
            row.purchase_option.value, json.dumps(dict(row.attributes), sort_keys=True),
            row.tier_start if row.tier_start is not None else -1.0)
