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


def committed(reserved_price: float, **over):
    """The API at 99.9% on a 1-year commitment, the machine reserved at ``reserved_price``
    against $0.10 on demand: the design and its one fleet line."""
    reserved = vm("c.large", 2, 4, reserved_price, option=PurchaseOption.RESERVED_1Y)
    cat = catalog(vm("c.large", 2, 4, 0.10), reserved, network())
    d = design(cat, requirements(api(**over), availability_target=99.9,
                                 preferences={"commitment": "1y"}))
    (app,) = [li for li in lines(d) if li.workload == "w0"]
    return d, app


def test_a_committed_fleet_held_at_its_peak_is_one_line_named_as_the_fleet():
    # average = peak: the floor is the peak (5 machines), nothing runs only at peak; the
    # line was called "app servers (floor)" with no peak line beside it
    _, app = committed(0.06, avg_rps=100)
    assert (app.component, app.purchase_option, app.quantity) == (
        "app servers", "reserved_1y", 5 * 730)


def test_a_peak_far_above_what_the_floor_carries_is_named_with_the_price_of_holding_it():
    # peak 200 rps x 60 ms / 0.6 = 20 vCPU (10 machines); average 5 rps: the floor is the
    # 2 machines of 99.9%, which carry 2 x 2 vCPU / 0.06 vCPU-s = 66.7 requests/s flat out
    burst = requirements(api(peak_rps=200, avg_rps=5, peak_hours_per_day=1),
                         availability_target=99.9)
    d = design(CAT, burst)
    (app,) = lines(d, "app servers")
    assert (app.instances_min, app.instances_max) == (2, 10)
    (sudden,) = d.sudden_peaks
    assert (sudden.workload, sudden.floor, sudden.peak) == (app.workload, 2, 10)
    assert (sudden.floor_rps, sudden.peak_rps) == (67, 200)
    # the 8 machines above the floor for the hours they are not already running
    assert sudden.hold_peak_usd == pytest.approx(8 * (730 - 730 / 24) * 0.10, abs=0.01)
    # a ramp the floor carries half of at full CPU (100 against 66.7 x 2) is not named
    assert design(CAT, requirements(api(peak_hours_per_day=6), availability_target=99.9)
                  ).sudden_peaks == []
    # nor a peak held all month
    assert design(CAT, requirements(api(peak_rps=200, avg_rps=5, peak_hours_per_day=24),
                                    availability_target=99.9)).sudden_peaks == []


def test_the_review_names_a_sudden_peak_and_what_each_answer_costs():
    from infra_mind.engine.assess import assess
    from tests.engine.test_properties import catalog as real_catalog

    result = assess({"name": "news", "users": ["us"], "preferences": {"providers": ["aws"]},
                     "workloads": [{"name": "news-api", "type": "web_service",
                                    "peak_rps": 4000, "avg_rps": 150,
                                    "cpu_ms_per_request": 8, "peak_hours_per_day": 1}]},
                    real_catalog())
    performance = next(p for p in result.review if p.pillar == "performance_efficiency")
    assert performance.risk == "medium"
    (text,) = [f for f in performance.findings if f.startswith("news-api: its floor of ")]
    (app,) = [li for li in result.options[0].line_items if li.component == "app servers"]
    assert f"its floor of {app.instances_min} machines" in text
    assert f"hold the {app.instances_max} peak machines all month" in text
    assert "against a peak of 4,000" in text and "Scale out on a schedule" in text


def test_a_fleet_held_at_its_peak_for_its_commitment_is_not_called_under_used():
    # reserved at $0.03 against $0.10 on demand: 5 machines all month ($109.50) cost less
    # than a floor of 2 reserved and 3 on demand for 10 h a day ($43.80 + $91.25)
    d, app = committed(0.03, peak_hours_per_day=10)
    assert (app.instances_min, app.instances_max) == (5, 5)
    (held,) = d.held_peaks
    assert (held.workload, held.machines, held.floor, held.term) == ("w0", 5, 2, "reserved_1y")
    assert (held.peak_hours_a_day, held.vcpu_avg, held.vcpu) == (10, 2, 2)
    assert d.underutilised == []
    # on demand the same service scales, and a floor of 2 at 2 of 4 vCPUs is not idle either
    scaled = design(CAT, requirements(api(peak_hours_per_day=10), availability_target=99.9))
    assert scaled.held_peaks == [] and scaled.underutilised == []


def test_the_review_says_why_a_committed_fleet_holds_its_peak():
    from infra_mind.engine.assess import assess
    from tests.engine.test_properties import catalog as real_catalog

    # a German insurer's claims portal, committed for 3 years: the review had called it
    # under-used ("At average load these services use under 30% of their capacity")
    result = assess({"name": "claims", "users": ["DE"], "availability_target": 99.95,
                     "preferences": {"providers": ["azure"], "commitment": "3y"},
                     "workloads": [{"name": "claims-portal", "type": "web_service",
                                    "peak_rps": 150, "avg_rps": 30, "cpu_ms_per_request": 40,
                                    "memory_gb": 4, "peak_hours_per_day": 10}]},
                    real_catalog())
    (app,) = [li for li in result.options[0].line_items if li.component == "app servers"]
    assert app.purchase_option == "reserved_3y"
    assert app.instances_min == app.instances_max == 5
    performance = next(p for p in result.review if p.pillar == "performance_efficiency")
    assert not any("under 30%" in f for f in performance.findings)
    assert ("claims-portal holds its 5 peak machines all month: reserved for 3 years, they "
            "cost less than adding 3 on demand above a floor of 2 for 10 h a day. At average "
            "load it needs 2 of their 10 vCPUs, and a peak finds them running."
            ) in performance.findings
