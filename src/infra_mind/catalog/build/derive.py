"""Derived prices: where no list price exists, one stated rule computes one from list prices.

Three rules, each applied only where no list price exists (a list price always
wins); R1 only to the cells ``DERIVE`` names, R3 only to the sizes it names:

* **R1, region ratio.** A price missing in region ``r`` is its list price in a
  reference region times the median ratio ``r / reference`` over the prices of
  the same *ratio family* listed in both regions (at least ``MIN_PAIRS``). The
  ratio family is the same service's prices (compute: the same provider and
  machine family; otherwise the same provider, service, product family and
  database/cache engine). Where that service has no list price in ``r`` at all,
  the provider's general-purpose compute ratio for ``r`` is used instead
  (``GENERAL_PURPOSE``), and the rule says so.
* **R3, vCore scaling** (``vcores``): an Azure flexible-server database size missing in a
  region is the price of a size of its series there (listed, or derived by R1) per vCore
  times its vCores, as Azure bills those servers.
* **R2, commitment ratio** (``commitments``): a 1- or 3-year commitment price
  missing for an AWS or Azure machine is its on-demand list price times the median
  committed/on-demand ratio of the same provider's listed points, its own family's
  where listed.

Every derived row carries ``basis`` "derived", its rule with its inputs, the
oldest input's date and its inputs' sources. ``measure`` runs each rule
leave-one-out against the list prices that exist (hide one, derive it,
compare) and reports median and p90 absolute error; a rule whose p90 error for
a product family exceeds ``POOR_P90_PCT`` is not applied to that family.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from infra_mind.catalog.build import commitments, vcores
from infra_mind.catalog.build.recorded import REFERENCE_ONLY_REGIONS
from infra_mind.catalog.model import (
    Basis,
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
)
from infra_mind.catalog.regions import regions_of

REFERENCE = {Provider.AWS: "us-east-1", Provider.AZURE: "eastus", Provider.GCP: "us-central1"}
#: The family whose on-demand regional ratios stand in where a service has no list price.
GENERAL_PURPOSE = {Provider.AWS: "m6i", Provider.AZURE: "Dsv5", Provider.GCP: "n2"}
F = ProductFamily
#: A ratio needs at least this many prices listed in both regions (two: Cloud NAT's gateway
#: and data prices are the whole service).
MIN_PAIRS = 2
POOR_P90_PCT = 15.0
#: Families the engine prices (design.py): a compute-fallback price, labelled with its
#: measured error, is given for them even where the fallback is poor, because the
#: alternative is a component missing from a total. For the others (CDN, inter-region
#: transfer) a poor fallback is not applied.
ENGINE_FAMILIES = frozenset({F.DATABASE, F.DATABASE_STORAGE, F.CACHE, F.LOAD_BALANCER,
                             F.NAT_GATEWAY, F.BLOCK_STORAGE, F.OBJECT_STORAGE, F.EGRESS,
                             F.KUBERNETES, F.COMPUTE, F.WAF, F.KEY_MANAGEMENT})

#: Which cells R1 fills: (provider, product family) -> "all" (every covered region) or
#: "holes" (a region where the same SKU is priced for another variant, or was refused:
#: offered there, its price absent from the sources).
DERIVE: dict[tuple[Provider, ProductFamily], str] = {
    (Provider.AZURE, F.COMPUTE): "holes",
    (Provider.AWS, F.DATABASE): "holes",
    (Provider.AZURE, F.DATABASE): "all", (Provider.GCP, F.DATABASE): "all",
    (Provider.AZURE, F.DATABASE_STORAGE): "all", (Provider.GCP, F.DATABASE_STORAGE): "all",
    (Provider.AZURE, F.CACHE): "all", (Provider.GCP, F.CACHE): "all",
    (Provider.AWS, F.NAT_GATEWAY): "all", (Provider.AZURE, F.NAT_GATEWAY): "all",
    (Provider.GCP, F.NAT_GATEWAY): "all",
    (Provider.AWS, F.BLOCK_STORAGE): "all", (Provider.AZURE, F.BLOCK_STORAGE): "all",
    (Provider.AZURE, F.OBJECT_STORAGE): "all",
    # Cloud Storage's classes are listed in every covered region; Nearline's retrieval fee
    # is recorded for us-central1 only
    (Provider.GCP, F.OBJECT_STORAGE): "all",
    (Provider.AZURE, F.EGRESS): "all", (Provider.GCP, F.EGRESS): "all",
    (Provider.AZURE, F.LOAD_BALANCER): "all", (Provider.GCP, F.LOAD_BALANCER): "all",
    (Provider.AZURE, F.KUBERNETES): "all",
    # Application Gateway WAF_v2 and Key Vault operations are recorded for eastus only
    (Provider.AZURE, F.WAF): "all", (Provider.AZURE, F.KEY_MANAGEMENT): "all",
    # No (AZURE, CDN): Azure CDN is listed in every covered region (by billing zone), and a
    # tier the pricing page leaves to "contact us" (Zone 5 above 500 TB) stays unpriced.
    # Cloud CDN cache fill is listed for North America and Europe only; other regions take
    # it by the Cloud CDN prices listed in both (cache egress tiers and lookups)
    (Provider.GCP, F.CDN): "all",
}


@dataclass
class Accuracy:
    """Leave-one-out errors of one rule on one group of list prices (absolute %)."""

    rule: str
    group: str
    errors_pct: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.errors_pct)

    @property
    def median_pct(self) -> float:
        return statistics.median(self.errors_pct) if self.errors_pct else float("nan")

    @property
    def p90_pct(self) -> float:
        if not self.errors_pct:
            return float("nan")
        ordered = sorted(self.errors_pct)
        return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]

    @property
    def poor(self) -> bool:
        return self.n > 0 and self.p90_pct > POOR_P90_PCT


@dataclass
class Derivation:
    rows: list[PriceRow]
    accuracy: list[Accuracy]
    #: Product families R1's compute fallback was not applied to, and why.
    withheld: list[str]


def price_key(row: PriceRow) -> tuple[Any, ...]:
    """A price across regions: provider, service, family, sku, option, variant, tier."""
    return (row.provider, row.service, row.product_family, row.sku, row.purchase_option,
            row.variant, row.tier_start)


def ratio_families(row: PriceRow) -> list[tuple[Any, ...]]:
    """The ratio families of a price, narrowest first.

    Machines: the provider's machine family (series). Other prices: the same
    service, product family and engine within one instance family (RDS
    PostgreSQL db.m6g), then the whole service and engine (RDS PostgreSQL).
    """
    a = row.attributes
    if row.product_family is F.COMPUTE:
        return [(row.provider, "compute", str(a.get("series") or a.get("family", "")))]
    service = (row.provider, row.service, row.product_family, str(a.get("engine", "")))
    return [(*service, str(a["family"])), service] if a.get("family") else [service]


def family_label(key: tuple[Any, ...]) -> str:
    return " ".join(str(getattr(k, "value", k)) for k in key[1:] if k)


class _Index:
    """List on-demand prices by ratio family and region, for ratios."""

    def __init__(self, rows: Iterable[PriceRow]) -> None:
        self.by_key: dict[tuple[Any, ...], dict[str, PriceRow]] = defaultdict(dict)
        self.families: dict[tuple[Any, ...], set[tuple[Any, ...]]] = defaultdict(set)
        for row in rows:
            if row.basis is Basis.LIST and row.purchase_option is PurchaseOption.ON_DEMAND:
                self.by_key[price_key(row)][row.region] = row
                for family in ratio_families(row):
                    self.families[family].add(price_key(row))

    def ratio(self, family: tuple[Any, ...], r: str, ref: str,
              skip: tuple[Any, ...] | None = None) -> tuple[float, list[PriceRow]] | None:
        """Median r/ref over the family's keys listed in both; None under MIN_PAIRS."""
        pairs = []
        for key in sorted(self.families.get(family, ()), key=repr):
            if key == skip:
                continue
            by_region = self.by_key[key]
            if r in by_region and ref in by_region:
                pairs.append((by_region[r], by_region[ref]))
        if len(pairs) < MIN_PAIRS:
            return None
        return (statistics.median(a.price_usd / b.price_usd for a, b in pairs),
                [row for pair in pairs for row in pair])

    def compute_ratio(self, provider: Provider, r: str, ref: str
                      ) -> tuple[float, list[PriceRow]] | None:
        return self.ratio((provider, "compute", GENERAL_PURPOSE[provider]), r, ref)


