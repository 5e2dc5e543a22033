"""Rule R3, vCore scaling: an Azure flexible-server size from a priced size of its series.

Azure Database for PostgreSQL and for MySQL flexible servers bill compute by the vCore:
a series (Dsv3, Esv3, Ddsv4, Edsv4, Ddsv5) has one price a vCore-hour in a region, and a
size costs its vCores times it. infracost's golden files (westus) show it: PostgreSQL
GP_Standard_D4s_v3 $284.70 and D16s_v3 $1,138.80 a month, MySQL D4ds_v4 $284.70 and
D16ds_v4 $1,138.80, $0.0975 a vCore-hour each. The sources list a few sizes, so a database
needing more than the largest listed one (64 GiB) was designed self-managed on Azure, with
the compliance gaps of a self-managed database: a catalog hole turned into gaps.

So each size of ``SIZES`` that no source lists is derived, in every region where a size of
its series, service and engine is priced (a list price, or R1's), as that price / its
vCores x the size's vCores; a list price is preferred as the base. The sizes and their
memory are the Azure VM sizes of each series (learn.microsoft.com/azure/virtual-machines/
sizes: Dv3/Dsv3, Ev3/Esv3, Ddv4/Ddsv4, Edv4/Edsv4, Ddv5/Ddsv5), offered by flexible
server in its General Purpose (D) and Memory Optimized (E) tiers (learn.microsoft.com/azure/
postgresql/flexible-server/concepts-compute, .../mysql/flexible-server/concepts-service-tiers-
storage). ``predictions`` runs the rule leave-one-out over listed sizes of a series.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from infra_mind.catalog.model import Basis, PriceRow, ProductFamily, Provider, PurchaseOption

#: The flexible-server services the rule applies to.
SERVICES = frozenset({"Azure Database for PostgreSQL", "Azure Database for MySQL"})
#: Series -> (vCPUs, memory GiB) of each size, and how a size's SKU is written.
SIZES: dict[str, tuple[str, tuple[tuple[int, float], ...]]] = {
    "Dsv3": ("Standard_D{n}s_v3", ((2, 8), (4, 16), (8, 32), (16, 64), (32, 128), (48, 192),
                                   (64, 256))),
    "Esv3": ("Standard_E{n}s_v3", ((2, 16), (4, 32), (8, 64), (16, 128), (20, 160),
                                   (32, 256), (48, 384), (64, 432))),
    "Ddsv4": ("Standard_D{n}ds_v4", ((2, 8), (4, 16), (8, 32), (16, 64), (32, 128),
                                     (48, 192), (64, 256))),
    "Edsv4": ("Standard_E{n}ds_v4", ((2, 16), (4, 32), (8, 64), (16, 128), (20, 160),
                                     (32, 256), (48, 384), (64, 504))),
    "Ddsv5": ("Standard_D{n}ds_v5", ((2, 8), (4, 16), (8, 32), (16, 64), (32, 128),
                                     (48, 192), (64, 256))),
}
_SKU = re.compile(r"^Standard_([DE])(\d+)(s_v3|ds_v4|ds_v5)$")
_SERIES = {("D", "s_v3"): "Dsv3", ("E", "s_v3"): "Esv3", ("D", "ds_v4"): "Ddsv4",
           ("E", "ds_v4"): "Edsv4", ("D", "ds_v5"): "Ddsv5"}
RULE = "R3 vCore scaling"


def series_of(row: PriceRow) -> str | None:
    """The flexible-server series of a database row, or None."""
    if (row.provider is not Provider.AZURE or row.product_family is not ProductFamily.DATABASE
            or row.service not in SERVICES
            or row.purchase_option is not PurchaseOption.ON_DEMAND):
        return None
    m = _SKU.match(row.sku)
    return _SERIES.get((m.group(1), m.group(3))) if m else None


def _group(row: PriceRow) -> tuple[str, str, str, str]:
    return (row.service, str(row.attributes.get("engine", "")),
            str(row.attributes.get("deployment", "")), row.region)


def _base_rank(row: PriceRow) -> tuple[bool, float, str]:
    """Which priced size a series' others are derived from: a list price before a derived
    one, then the most vCores, then the SKU (stable)."""
    return row.basis is Basis.LIST, float(row.attributes.get("vcpu", 0)), row.sku


def derive_sizes(rows: Iterable[PriceRow]) -> list[PriceRow]:
    """The sizes of ``SIZES`` missing where a size of their series is priced."""
    bases: dict[tuple[tuple[str, str, str, str], str], PriceRow] = {}
    present: set[tuple[tuple[str, str, str, str], str]] = set()
    for row in rows:
        series = series_of(row)
        if series is None:
            continue
        key = (_group(row), series)
        present.add((_group(row), row.sku))
        best = bases.get(key)
        if best is None or _base_rank(row) > _base_rank(best):
            bases[key] = row
    out: list[PriceRow] = []
    for (group, series), base in sorted(bases.items(), key=lambda kv: repr(kv[0])):
        pattern, sizes = SIZES[series]
        per_vcore = base.price_usd / float(base.attributes["vcpu"])
        for vcpu, memory in sizes:
            sku = pattern.format(n=vcpu)
            if (group, sku) in present:
                continue
            how = (f"vCore scaling: {base.sku} {base.region} price {base.price_usd:g} "
                   f"({base.basis.value}) / {base.attributes['vcpu']:g} vCores x {vcpu}")
            if base.rule:
                how += f"; that price by {base.rule}"
            out.append(base.with_price(
                round(per_vcore * vcpu, 6), sku=sku, basis=Basis.DERIVED, rule=how,
                attributes={**base.attributes, "vcpu": vcpu, "memory_gib": memory},
                source=base.source if base.basis is Basis.DERIVED
                else f"derived from: {base.source}"))
    return out


def predictions(rows: Iterable[PriceRow]) -> list[tuple[float, float]]:
    """Leave-one-out over listed sizes, as (predicted, listed) pairs: each listed size
    predicted from every other listed size of its series, service, engine and region."""
    by_group: dict[tuple[tuple[str, str, str, str], str], list[PriceRow]] = defaultdict(list)
    for row in rows:
        series = series_of(row)
        if series is not None and row.basis is Basis.LIST:
            by_group[(_group(row), series)].append(row)
    out = []
    for listed in by_group.values():
        for hidden in listed:
            for other in listed:
                if other is not hidden:
                    out.append((other.price_usd / float(other.attributes["vcpu"])
                                * float(hidden.attributes["vcpu"]), hidden.price_usd))
    return out
