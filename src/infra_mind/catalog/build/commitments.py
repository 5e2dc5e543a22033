"""Rule R2, commitment ratio: a machine's 1- or 3-year rate from its on-demand list price.

Where a provider lists commitment rates for a few machines only (AWS Reserved
Instances, Azure Reserved VM Instances), a machine's missing rate is its on-demand
list price times a committed/on-demand ratio taken from the listed points of the
same provider, service and term:

* the median ratio of the points of the machine's own family (Azure: its series),
  where at least ``MIN_POINTS`` are listed;
* otherwise the median of the listed families' median ratios (each family counts
  once, so a type listed in fifteen regions does not outvote the others).

Points may come from regions outside the catalog (``recorded.REFERENCE_ONLY_REGIONS``):
Azure's only listed reservation rates are polandcentral's. Ratios are never taken
across providers. ``measure`` runs both branches leave-one-out against the points.
GCP lists every machine's committed use price, so R2 never runs for it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from infra_mind.catalog.model import (
    Basis,
    PriceRow,
    ProductFamily,
    Provider,
    PurchaseOption,
)

F = ProductFamily
COMMITMENTS = (PurchaseOption.RESERVED_1Y, PurchaseOption.RESERVED_3Y)
#: A family's own ratio needs at least this many listed points; R2 runs for a term with as
#: many, and is measured with one more.
MIN_POINTS = 2


@dataclass(frozen=True)
class Product:
    """What R2 derives for one provider: the service, what its points are, the label."""

    service: str
    points_are: str
    commitment: str


PRODUCTS = {
    Provider.AWS: Product("AmazonEC2", "EC2 Standard RI no-upfront",
                          "EC2 Standard Reserved Instance, no upfront (effective hourly "
                          "rate)"),
    Provider.AZURE: Product("Virtual Machines", "Azure Reserved VM Instance",
                            "Azure Reserved VM Instance, Linux (effective hourly rate)"),
}

Point = tuple[PriceRow, PriceRow]  # (committed list row, the same machine's on-demand list row)


def machine_family(row: PriceRow) -> str:
    """The family whose points a machine takes its ratio from (Azure: the exact series)."""
    return str(row.attributes.get("series") or row.attributes.get("family", ""))


def commitment_points(rows: Iterable[PriceRow]) -> dict[tuple[Any, ...], list[Point]]:
    """(provider, service, option) -> the listed commitment rows with their on-demand rows."""
    rows = list(rows)
    od = {(r.provider, r.sku, r.region): r for r in rows if r.basis is Basis.LIST
          and r.product_family is F.COMPUTE and r.purchase_option is PurchaseOption.ON_DEMAND}
    points: dict[tuple[Any, ...], list[Point]] = defaultdict(list)
    for r in rows:
        if r.basis is Basis.LIST and r.product_family is F.COMPUTE \
                and r.purchase_option in COMMITMENTS and (r.provider, r.sku, r.region) in od:
            points[(r.provider, r.service, r.purchase_option)].append(
                (r, od[(r.provider, r.sku, r.region)]))
    return points


@dataclass(frozen=True)
class Ratio:
    value: float
    inputs: list[PriceRow]
    how: str
    fallback: bool


class Ratios:
    """The committed/on-demand ratios of one (provider, service, term)'s listed points."""

    def __init__(self, points: list[Point], what: str) -> None:
        self.what = what
        self.points: dict[str, list[Point]] = defaultdict(list)
        for p in points:
            self.points[machine_family(p[0])].append(p)
        self.sorted = {f: sorted(_ratio(p) for p in ps) for f, ps in self.points.items()}
        self.median = {f: statistics.median(rs) for f, rs in self.sorted.items()}

    def value(self, family: str, skip: Point | None = None,
              force_fallback: bool = False) -> tuple[float, bool] | None:
        """(ratio, whether the family fallback gave it); ``skip`` leaves one point out."""
        own = list(self.sorted.get(family, []))
        if skip is not None and machine_family(skip[0]) == family:
            own.remove(_ratio(skip))
        if len(own) >= MIN_POINTS and not force_fallback:
            return statistics.median(own), False
        medians = [m for f, m in self.median.items() if f != family]
        if own and not force_fallback:
            medians.append(statistics.median(own))
        return (statistics.median(medians), True) if medians else None

    def ratio(self, family: str) -> Ratio | None:
        """The ratio a machine of ``family`` takes, with its inputs and how it was found."""
        found = self.value(family)
        if found is None:
            return None
        value, fallback = found
        if not fallback:
            own = self.points[family]
            return Ratio(value, _rows(own), f"median of {len(own)} listed {self.what} rates "
                                            f"of {family} in {_regions(own)}", False)
        used = [p for ps in self.points.values() for p in ps]
        families = sorted(self.points)
        named = f" ({', '.join(families)})" if len(families) <= 5 else ""
        return Ratio(value, _rows(used),
                     f"median of the median {self.what} rates of {len(families)} listed "
                     f"families{named} in {_regions(used)}; {family} has "
                     f"{len(self.points.get(family, []))} listed", True)


