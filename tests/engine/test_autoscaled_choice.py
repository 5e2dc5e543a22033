"""The autoscaled fleet is chosen on the bill it will have: under a commitment the floor is
committed and the peak on demand (``compute._autoscaled_lines``).

Found by tests/engine/test_properties.py (cost fell as the availability target rose): at
one required instance the engine ranked machines as if the peak were committed too, and
took an m5a.large floor plus peak ($73.40) over two burstable t3a.large held all month
($68.88), which it then chose at two required instances.
"""

from __future__ import annotations

import pytest

from infra_mind.catalog.model import PurchaseOption
from infra_mind.catalog.store import default_catalog
from infra_mind.engine.burstable import small_load
from infra_mind.engine.option import counterpart
from infra_mind.engine.pricing import (
    HOURS_PER_MONTH,
    autoscaled_counts,
    choose_autoscaled,
    machine_candidates,
)


def bill(catalog, c, floor: int, peak: int, peak_hours: float) -> float:
    on_demand = c.row if c.row.purchase_option is PurchaseOption.ON_DEMAND else \
        counterpart(catalog, c.row, PurchaseOption.ON_DEMAND)
    peak_price = c.price_per_hour if on_demand is None else on_demand.price_usd
    return floor * HOURS_PER_MONTH * c.price_per_hour + (peak - floor) * peak_hours * peak_price


# (1.0, 2.0): ranked with a committed peak, a c6g.medium floor and peak won ($19.65 a
# month billed) over burstable t4g.micro held all month ($19.24)
@pytest.mark.parametrize("vcpu_avg, vcpu_peak", [(1.0, 2.0), (0.9, 2.7), (0.9, 3.1),
                                                 (1.5, 5.0), (0.4, 1.2), (4.0, 16.0)])
@pytest.mark.parametrize("commit", [PurchaseOption.RESERVED_1Y, PurchaseOption.RESERVED_3Y])
def test_the_chosen_fleet_has_the_lowest_bill(commit, vcpu_avg, vcpu_peak):
    catalog = default_catalog()
    candidates = machine_candidates(catalog, "aws", "us-east-1", PurchaseOption.ON_DEMAND,
                                    prefer=commit)
    assert any(c.row.purchase_option is commit for c in candidates)

    def peak_price(c):
        on_demand = counterpart(catalog, c.row, PurchaseOption.ON_DEMAND)
        return c.price_per_hour if on_demand is None else on_demand.price_usd

    peak_hours = 120.0
    choice = choose_autoscaled(candidates, vcpu_peak=vcpu_peak, vcpu_avg=vcpu_avg,
                               memory_per_instance_gib=1.0, min_count=1,
                               peak_hours_per_month=peak_hours, peak_price_per_hour=peak_price)
    assert choice is not None
    chosen = bill(catalog, choice.candidate, choice.floor, choice.peak, peak_hours)
    burstable_ok = small_load(vcpu_avg)
    for c in candidates:
        if c.memory_gib < 1.0 or (c.burst is not None and not burstable_ok):
            continue
        floor, peak = autoscaled_counts(c, vcpu_peak=vcpu_peak, vcpu_avg=vcpu_avg, min_count=1)
        assert chosen <= bill(catalog, c, floor, peak, peak_hours) + 1e-9, (
            choice.candidate.row.sku, c.row.sku)
