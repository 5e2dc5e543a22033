"""The loaded catalog: indexed lookups, search and statistics.

Every lookup goes through a dictionary built once, on first use; nothing scans
the rows per query. The index is made from the snapshot's columns, and a row is
built only when a lookup returns it (``snapshot.PriceTable``).
"""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
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
from infra_mind.catalog.snapshot import BUNDLED_PATH, PriceTable, gc_paused
from infra_mind.catalog.snapshot_cache import default_cache_dir, load_snapshot

#: Where ``infra-mind catalog refresh`` writes a refreshed snapshot by default;
#: when it exists it is used in preference to the bundled one.
LOCAL_SNAPSHOT = Path("data") / "catalog" / "snapshot.json"


def active_snapshot_path(path: Path | str | None = None) -> Path:
    """The snapshot in force: ``path`` (the caller's choice: the ``INFRA_MIND_CATALOG``
    setting, a command's ``--catalog``), a refreshed local one, or the bundled one, in
    that order."""
    if path:
        return Path(path)
    if LOCAL_SNAPSHOT.is_file():
        return LOCAL_SNAPSHOT
    return BUNDLED_PATH


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


@dataclass(slots=True)
class _Index:
    """Where each row is, by (family, region, purchase option), built from the columns.

    The rows of each (family, region, option) come from ``PriceTable.family_groups`` (one
    pass over every row, building none, or read from the snapshot cache); SKUs are
    numbered once per product (a few thousand), not per row.
    """

    #: (provider, family) of each family number, and the number of each.
    families: list[tuple[Provider, ProductFamily]]
    family_ids: dict[tuple[Provider, ProductFamily], int]
    #: (provider, normalised SKU) -> SKU number; the SKU number of each row.
    sku_ids: dict[tuple[Provider, str], int]
    sku_of_row: list[int]
    #: The families each SKU number is sold under (Azure names a VM and a database alike).
    families_of_sku: list[set[int]]
    #: The SKU as the catalog spells it, by provider and normalised SKU.
    sku_names: dict[Provider, dict[str, str]]
    #: (family number, region, purchase option) -> row numbers, ascending.
    groups: dict[tuple[int, str, str], list[int]]

    @classmethod
    def build(cls, table: PriceTable) -> _Index:
        families, groups = table.family_groups()
        family_ids = {pair: fid for fid, pair in enumerate(families)}
        sku_ids: dict[tuple[Provider, str], int] = {}
        families_of_sku: list[set[int]] = []
        sku_names: dict[Provider, dict[str, str]] = defaultdict(dict)
        sku_of_product: dict[int, int] = {}
        # products in the order of their first row, so a SKU is spelt as its first row is
        for pid in dict.fromkeys(table.product_of):
            provider, _service, family, sku, _unit, _attributes = table.products[pid]
            skey = normalize_sku(provider, sku)
            sid = sku_ids.get((provider, skey))
            if sid is None:
                sid = sku_ids[(provider, skey)] = len(families_of_sku)
                families_of_sku.append(set())
                sku_names[provider][skey] = sku
            families_of_sku[sid].add(family_ids[(provider, family)])
            sku_of_product[pid] = sid
        return cls(families, family_ids, sku_ids,
                   list(map(sku_of_product.__getitem__, table.product_of)), families_of_sku,
                   sku_names, groups)