def _regions(points: list[Point]) -> str:
    """The points' regions, named where they are few (every derived row stores its rule)."""
    regions = sorted({c.region for c, _ in points})
    return ", ".join(regions) if len(regions) <= 3 else f"{len(regions)} regions"


def _ratio(point: Point) -> float:
    return point[0].price_usd / point[1].price_usd


def _rows(points: list[Point]) -> list[PriceRow]:
    return [row for pair in points for row in pair]


def derive_commitments(rows: list[PriceRow], reference: Iterable[PriceRow],
                       listed: set[tuple[Any, ...]],
                       fallback_error: dict[str, tuple[float, float]]) -> list[PriceRow]:
    """R2 rows for the AWS and Azure machines with an on-demand list price and no listed term.

    ``fallback_error`` gives (median, p90) of the family fallback's measured error by
    accuracy group; a rate derived by the fallback states it.
    """
    points = commitment_points([*rows, *reference])
    out = []
    for provider, product in PRODUCTS.items():
        for option in COMMITMENTS:
            pts = points.get((provider, product.service, option), [])
            if len(pts) < MIN_POINTS:
                continue
            group = f"{provider.value} {product.service} {option.value}"
            out += _derive_one(rows, listed, provider, product, option,
                               Ratios(pts, product.points_are), fallback_error.get(group))
    return out


def _derive_one(rows: list[PriceRow], listed: set[tuple[Any, ...]], provider: Provider,
                product: Product, option: PurchaseOption, ratios: Ratios,
                measured: tuple[float, float] | None) -> list[PriceRow]:
    out = []
    for row in sorted(rows, key=lambda r: (r.sku, r.region)):
        if (row.provider is not provider or row.service != product.service
                or row.product_family is not F.COMPUTE
                or row.purchase_option is not PurchaseOption.ON_DEMAND
                or row.basis is not Basis.LIST or row.is_gpu):
            continue
        cell = ((row.provider, row.service, row.product_family, row.sku, option,
                 row.variant, row.tier_start), row.region)
        if cell in listed:
            continue
        ratio = ratios.ratio(machine_family(row))
        if ratio is None:
            continue
        how = ratio.how
        if ratio.fallback and measured is not None:
            how += (f"; this fallback's leave-one-out error: median {measured[0]:.1f}%, "
                    f"p90 {measured[1]:.1f}%")
        rule = (f"commitment ratio: on-demand {row.price_usd:g} x {option.value}/on-demand "
                f"ratio {ratio.value:.4f} ({how})")
        out.append(row.with_price(
            round(row.price_usd * ratio.value, 6), purchase_option=option,
            basis=Basis.DERIVED, rule=rule,
            attributes={**row.attributes, "commitment": product.commitment},
            as_of=min([row.as_of, *(r.as_of for r in ratio.inputs)]),
            source="derived from: " + "; ".join(sorted({r.source for r in
                                                        [row, *ratio.inputs]}))))
        listed.add(cell)
    return out


def measure(rows: Iterable[PriceRow]) -> list[tuple[str, str, list[float]]]:
    """Leave-one-out errors (absolute %) of R2 as applied and of its family fallback.

    Returns (rule, group, errors) for every (provider, service, option) with at least
    ``MIN_POINTS`` + 1 listed points. As applied: each point hidden, its ratio taken
    from the rest by the rule. Family fallback: each point's ratio from the other
    families only, as a machine of an unlisted family gets it.
    """
    out = []
    for (provider, service, option), pts in sorted(commitment_points(rows).items(),
                                                   key=lambda kv: repr(kv[0])):
        if len(pts) < MIN_POINTS + 1:
            continue
        group = f"{provider.value} {service} {option.value}"
        ratios = Ratios(pts, "")
        applied, fallback = [], []
        for p in pts:
            for errors, force in ((applied, False), (fallback, True)):
                found = ratios.value(machine_family(p[0]), skip=p, force_fallback=force)
                if found is not None:
                    errors.append(abs(p[1].price_usd * found[0] - p[0].price_usd)
                                  / p[0].price_usd * 100)
        out.append(("R2 commitment ratio", group, applied))
        if fallback:
            out.append(("R2 family fallback", group, fallback))
    return out
