"""Reading and writing the catalog's snapshot file.

The file is compact JSON so that the bundled snapshot stays small and loads
fast: every distinct product (provider, service, family, sku, unit,
attributes), every distinct (source, as_of) pair and every distinct
derivation rule is written once, and each price is a short array pointing at
them::

    {"format": 2, "generated_at": "2026-12-06", "notes": [...],
     "sources": [["github.com/QuinnyPig/aws-price-watcher@07c8...:processed/ec2.json",
                  "2025-06-13"], ...],
     "rules": ["region ratio: ...", ...],
     "products": [["aws", "AmazonEC2", "compute", "m5.large", "hour", {"vcpu": 2, ...}], ...],
     "prices": [[product_index, "us-east-1", "on_demand", 0.096, source_index, null, null,
                 -1], ...]}

The last element of a price is the index of its rule in ``rules`` for a
derived price, -1 for a list price. Format 1 (the same without ``rules`` and
without the last element) is still read, so a snapshot an older
``infra-mind catalog refresh`` wrote keeps loading.

Loading checks the file column by column (every price finite and positive,
every tier ascending, every index in range, every product sound) and keeps the
checked columns (``PriceTable``); a row is built, without validating it again,
the first time it is asked for. An assessment reads a few thousand of the tens
of thousands of rows, so loading costs the parse and the checks, not the rows.
``Catalog.load`` keeps what they produce between runs (``snapshot_cache``).
"""

from __future__ import annotations

import gc
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

from infra_mind.catalog.model import (
    Basis,
    CatalogError,
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
    Unit,
    row_problems,
)

FORMAT = 2
READABLE_FORMATS = (1, 2)
BUNDLED_PATH = Path(__file__).parent / "data" / "snapshot.json"


#: A purchase option by the text a snapshot stores.
OPTIONS = {o.value: o for o in PurchaseOption}
_PROVIDERS = {p.value: p for p in Provider}
_FAMILIES = {f.value: f for f in ProductFamily}
_UNITS = {u.value: u for u in Unit}

#: (provider, family) pairs numbered in the order of their first rows, and the row numbers
#: of each (pair number, region, purchase option), ascending (``PriceTable.family_groups``).
FamilyGroups = tuple[list[tuple[Provider, ProductFamily]], dict[tuple[int, str, str], list[int]]]


