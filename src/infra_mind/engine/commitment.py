"""Commitment analysis: an option's machines under each purchase option the catalog prices.

Every line priced per hour for machines, managed databases or cache nodes is repriced
under each purchase option its product (same family and variant: a database's engine
and deployment) has in the catalog, list or derived. A commitment bills every hour of
its term, so it covers only the instance-hours that run all month (an autoscaled fleet's
floor, never its peak hours nor a training run's hours). Spot prices only interruptible
lines (workers marked interruptible, training). Lines the catalog cannot price under an
option stay on demand, and ``coverage_pct`` says how much of the on-demand cost the
option could price.

``comparison_terms`` says where the options of one assessment are priced on different
purchase terms, so a comparison never passes off spot against on demand unnoticed.
"""

from __future__ import annotations

import math

from infra_mind.catalog.model import PriceRow, PurchaseOption
from infra_mind.catalog.store import Catalog
from infra_mind.engine.money import listing, usd
from infra_mind.engine.option import OptionDesign, PricedLine, counterpart
from infra_mind.engine.pricing import money, price_basis
from infra_mind.engine.result import CommitmentOption

TERM_MONTHS = {PurchaseOption.RESERVED_1Y: 12, PurchaseOption.RESERVED_3Y: 36,
               PurchaseOption.SAVINGS_PLAN_1Y: 12, PurchaseOption.SAVINGS_PLAN_3Y: 36}
_ELIGIBLE_KINDS = ("compute", "gpu", "database", "cache")
_OPTIONS = (PurchaseOption.RESERVED_1Y, PurchaseOption.RESERVED_3Y,
            PurchaseOption.SAVINGS_PLAN_1Y, PurchaseOption.SAVINGS_PLAN_3Y, PurchaseOption.SPOT)


def _on_demand(catalog: Catalog, pl: PricedLine) -> PriceRow | None:
    if pl.row is None:
        return None
    if pl.row.purchase_option is PurchaseOption.ON_DEMAND:
        return pl.row
    return counterpart(catalog, pl.row, PurchaseOption.ON_DEMAND)


def analyse(catalog: Catalog, design: OptionDesign) -> list[CommitmentOption]:
    """On-demand, then every purchase option with at least one priced line."""
    eligible: list[tuple[PricedLine, PriceRow]] = []
    for pl in design.lines:
        if pl.kind not in _ELIGIBLE_KINDS or pl.item.unit != "hour":
            continue
        od = _on_demand(catalog, pl)
        if od is not None:
            eligible.append((pl, od))
    total = design.monthly_usd
    # the design as it would cost with every eligible line on demand
    base = total - sum(pl.item.monthly_usd - money(pl.item.quantity * od.price_usd)
                       for pl, od in eligible)
    od_compute = sum(money(pl.item.quantity * od.price_usd) for pl, od in eligible)
    out = [CommitmentOption(purchase_option="on_demand", monthly_usd=money(base),
                            savings_usd=0.0, savings_pct=0.0,
                            coverage_pct=100.0 if eligible else 0.0,
                            note="every machine on demand")]
    if not eligible:
        return out
    for option in _OPTIONS:
        covered_od = saved = committed = 0.0
        bases: set[str] = set()
        # held all month, but the catalog has no price for it under this option
        uncovered: dict[tuple[str, str], float] = {}
        for pl, od in eligible:
            if option is PurchaseOption.SPOT:
                if not pl.interruptible:
                    continue
                hours = pl.item.quantity
            elif pl.row is not None and pl.row.purchase_option is PurchaseOption.SPOT:
                continue  # interruptible work already on spot stays there: no term on it
            else:
                hours = min(pl.always_on_hours, pl.item.quantity)
            if hours <= 0:
                continue
            row = counterpart(catalog, od, option)
            if row is None:
                if option is not PurchaseOption.SPOT:
                    key = (od.sku, pl.item.workload)
                    uncovered[key] = uncovered.get(key, 0.0) + money(hours * od.price_usd)
                continue
            bases.add(price_basis(row))
            covered_od += money(hours * od.price_usd)
            committed += money(hours * row.price_usd)
            saved += money(hours * od.price_usd) - money(hours * row.price_usd)
        if covered_od == 0:
            continue
        term = TERM_MONTHS.get(option)
        break_even = (math.ceil(term * committed / covered_od) if term else None)
        note = ("interruptible lines only" if option is PurchaseOption.SPOT else
                f"{term}-month term paid monthly, on the instance-hours that run all month; "
                f"break-even: the commitment costs as much as {break_even} months on demand")
        basis = "mixed" if len(bases) > 1 else bases.pop()
        if basis != "list":
            note += "; includes derived prices (see the catalog's rule for each)"
        left = [f"{sku} ({workload}, {usd(amount)} a month held all month)"
                for (sku, workload), amount in uncovered.items()]
        if left:
            # a GPU floor left out of a 3.6% coverage had read as if nothing more could be
            # committed
            note += ("; left on demand, as the catalog has no price for them on this term: "
                     + listing(left))
        out.append(CommitmentOption(
            purchase_option=option.value, monthly_usd=money(base - saved),
            savings_usd=money(saved), savings_pct=round(saved / base * 100, 1) if base else 0.0,
            coverage_pct=round(covered_od / od_compute * 100, 1),
            break_even_month=break_even, note=note, price_basis=basis, left_on_demand=left))
    return out


def uncommitted(catalog: Catalog, design: OptionDesign) -> list[tuple[str, str, float]]:
    """The lines held all month that the catalog prices under no 1- or 3-year term (AWS
    GPU machines: no reserved rate is listed, and the commitment ratio is not carried to
    them), each as (sku, workload, the on-demand cost of those hours a month): the saving
    a commitment is said to bring leaves them out."""
    out: dict[tuple[str, str], float] = {}
    for pl in design.lines:
        if (pl.kind not in _ELIGIBLE_KINDS or pl.item.unit != "hour" or pl.row is None
                or pl.row.purchase_option is PurchaseOption.SPOT):
            continue
        hours = min(pl.always_on_hours, pl.item.quantity)
        od = _on_demand(catalog, pl)
        if hours <= 0 or od is None or any(counterpart(catalog, od, option) is not None
                                           for option in TERM_MONTHS):
            continue
        key = (od.sku, pl.item.workload)
        out[key] = out.get(key, 0.0) + money(hours * od.price_usd)
    return [(sku, workload, amount) for (sku, workload), amount in out.items()]


def comparison_terms(designs: list[OptionDesign]) -> list[str]:
    """One warning per workload the options price on different purchase terms.

    Each option prices the requested commitment, or spot for interruptible work, where
    its catalog has the price; where one provider lacks it, that option is on demand for
    the workload and the comparison is not like for like: this says so.
    """
    by_workload: dict[str, dict[str, str]] = {}
    for d in designs:
        for workload, term in d.purchase_terms.items():
            by_workload.setdefault(workload, {})[f"{d.provider} {d.region.code}"] = term
    out = []
    for workload, terms in by_workload.items():
        if len(set(terms.values())) > 1:
            listed = "; ".join(f"{where}: {term}" for where, term in terms.items())
            out.append(f"{workload} is priced on different purchase terms across the options "
                       f"({listed}): the catalog lacks the requested term where it differs")
    return out
