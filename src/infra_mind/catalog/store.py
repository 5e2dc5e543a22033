"""The loaded catalog: indexed lookups, search and statistics.

Every lookup goes through a dictionary built once at load time; nothing scans
the rows per query.
"""

from __future__ import annotations

import difflib
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from typing import Any

from infra_mind.catalog.model import (
    CatalogError,
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
)
from infra_mind.catalog.snapshot import BUNDLED_PATH, gc_paused, read_snapshot

#: Environment variable naming a snapshot to use instead of the bundled one.
SNAPSHOT_ENV = "INFRA_MIND_CATALOG"
#: Where ``infra-mind catalog refresh`` writes a refreshed snapshot by default;
#: when it exists it is used in preference to the bundled one.
LOCAL_SNAPSHOT = Path("data") / "catalog" / "snapshot.json"


def active_snapshot_path(path: Path | str | None = None) -> Path:
    """The snapshot in force: ``path``, ``$INFRA_MIND_CATALOG``, a refreshed local one, or
    the bundled one, in that order."""
    if path:
        return Path(path)
    if os.environ.get(SNAPSHOT_ENV):
        return Path(os.environ[SNAPSHOT_ENV])
    if LOCAL_SNAPSHOT.is_file():
        return LOCAL_SNAPSHOT
    return BUNDLED_PATH


# Keys read straight off a row's tuple (C-level getters: the indexes are built over
# tens of thousands of rows).
_PROVIDER_SKU = attrgetter("provider", "sku")
_FAMILY_KEY = attrgetter("provider", "region", "product_family", "purchase_option")
#: Cheapest first within a family; the SKU name breaks ties.
_PRICE_SKU = attrgetter("price_usd", "sku")


class LookupFailed(CatalogError):
    """A price lookup that found nothing; the message says what exists instead."""


def normalize_sku(provider: Provider, sku: str) -> str:
    """The key a SKU is indexed under: case-insensitive; Azure's ``Standard_`` optional."""
    key = sku.strip().lower()
    if provider is Provider.AZURE:
        key = key.removeprefix("standard_")
    return key


@dataclass(frozen=True, slots=True)
class CatalogStats:
    rows: int
    by_provider: dict[str, int]
    by_service: dict[tuple[str, str], int]
    by_region: dict[tuple[str, str], int]
    by_purchase_option: dict[str, int]
    on_demand_compute_rows: int
    oldest_as_of: date
    newest_as_of: date
    #: Rows per basis: "list" (published) and "derived" (computed by a stated rule).
    by_basis: dict[str, int]


