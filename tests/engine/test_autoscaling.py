"""Stateless web tiers autoscale: a floor all month, peak capacity for the peak hours
(issue #12, item 4).

Before: a web tier held its peak capacity all 730 hours (47 e2-highcpu-2 all month for a
game API); the line said nothing of minimum, maximum or hours.
"""

import pytest

from infra_mind.catalog.model import PurchaseOption
from infra_mind.engine import projection
from infra_mind.engine.requirements import DEFAULT_PEAK_HOURS_PER_DAY
from infra_mind.engine.sizing import size_all
from tests.engine.rows import catalog, design, lines, network, requirements, vm

#: One ordinary 2-vCPU machine at $0.10 an hour (and a bigger one that never wins).
CAT = catalog(vm("c.large", 2, 4, 0.10), vm("c.xlarge", 4, 8, 0.21), network())


def api(**over):
    # peak 100 rps x 60 ms / 0.6 = 10 vCPU; average 20 rps -> 2 vCPU
    return {"type": "web_service", "peak_rps": 100, "avg_rps": 20, "cpu_ms_per_request": 60,
            "memory_gb": 2, **over}


def test_floor_all_month_and_peak_instances_for_the_peak_hours():
    d = design(CAT, requirements(api(peak_hours_per_day=6), availability_target=99.9))
    (app,) = lines(d, "app servers")
    # floor = max(2 for 99.9, ceil(2 / 2)) = 2; peak = ceil(10 / 2) = 5
    assert (app.instances_min, app.instances_max) == (2, 5)
    peak_hours = 6 * 730 / 24
    assert app.peak_hours_per_month == pytest.approx(peak_hours)
    assert app.quantity == pytest.approx(2 * 730 + 3 * peak_hours)
    assert app.monthly_usd == pytest.approx(app.quantity * 0.10, abs=0.01)
    assert "min 2, max 5" in app.note and "2 x 730 h + 3 x 182.5 h at peak" in app.note
    # before: 5 x 730 h, peak capacity all month
    assert app.quantity < 5 * 730


def test_the_floor_covers_the_average_load_and_the_availability_minimum():
    d = design(CAT, requirements(api(avg_rps=50)))  # 5 vCPU at average, 99.5: minimum 1
    (app,) = lines(d, "app servers")
    assert (app.instances_min, app.instances_max) == (3, 5)


def test_peak_all_day_costs_what_peak_capacity_all_month_did():
    d = design(CAT, requirements(api(peak_hours_per_day=24)))
    (app,) = lines(d, "app servers")
    assert app.quantity == pytest.approx(5 * 730)


def test_default_peak_hours_are_stated_in_the_trace():
    req = requirements(api())
    assert req.workloads[0].peak_hours_per_day == DEFAULT_PEAK_HOURS_PER_DAY == 4
    d = design(CAT, req)
    (app,) = lines(d, "app servers")
    assert app.peak_hours_per_month == pytest.approx(4 * 730 / 24, abs=0.01)
    (demand,) = size_all(req)
    assert any("4 h a day = 4 x 730 / 24 = 121.7 h a month" in t for t in demand.trace)


def test_projection_rescales_floor_and_peak_with_traffic():
    req = requirements(api(), business={"growth_rate_monthly": 0.5, "horizon_months": 3})
    d = design(CAT, req)
    (pl,) = [pl for pl in d.lines if pl.item.component == "app servers"]
    assert pl.part.cost(1, 1.0) == pytest.approx(pl.item.monthly_usd, abs=0.01)
    # traffic x 2.25 in month 3: floor ceil(4.5 / 2) = 3, peak ceil(22.5 / 2) = 12
    hours = 3 * 730 + 9 * (4 * 730 / 24)
    assert pl.part.cost(3, 2.25) == pytest.approx(hours * 0.10, abs=0.01)
    months = projection.project(d, 0.5, 3, "seed")
    assert months[0].monthly_cost_usd == pytest.approx(d.monthly_usd, abs=0.01)
    assert months[2].monthly_cost_usd > months[0].monthly_cost_usd


def test_a_commitment_covers_the_floor_and_the_peak_stays_on_demand():
    reserved = vm("c.large", 2, 4, 0.06, option=PurchaseOption.RESERVED_1Y)
    cat = catalog(vm("c.large", 2, 4, 0.10), reserved, network())
    d = design(cat, requirements(api(), availability_target=99.9,
                                 preferences={"commitment": "1y"}))
    floor, peak = lines(d, "app servers (floor)"), lines(d, "app servers (peak)")
    assert [li.purchase_option for li in floor] == ["reserved_1y"]
    assert [li.purchase_option for li in peak] == ["on_demand"]
    assert floor[0].quantity == 2 * 730 and floor[0].unit_price_usd == 0.06
    assert peak[0].quantity == pytest.approx(3 * 4 * 730 / 24)
    assert d.purchase_terms["w0"] == "reserved_1y + on_demand"