class PriceTable:
    """Checked prices as columns, each row built the first time it is asked for.

    ``products[product_of[i]]``, ``regions[i]`` and ``options[i]`` describe row ``i``
    without building it: the catalog's indexes are made from them, and only the rows a
    lookup returns are built. A row built here equals the row ``PriceRow(...)`` (which
    validates) would make from the same values: the loader has checked them all.
    """

    __slots__ = ("_built", "_complete", "_derived", "_groups", "_prices", "_rule_of",
                 "_source_of", "_sources", "_tier_ends", "_tier_starts", "options",
                 "product_of", "products", "regions")

    def __init__(self, products: list[tuple[Any, ...]], product_of: Sequence[int],
                 regions: Sequence[str], options: Sequence[str],
                 built: list[PriceRow | None], columns: tuple[Sequence[Any], ...] = (),
                 sources: Sequence[tuple[str, date]] = (), rules: Sequence[str] = ()) -> None:
        """``columns``: prices, source indexes, tier starts, tier ends and rule indexes
        (-1: a list price), for the rows ``built`` does not hold yet."""
        self.products = products  # (provider, service, family, sku, unit, attributes)
        self.product_of = product_of
        self.regions = regions
        self.options = options  # PurchaseOption values (a StrEnum hashes as its text)
        self._built = built
        self._complete = None not in built
        self._prices, self._source_of, self._tier_starts, self._tier_ends, self._rule_of = (
            columns or ((),) * 5)
        self._sources = sources
        self._derived = [(Basis.LIST, "")] + [(Basis.DERIVED, r) for r in rules]
        self._groups: FamilyGroups | None = None

    @classmethod
    def of_rows(cls, rows: Iterable[PriceRow]) -> PriceTable:
        """A table of rows already built (each its own product)."""
        built = list(rows)
        return cls([(r.provider, r.service, r.product_family, r.sku, r.unit, r.attributes)
                    for r in built], range(len(built)), [r.region for r in built],
                   [r.purchase_option for r in built], list[PriceRow | None](built))

    def __len__(self) -> int:
        return len(self._built)

    def family_groups(self) -> FamilyGroups:
        """Which rows share a provider, a product family, a region and a purchase option:
        what a catalog's index is made of. Made once from the columns (one pass over the
        rows, none built), or kept with the table by ``plain``."""
        if self._groups is None:
            families: list[tuple[Provider, ProductFamily]] = []
            family_ids: dict[tuple[Provider, ProductFamily], int] = {}
            family_of_product: dict[int, int] = {}
            for pid in dict.fromkeys(self.product_of):  # products in the order of their rows
                provider, _service, family, _sku, _unit, _attributes = self.products[pid]
                fid = family_ids.get((provider, family))
                if fid is None:
                    fid = family_ids[(provider, family)] = len(families)
                    families.append((provider, family))
                family_of_product[pid] = fid
            groups: dict[tuple[int, str, str], list[int]] = {}
            keys = zip(map(family_of_product.__getitem__, self.product_of), self.regions,
                       self.options, strict=True)
            for i, key in enumerate(keys):
                found = groups.get(key)
                if found is None:
                    groups[key] = [i]
                else:
                    found.append(i)
            self._groups = (families, groups)
        return self._groups

    def plain(self) -> tuple[Any, ...]:
        """The table as plain values (text, numbers, None, lists, tuples, dicts) that
        ``marshal`` stores, its groups included (made now if they were not): ``from_plain``
        makes the same table again, with the same rows built. Each region's and option's
        text is made one object, so that ``marshal`` stores it once."""
        intern = sys.intern
        families, groups = self.family_groups()
        return (
            [(p.value, svc, fam.value, sku, unit.value, dict(attrs))
             for p, svc, fam, sku, unit, attrs in self.products],
            (self.product_of, tuple(map(intern, self.regions)),
             tuple(map(intern, self.options)), self._prices, self._source_of,
             self._tier_starts, self._tier_ends, self._rule_of),
            [(source, as_of.isoformat()) for source, as_of in self._sources],
            [rule for _basis, rule in self._derived[1:]],
            [i for i, row in enumerate(self._built) if row is not None],
            [(p.value, fam.value) for p, fam in families],
            {(fid, intern(region), intern(option)): rows
             for (fid, region, option), rows in groups.items()})

    @classmethod
    def from_plain(cls, plain: tuple[Any, ...]) -> PriceTable:
        """The table ``plain`` was made of (its values were checked when it was loaded)."""
        products, columns, sources, rules, built, families, groups = plain
        products = [(_PROVIDERS[p], svc, _FAMILIES[fam], sku, _UNITS[unit],
                     MappingProxyType(attrs)) for p, svc, fam, sku, unit, attrs in products]
        product_of, regions, options, *rest = columns
        if not product_of:  # as the loader makes a table of no prices
            table = cls(products, (), (), (), [])
        else:
            table = cls(products, product_of, regions, options, [None] * len(product_of),
                        (rest[0], rest[1], rest[2], rest[3], rest[4]),
                        [(source, date.fromisoformat(as_of)) for source, as_of in sources],
                        rules)
            table.rows_at(built)
        table._groups = ([(_PROVIDERS[p], _FAMILIES[fam]) for p, fam in families], groups)
        return table

    def row(self, i: int) -> PriceRow:
        found = self._built[i]
        return found if found is not None else self.rows_at([i])[0]

    def rows_at(self, indices: Sequence[int]) -> list[PriceRow]:
        """The rows at ``indices``, in that order, building those not built yet."""
        built = self._built
        out = [built[i] for i in indices]
        if not self._complete and any(row is None for row in out):
            missing = [i for i, row in zip(indices, out, strict=True) if row is None]
            for i, row in zip(missing, self._build(missing), strict=True):
                built[i] = row
            out = [built[i] for i in indices]
        return out  # type: ignore[return-value]

    def all_rows(self) -> list[PriceRow]:
        """Every row, in the snapshot's order (built at once the first time)."""
        if not self._complete:
            self._built = self._build(None)  # type: ignore[assignment]
            self._complete = True
        return self._built  # type: ignore[return-value]

    def _build(self, indices: Sequence[int] | None) -> list[PriceRow]:
        """The rows at ``indices`` (None: all), column by column: zip assembles each row's
        15 values in C, where a Python-level loop per row made loading slow."""
        if indices is not None and not indices:
            return []

        def column(values: Sequence[Any]) -> Iterable[Any]:
            return values if indices is None else map(values.__getitem__, indices)

        with gc_paused():
            prov, svc, fam, sku, unit, attrs = zip(
                *map(self.products.__getitem__, column(self.product_of)), strict=True)
            source, as_of = zip(*map(self._sources.__getitem__, column(self._source_of)),
                                strict=True)
            basis, rule = zip(*[self._derived[i + 1] for i in column(self._rule_of)],
                              strict=True)
            options = map(OPTIONS.__getitem__, column(self.options))
            new = partial(tuple.__new__, PriceRow)
            return list(map(new, zip(prov, svc, fam, sku, column(self.regions), unit,
                                     column(self._prices), options, as_of, source, attrs,
                                     column(self._tier_starts), column(self._tier_ends), basis,
                                     rule, strict=True)))