class Catalog:
    """An immutable, indexed set of price rows.

    The index is built on first use, and a row the first time a lookup returns it: a
    CLI lookup reads a handful of the tens of thousands of rows, an assessment a few
    thousand, and building what a caller never asks for would cost every caller.
    """

    def __init__(self, rows: Iterable[PriceRow] | PriceTable, generated_at: date | None = None,
                 notes: list[str] | None = None, path: Path | None = None) -> None:
        """``rows``: built rows, or a snapshot's ``PriceTable`` (``Catalog.load``)."""
        self._table = rows if isinstance(rows, PriceTable) else PriceTable.of_rows(rows)
        self.generated_at = generated_at
        self.notes = notes or []
        self.path = path
        self._by_family: dict[tuple[Provider, str, ProductFamily, PurchaseOption],
                              tuple[PriceRow, ...]] = {}
        self._by_sku: dict[tuple[int, str, PurchaseOption], tuple[PriceRow, ...]] = {}

    @cached_property
    def _index(self) -> _Index:
        with gc_paused():
            return _Index.build(self._table)

    @property
    def _rows(self) -> list[PriceRow]:
        """Every row, built (the first call builds those not yet built)."""
        return self._table.all_rows()

    def _family(self, provider: Provider, region: str, family: ProductFamily,
                option: PurchaseOption) -> tuple[PriceRow, ...]:
        key = (provider, region, family, option)
        found = self._by_family.get(key)
        if found is None:
            index = self._index
            fid = index.family_ids.get((provider, family))
            rows = self._table.rows_at(index.groups.get((fid, region, option), [])
                                       if fid is not None else [])
            rows.sort(key=_PRICE_SKU)  # stable: equal prices and SKUs keep the file's order
            found = self._by_family[key] = tuple(rows)
        return found

    def _sku_rows(self, provider: Provider, skey: str, region: str,
                  option: PurchaseOption) -> tuple[PriceRow, ...]:
        """The rows of one SKU (normalised) in one region under one option, in file order."""
        index = self._index
        sid = index.sku_ids.get((provider, skey))
        if sid is None:
            return ()
        key = (sid, region, option)
        found = self._by_sku.get(key)
        if found is None:
            of_row = index.sku_of_row
            rows = sorted(i for fid in index.families_of_sku[sid]
                          for i in index.groups.get((fid, region, option), ())
                          if of_row[i] == sid)
            found = self._by_sku[key] = tuple(self._table.rows_at(rows))
        return found

    def _all_of_sku(self, provider: Provider, skey: str) -> list[PriceRow]:
        """Every row of one SKU (a scan of the SKU numbers: for error messages only)."""
        sid = self._index.sku_ids[(provider, skey)]
        return self._table.rows_at([i for i, s in enumerate(self._index.sku_of_row)
                                    if s == sid])

    # -- loading -----------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str | None = None, *, cache: bool = True) -> Catalog:
        """Load the snapshot ``active_snapshot_path(path)`` names; through the cache of
        parsed snapshots (``snapshot_cache``) unless ``cache`` is False."""
        chosen = active_snapshot_path(path)
        snap = load_snapshot(chosen, default_cache_dir() if cache else None)
        return cls(snap.table, snap.generated_at, snap.notes, chosen)

    # -- access ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._table)

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
        return list(self._family(Provider(provider), region, ProductFamily(family),
                                 PurchaseOption(purchase_option)))

    def lookup(self, provider: Provider | str, sku: str, region: str,
               purchase_option: PurchaseOption | str = PurchaseOption.ON_DEMAND,
               attributes: dict[str, Any] | None = None) -> list[PriceRow]:
        """Every row for this key whose attributes include ``attributes`` (may be empty)."""
        p = Provider(provider)
        found = self._sku_rows(p, normalize_sku(p, sku), region, PurchaseOption(purchase_option))
        if attributes:
            found = tuple(r for r in found if all(str(r.attributes.get(k)) == str(v)
                                                  for k, v in attributes.items()))
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
        if (p, skey) not in self._index.sku_ids:
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
            same_sku = self._all_of_sku(p, skey)
            name = self._index.sku_names[p][skey]
            if attributes:
                same_sku = [r for r in same_sku if all(
                    str(r.attributes.get(k)) == str(v) for k, v in attributes.items())]
            here = sorted({r.purchase_option.value for r in same_sku if r.region == region})
            if here:
                raise LookupFailed(
                    f"{p.value} {name} has no {option.value} price in {region}; priced there as: "
                    f"{', '.join(here)}")
            where = sorted({r.region for r in same_sku if r.purchase_option is option})
            shown = ", ".join(where[:12]) + (" ..." if len(where) > 12 else "")
            raise LookupFailed(
                f"{p.value} {name} has no {option.value} price in {region!r}"
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
        names = self._index.sku_names.get(p, {})
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
        return sorted({p for p, _family in self._index.families}, key=lambda p: p.value)

    def regions(self, provider: Provider | str | None = None) -> list[str]:
        p = Provider(provider) if provider else None
        families = self._index.families
        return sorted({region for fid, region, _option in self._index.groups
                       if p is None or families[fid][0] is p})

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


def default_catalog(path: Path | str | None = None) -> Catalog:
    """The catalog in force (``active_snapshot_path(path)``), loaded once per snapshot file
    and process: a changed choice is seen at the next call."""
    chosen = active_snapshot_path(path)
    return _loaded(chosen, chosen.resolve())


@lru_cache(maxsize=4)
def _loaded(path: Path, where: Path) -> Catalog:
    """``path`` loaded; cached by ``where`` it is too (a relative path names another file
    in another working directory)."""
    return Catalog.load(path)