def derive(rows: list[PriceRow], refused: Iterable[tuple[Any, ...]] = (),
           reference: Iterable[PriceRow] = ()) -> Derivation:
    """Derived rows for the cells ``DERIVE`` names that have no list price, and accuracy.

    ``reference`` holds list prices in regions outside the catalog (``recorded.
    REFERENCE_ONLY_REGIONS``): usable as a reference region, never derived into.
    """
    reference = list(reference)
    index = _Index([*rows, *reference])
    accuracy = measure_region_ratio(index) + measure_commitment_ratio([*rows, *reference])
    fallback = {a.group: a for a in accuracy if a.rule == "R1 compute fallback"}
    withheld = sorted(g for g, a in fallback.items()
                      if a.poor and ProductFamily(g) not in ENGINE_FAMILIES)
    listed = {(price_key(r), r.region) for r in rows}
    sold = {(r.provider.value, r.sku.lower(), r.region) for r in rows if r.basis is Basis.LIST}
    sold |= set(refused)  # a refused price is a wrong price for a size that is sold there
    derived: list[PriceRow] = []
    for key, by_region in sorted(index.by_key.items(), key=lambda kv: repr(kv[0])):
        provider, family = key[0], key[2]
        scope = DERIVE.get((provider, family))
        if scope is None:
            continue
        sample = next(iter(by_region.values()))
        for region in (r.code for r in regions_of(provider)):
            if (key, region) in listed:
                continue
            if scope == "holes" and (provider.value, key[3].lower(), region) not in sold:
                continue
            row = _derive_r1(index, key, sample, region, fallback.get(family.value),
                             family.value in withheld)
            if row is not None:
                derived.append(row)
                listed.add((key, region))
    r2_fallback = {a.group: (a.median_pct, a.p90_pct) for a in accuracy
                   if a.rule == "R2 family fallback"}
    derived += commitments.derive_commitments(rows, reference, listed, r2_fallback)
    # R3 after R1: a series priced in a region (listed or by R1) gives its other sizes there
    derived += vcores.derive_sizes([*rows, *derived])
    accuracy += measure_vcore_scaling([*rows, *reference])
    return Derivation(derived, accuracy, withheld)