@dataclass(slots=True)
class Snapshot:
    table: PriceTable
    generated_at: date
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[PriceRow]:
        """Every row (all built: a catalog reads ``table`` and builds only what it needs)."""
        return list(self.table.all_rows())


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while tens of thousands of rows are made.

    None of them can be garbage yet, but every few hundred new containers the
    collector would walk all of them again: that doubled the load time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_snapshot(path: Path | str = BUNDLED_PATH) -> Snapshot:
    """Load a snapshot file; raises ``CatalogError`` with one line on any defect."""
    path = Path(path)
    return parse_snapshot(snapshot_bytes(path), path)


def snapshot_bytes(path: Path) -> bytes:
    """The bytes of a snapshot file; ``CatalogError`` when it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CatalogError(f"no catalog snapshot at {path}") from None
    except OSError as exc:
        raise CatalogError(f"catalog snapshot {path} is unreadable: {exc}") from None


def parse_snapshot(data: bytes, path: Path) -> Snapshot:
    """The snapshot in ``data``, read from ``path`` (named in errors), checked."""
    with gc_paused():
        return _read(data, path)


def _read(data: bytes, path: Path) -> Snapshot:
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise CatalogError(f"catalog snapshot {path} is unreadable: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") not in READABLE_FORMATS:
        raise CatalogError(f"catalog snapshot {path} is not format {FORMAT}")
    try:
        table = _table(raw)
        generated_at = date.fromisoformat(raw["generated_at"])
    except CatalogError as exc:
        raise CatalogError(f"catalog snapshot {path}: {exc}") from None
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise CatalogError(f"catalog snapshot {path} is malformed: {exc!r}") from None
    return Snapshot(table=table, generated_at=generated_at, notes=list(raw.get("notes", [])))


def _table(raw: dict[str, Any]) -> PriceTable:
    """Every price of a parsed snapshot, checked in bulk; rows are built later, unchecked."""
    sources = [(str(s), date.fromisoformat(d)) for s, d in raw["sources"]]
    rules = [str(r) for r in raw.get("rules", [])]
    if any(not r.strip() for r in rules):
        raise CatalogError("an empty derivation rule")
    products = _products(raw["products"])
    prices = raw["prices"]
    if not prices:
        return PriceTable(products, (), (), (), [])
    width = 8 if raw["format"] == 2 else 7
    columns = list(zip(*prices, strict=True))  # strict: every entry the same length
    if len(columns) != width:
        raise ValueError(f"a price entry is not {width} elements long")
    if width == 7:
        columns.append((-1,) * len(prices))
    _check_columns(columns, len(products), len(sources), len(rules))
    product_of, regions, options, *rest = columns
    if not set(options) <= OPTIONS.keys():
        raise KeyError(next(o for o in options if o not in OPTIONS))
    table = PriceTable(products, product_of, regions, options, [None] * len(prices),
                       (rest[0], rest[1], rest[2], rest[3], rest[4]), sources, rules)
    # Product-level rules (specs present, unit allowed, sources named) once per product,
    # on its first row.
    last = len(prices) - 1
    first = dict(zip(reversed(product_of), range(last, -1, -1), strict=True))
    for row in table.rows_at(list(first.values())):
        problems = row_problems(row)
        if problems:
            raise CatalogError(f"{row.provider}/{row.sku}/{row.region}: {'; '.join(problems)}")
    return table


def _products(raw: list[Any]) -> list[tuple[Any, ...]]:
    """The products of a snapshot, their provider, family and unit as members.

    Looked up in dictionaries: calling the enums cost ten times more. Any product they
    do not take (an unknown name, attributes that are not an object, a short entry) sends
    every product through the checked loop below, which refuses the first bad one as it
    always has.
    """
    try:
        return [(_PROVIDERS[p], str(svc), _FAMILIES[fam], str(sku), _UNITS[unit],
                 _read_only(attrs)) for p, svc, fam, sku, unit, attrs in raw]
    except (KeyError, TypeError, ValueError):
        pass
    products = []
    for p, svc, fam, sku, unit, attrs in raw:
        if not isinstance(attrs, dict):
            raise TypeError(f"attributes of {sku!r} are not an object")
        products.append((Provider(p), str(svc), ProductFamily(fam), str(sku), Unit(unit),
                         MappingProxyType(attrs)))
    return products


def _read_only(attributes: Any) -> MappingProxyType[str, Any]:
    if not isinstance(attributes, dict):  # MappingProxyType alone would take a text
        raise TypeError("attributes that are not an object")
    return MappingProxyType(attributes)


def _check_columns(columns: list[tuple[Any, ...]], n_products: int, n_sources: int,
                   n_rules: int) -> None:
    """The per-row rules of ``row_problems`` that vary by price, checked for all rows at once.

    ``min``/``max`` over a column raise ``TypeError`` on a non-number (a malformed file).
    """
    product_i, regions, _options, prices, source_i, t0s, t1s, rule_i = columns
    if not set(map(type, prices)) <= {int, float} or min(prices) <= 0 \
            or not all(map(math.isfinite, prices)):
        bad = next(p for p in prices if type(p) not in (int, float) or not 0 < p < math.inf)
        raise CatalogError(f"price_usd {bad!r} is not positive")
    if min(product_i) < 0 or max(product_i) >= n_products \
            or min(source_i) < 0 or max(source_i) >= n_sources:
        raise IndexError("a product or source index is out of range")
    if min(rule_i) < -1 or max(rule_i) >= n_rules:
        raise IndexError("a rule index is out of range")
    if not all(isinstance(r, str) and r.strip() for r in set(regions)):
        raise CatalogError("an empty or non-text region")
    for t0, t1 in zip(t0s, t1s, strict=True):
        if t0 is not None and t1 is not None and t1 <= t0:
            raise CatalogError(f"tier_end {t1} is not above tier_start {t0}")


def snapshot_to_json(rows: Iterable[PriceRow], generated_at: date,
                     notes: list[str] | None = None) -> str:
    """Serialise rows in the compact format, in a stable order (diff-friendly)."""
    ordered = sorted(rows, key=_row_order)
    sources: dict[tuple[str, str], int] = {}
    rules: dict[str, int] = {}
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
        rule_i = -1
        if row.basis is Basis.DERIVED:
            rule_i = rules.setdefault(row.rule, len(rules))
        prices.append([products[pkey], row.region, row.purchase_option.value, row.price_usd,
                       sources[skey], row.tier_start, row.tier_end, rule_i])
    doc = {
        "format": FORMAT,
        "generated_at": generated_at.isoformat(),
        "notes": notes or [],
        "sources": [list(k) for k in sources],
        "rules": list(rules),
        "products": product_list,
        "prices": prices,
    }
    # One product or price per line: small diffs when a price changes.
    lines = ["{"]
    for key in ("format", "generated_at", "notes"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(doc[key])},")
    for key in ("sources", "rules", "products", "prices"):
        items = doc[key]
        lines.append(f"  {json.dumps(key)}: [")
        lines.extend(f"    {json.dumps(item, sort_keys=True, separators=(',', ':'))}"
                     f"{',' if i < len(items) - 1 else ''}"
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
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a snapshot is read by every user
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