class Catalog:
    """An immutable, indexed set of price rows.

    The indexes are built on first use, each once: a CLI lookup needs only the
    SKU indexes, the engine all of them, and building what a caller never asks
    for would cost every caller.
    """

    def __init__(self, rows: Iterable[PriceRow], generated_at: date | None = None,
                 notes: list[str] | None = None, path: Path | None = None) -> None:
        self._rows: tuple[PriceRow, ...] = tuple(rows)
        self.generated_at = generated_at
        self.notes = notes or []
        self.path = path

    @cached_property
    def _sku_index(self) -> tuple[dict[tuple[Provider, str, str, PurchaseOption],
                                       list[PriceRow]],
                                  dict[tuple[Provider, str], list[PriceRow]]]:
        with gc_paused():
            return self._build_sku_index()

    def _build_sku_index(self) -> tuple[dict[tuple[Provider, str, str, PurchaseOption],
                                             list[PriceRow]],
                                        dict[tuple[Provider, str], list[PriceRow]]]:
        by_key: dict[tuple[Provider, str, str, PurchaseOption], list[PriceRow]] = {}
        by_sku: dict[tuple[Provider, str], list[PriceRow]] = {}
        # rows come sorted by product (the snapshot's order), so normalising the SKU once
        # per run of equal (provider, sku) is enough; any order stays correct
        for (provider, sku), group in groupby(self._rows, key=_PROVIDER_SKU):
            skey = normalize_sku(provider, sku)
            same_sku = by_sku.setdefault((provider, skey), [])
            for row in group:
                same_sku.append(row)
                key = (provider, skey, row.region, row.purchase_option)
                found = by_key.get(key)
                if found is None:
                    by_key[key] = [row]
                else:
                    found.append(row)
        return by_key, by_sku

    @property
    def _by_key(self) -> dict[tuple[Provider, str, str, PurchaseOption], list[PriceRow]]:
        return self._sku_index[0]

    @property
    def _by_sku(self) -> dict[tuple[Provider, str], list[PriceRow]]:
        return self._sku_index[1]

    @cached_property
    def _by_family(self) -> dict[tuple[Provider, str, ProductFamily, PurchaseOption],
                                 list[PriceRow]]:
        by_family: dict[tuple[Provider, str, ProductFamily, PurchaseOption],
                        list[PriceRow]] = {}
        with gc_paused():
            for key, row in zip(map(_FAMILY_KEY, self._rows), self._rows, strict=True):
                found = by_family.get(key)
                if found is None:
                    by_family[key] = [row]
                else:
                    found.append(row)
            for rows_ in by_family.values():
                rows_.sort(key=_PRICE_SKU)
        return by_family

    @cached_property
    def _sku_names(self) -> dict[Provider, dict[str, str]]:
        names: dict[Provider, dict[str, str]] = defaultdict(dict)
        for (provider, skey), rows_ in self._by_sku.items():
            names[provider][skey] = rows_[0].sku
        return names

    # -- loading -----------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str | None = None) -> Catalog:
        """Load the snapshot ``active_snapshot_path(path)`` names."""
        chosen = active_snapshot_path(path)
        snap = read_snapshot(chosen)
        return cls(snap.rows, snap.generated_at, snap.notes, chosen)

    # -- access ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[PriceRow]:
        return iter(self._rows)

    def rows(self, provider: Provider | str | None = None,
             family: ProductFamily | str | None = None,
             region: str | None = None,
             purchase_option: PurchaseOption | str | None = None) -> list[PriceRow]:
        """Rows matching every given filter (a scan: for reports, not hot paths)."""
        p = Provider(provider) if provider else None
        f = ProductFamily(family) if family else None
        o = PurchaseOption(purchase_option) if purchase_option else None
        return [r for r in self._rows
                if (p is None or r.provider is p) and (f is None or r.product_family is f)
                and (region is None or r.region == region)
                and (o is None or r.purchase_option is o)]

    def family_rows(self, provider: Provider | str, region: str, family: ProductFamily | str,
                    purchase_option: PurchaseOption | str = PurchaseOption.ON_DEMAND,
                    ) -> list[PriceRow]:
        """Rows of one product family in one region, cheapest first (indexed)."""
        return list(self._by_family.get(
            (Provider(provider), region, ProductFamily(family), PurchaseOption(purchase_option)),
            ()))

    def lookup(self, provider: Provider | str, sku: str, region: str,
               purchase_option: PurchaseOption | str = PurchaseOption.ON_DEMAND,
               attributes: dict[str, Any] | None = None) -> list[PriceRow]:
        """Every row for this key whose attributes include ``attributes`` (may be empty)."""
        p = Provider(provider)
        found = self._by_key.get((p, normalize_sku(p, sku), region,
                                  PurchaseOption(purchase_option)), [])
        if attributes:
            found = [r for r in found
                     if all(str(r.attributes.get(k)) == str(v) for k, v in attributes.items())]
        return sorted(found, key=lambda r: (r.variant, r.tier_start or 0.0))

    def price(self, provider: Provider | str, sku: str, region: str,
              purchase_option: PurchaseOption | str = PurchaseOption.ON_DEMAND,
              attributes: dict[str, Any] | None = None,
              family: ProductFamily | str | None = None) -> list[PriceRow]:
        """The rows of one price (several only for a tiered price), or ``LookupFailed``.

        The error says why: an unknown SKU (with the closest SKUs), a known SKU
        not priced in that region or under that option (with where it is), or
        a SKU with several variants (with the attributes that tell them apart).

        A name can mean products of several families: Azure sells a database
        server under its VM size name (``Standard_B2s``). Without ``family`` the
        bare name means the machine; other families must be asked for.
        """
        p = Provider(provider)
        option = PurchaseOption(purchase_option)
        skey = normalize_sku(p, sku)
        if (p, skey) not in self._by_sku:
            close = self.closest_skus(p, sku)
            hint = f"; closest: {', '.join(close)}" if close else ""
            raise LookupFailed(f"unknown {p.value} SKU {sku!r}{hint}")
        rows = self.lookup(p, sku, region, option, attributes)
        if family is not None:
            rows = [r for r in rows if r.product_family is ProductFamily(family)]
        elif len({r.product_family for r in rows}) > 1:
            rows = [r for r in rows if r.product_family is ProductFamily.COMPUTE] or rows
            families = sorted({r.product_family.value for r in rows})
            if len(families) > 1:
                raise LookupFailed(f"{p.value} {rows[0].sku} in {region} names products of "
                                   f"several families (choose with family): "
                                   f"{', '.join(families)}")
        if not rows:
            same_sku = self._by_sku[(p, skey)]
            if attributes:
                same_sku = [r for r in same_sku if all(
                    str(r.attributes.get(k)) == str(v) for k, v in attributes.items())]
            here = sorted({r.purchase_option.value for r in same_sku if r.region == region})
            if here:
                raise LookupFailed(
                    f"{p.value} {self._sku_names[p][skey]} has no {option.value} price in "
                    f"{region}; priced there as: {', '.join(here)}")
            where = sorted({r.region for r in same_sku if r.purchase_option is option})
            shown = ", ".join(where[:12]) + (" ..." if len(where) > 12 else "")
            raise LookupFailed(
                f"{p.value} {self._sku_names[p][skey]} has no {option.value} price in {region!r}"
                + (f"; priced in: {shown}" if where else ""))
        variants = {r.variant for r in rows}
        if len(variants) > 1:
            names = sorted({k for v in variants for k, _ in v})
            options = "; ".join(", ".join(f"{k}={val}" for k, val in v) for v in sorted(variants))
            raise LookupFailed(
                f"{p.value} {rows[0].sku} in {region} has {len(variants)} variants "
                f"(choose with {', '.join(names)}): {options}")
        return rows

    def closest_skus(self, provider: Provider | str, sku: str, n: int = 5) -> list[str]:
        p = Provider(provider)
        names = self._sku_names.get(p, {})
        keys = difflib.get_close_matches(normalize_sku(p, sku), list(names), n=n, cutoff=0.5)
        return [names[k] for k in keys]

    def search(self, provider: Provider | str, region: str, min_vcpu: float = 0,
               min_memory_gib: float = 0, gpu: bool | None = None, min_gpu_memory_gib: float = 0,
               purchase_option: PurchaseOption | str = PurchaseOption.ON_DEMAND,
               arch: str | None = None) -> list[PriceRow]:
        """Compute SKUs meeting the minimums in one region, cheapest first.

        ``gpu`` True keeps only GPU machines, False only machines without a GPU,
        None both.
        """
        out = []
        for row in self.family_rows(provider, region, ProductFamily.COMPUTE, purchase_option):
            a = row.attributes
            if a["vcpu"] < min_vcpu or a["memory_gib"] < min_memory_gib:
                continue
            if gpu is not None and row.is_gpu != gpu:
                continue
            if min_gpu_memory_gib and (a.get("gpu_memory_gib") or 0) < min_gpu_memory_gib:
                continue
            if arch and a.get("arch") != arch:
                continue
            out.append(row)
        return out

    def providers(self) -> list[Provider]:
        return sorted({r.provider for r in self._rows}, key=lambda p: p.value)

    def regions(self, provider: Provider | str | None = None) -> list[str]:
        p = Provider(provider) if provider else None
        return sorted({r.region for r in self._rows if p is None or r.provider is p})

    def stats(self) -> CatalogStats:
        if not self._rows:
            raise CatalogError("the catalog is empty")
        return CatalogStats(
            rows=len(self._rows),
            by_provider=dict(Counter(r.provider.value for r in self._rows)),
            by_service=dict(Counter((r.provider.value, r.service) for r in self._rows)),
            by_region=dict(Counter((r.provider.value, r.region) for r in self._rows)),
            by_purchase_option=dict(Counter(r.purchase_option.value for r in self._rows)),
            on_demand_compute_rows=sum(
                1 for r in self._rows if r.product_family is ProductFamily.COMPUTE
                and r.purchase_option is PurchaseOption.ON_DEMAND),
            oldest_as_of=min(r.as_of for r in self._rows),
            newest_as_of=max(r.as_of for r in self._rows),
            by_basis=dict(Counter(r.basis.value for r in self._rows)),
        )


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The process-wide catalog (see ``active_snapshot_path``)."""
    return Catalog.load()