def _derive_r1(index: _Index, key: tuple[Any, ...], sample: PriceRow, region: str,
               fallback: Accuracy | None, fallback_withheld: bool) -> PriceRow | None:
    provider = key[0]
    by_region = index.by_key[key]
    refs = [REFERENCE[provider]] + [r.code for r in regions_of(provider)
                                    if r.code != REFERENCE[provider]] \
        + list(REFERENCE_ONLY_REGIONS.get(provider, ()))
    for ref in (r for r in refs if r in by_region and r != region):
        base = by_region[ref]
        found, how, name = None, "", "region ratio"
        for family in ratio_families(sample):
            found = index.ratio(family, region, ref)
            if found is not None:
                how = f"{family_label(family)} ({{n}} prices listed in both)"
                break
        if found is None:
            if fallback_withheld:
                continue
            found = index.compute_ratio(provider, region, ref)
            measured = ("" if fallback is None else
                        f"; this fallback's leave-one-out error for {fallback.group}: median "
                        f"{fallback.median_pct:.1f}%, p90 {fallback.p90_pct:.1f}%"
                        + (", poor" if fallback.poor else ""))
            how = (f"{GENERAL_PURPOSE[provider]} on-demand ({{n}} sizes listed in both; no "
                   f"{family_label(ratio_families(sample)[-1])} price is listed in both "
                   f"{region} and {ref}{measured})")
            name = "region ratio, compute fallback"
        if found is None:
            continue
        ratio, inputs = found
        how = how.format(n=len(inputs) // 2)
        price = round(base.price_usd * ratio, 6)
        rule = (f"{name}: {ref} price {base.price_usd:g} x {region}/{ref} ratio {ratio:.4f} "
                f"of {how}")
        return base.with_price(price, region=region, basis=Basis.DERIVED, rule=rule,
                               as_of=min([base.as_of, *(r.as_of for r in inputs)]),
                               source=_sources([base, *inputs]))
    return None


def _sources(rows: list[PriceRow]) -> str:
    names = sorted({r.source for r in rows})
    return "derived from: " + "; ".join(names)


def measure_region_ratio(index: _Index) -> list[Accuracy]:
    """R1 leave-one-out, by (provider, product family): the service ratio and the fallback."""
    own: dict[str, Accuracy] = {}
    fallback: dict[str, Accuracy] = {}
    compute_ratios: dict[tuple[Provider, str], tuple[float, list[PriceRow]] | None] = {}
    for key, by_region in sorted(index.by_key.items(), key=lambda kv: repr(kv[0])):
        provider, family = key[0], key[2]
        ref = REFERENCE[provider]
        if ref not in by_region:
            continue
        sample = by_region[ref]
        group = f"{provider.value} {family.value}"
        for region, actual in sorted(by_region.items()):
            if region == ref:
                continue
            found = None
            for family_key in ratio_families(sample):
                found = index.ratio(family_key, region, ref, skip=key)
                if found is not None:
                    break
            if found is not None:
                own.setdefault(group, Accuracy("R1 region ratio", group)).errors_pct.append(
                    _err(by_region[ref].price_usd * found[0], actual.price_usd))
            if ratio_families(sample)[-1] != (provider, "compute", GENERAL_PURPOSE[provider]):
                if (provider, region) not in compute_ratios:
                    compute_ratios[(provider, region)] = index.compute_ratio(provider, region,
                                                                             ref)
                comp = compute_ratios[(provider, region)]
                if comp is not None:
                    fallback.setdefault(family.value, Accuracy(
                        "R1 compute fallback", family.value)).errors_pct.append(
                        _err(by_region[ref].price_usd * comp[0], actual.price_usd))
    return [own[k] for k in sorted(own)] + [fallback[k] for k in sorted(fallback)]


def measure_commitment_ratio(rows: Iterable[PriceRow]) -> list[Accuracy]:
    """R2 leave-one-out per (provider, service, option): as applied, and its family fallback."""
    return [Accuracy(rule, group, errors) for rule, group, errors in commitments.measure(rows)]


def measure_vcore_scaling(rows: Iterable[PriceRow]) -> list[Accuracy]:
    """R3 leave-one-out over the listed sizes of each flexible-server series."""
    accuracy = Accuracy(vcores.RULE, ProductFamily.DATABASE.value,
                        [_err(p, a) for p, a in vcores.predictions(rows)])
    return [accuracy] if accuracy.n else []


def _err(predicted: float, actual: float) -> float:
    return abs(predicted - actual) / actual * 100
