"""Commitment analysis: an option's machines under each purchase option the catalog prices.

Only compute rows carry spot and commitment prices. Lines the catalog cannot
price under an option stay at on-demand, and ``coverage_pct`` says how much of
the on-demand machine cost the option could price. Spot prices only
interruptible lines (workers marked interruptible, training).
"""

from __future__ import annotations

import math

from infra_mind.catalog.model import ProductFamily, PurchaseOption
from infra_mind.catalog.store import Catalog
from infra_mind.engine.design import OptionDesign
from infra_mind.engine.pricing import money
from infra_mind.engine.result import CommitmentOption

TERM_MONTHS = {PurchaseOption.RESERVED_1Y: 12, PurchaseOption.RESERVED_3Y: 36,
               PurchaseOption.SAVINGS_PLAN_1Y: 12, PurchaseOption.SAVINGS_PLAN_3Y: 36}
_ELIGIBLE_KINDS = ("compute", "gpu", "database", "cache")


def _compute_price(catalog: Catalog, provider: str, sku: str, region: str,
                   option: PurchaseOption) -> float | None:
    rows = [r for r in catalog.lookup(provider, sku, region, option)
            if r.product_family is ProductFamily.COMPUTE]
    return rows[0].price_usd if rows else None


def analyse(catalog: Catalog, design: OptionDesign) -> list[CommitmentOption]:
    """On-demand, then every purchase option with at least one priced line."""
    p, r = design.provider, design.region.code
    eligible = []
    for pl in design.lines:
        if pl.kind not in _ELIGIBLE_KINDS or pl.item.unit != "hour":
            continue
        od = _compute_price(catalog, p, pl.item.sku, r, PurchaseOption.ON_DEMAND)
        if od is None:
            continue
        eligible.append((pl, od))
    total = design.monthly_usd
    # the design as it would cost with every eligible line on demand
    base = total - sum(pl.item.monthly_usd - money(pl.item.quantity * od) for pl, od in eligible)
    od_compute = sum(money(pl.item.quantity * od) for pl, od in eligible)
    out = [CommitmentOption(purchase_option="on_demand", monthly_usd=money(base),
                            savings_usd=0.0, savings_pct=0.0,
                            coverage_pct=100.0 if eligible else 0.0,
                            note="every machine on demand")]
    if not eligible:
        return out
    for option in (PurchaseOption.RESERVED_1Y, PurchaseOption.RESERVED_3Y,
                   PurchaseOption.SAVINGS_PLAN_1Y, PurchaseOption.SAVINGS_PLAN_3Y,
                   PurchaseOption.SPOT):
        covered_od = 0.0
        saved = 0.0
        committed = 0.0
        for pl, od in eligible:
            if option is PurchaseOption.SPOT and not pl.interruptible:
                continue
            price = _compute_price(catalog, p, pl.item.sku, r, option)
            if price is None:
                continue
            covered_od += money(pl.item.quantity * od)
            committed += money(pl.item.quantity * price)
            saved += money(pl.item.quantity * od) - money(pl.item.quantity * price)
        if covered_od == 0:
            continue
        term = TERM_MONTHS.get(option)
        break_even = (math.ceil(term * committed / covered_od) if term else None)
        note = ("interruptible lines only" if option is PurchaseOption.SPOT else
                f"{term}-month term paid monthly; break-even: the commitment costs as much as "
                f"{break_even} months on demand")
        out.append(CommitmentOption(
            purchase_option=option.value, monthly_usd=money(base - saved),
            savings_usd=money(saved), savings_pct=round(saved / base * 100, 1) if base else 0.0,
            coverage_pct=round(covered_od / od_compute * 100, 1),
            break_even_month=break_even, note=note))
    return out
