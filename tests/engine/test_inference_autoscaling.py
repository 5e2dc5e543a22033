"""A served model scales between its average and its peak, as web tiers do.

A legal-research assistant streams 600 tokens/s at its peak, 8 hours a day, and 150 on
average: three L40S machines ran all month ($4,323.06 in Stockholm) where two carry
everything outside the peak hours.
"""

import math

import pytest
from pydantic import ValidationError

from infra_mind.catalog.model import PurchaseOption
from infra_mind.engine import projection
from infra_mind.engine.requirements import MlInference
from tests.engine.rows import catalog, design, gpu, lines, network, requirements

R1 = PurchaseOption.RESERVED_1Y
#: 20 requests in flight at the peak (600 / 30 tokens/s); an L40S-class replica holds 8
LLM = {"type": "ml_inference", "model_params_b": 8, "precision": "int8",
       "peak_tokens_per_sec": 600, "context_tokens": 16384, "avg_prompt_tokens": 6000,
       "avg_output_tokens": 500}
AVERAGE = {"avg_tokens_per_sec": 150, "peak_hours_per_day": 8}
PEAK_HOURS = 8 * 730 / 24


def serving(*rows, **top):
    return design(catalog(*rows, network()),
                  requirements(*top.pop("workloads"), availability_target=99.9, **top))


def test_without_an_average_the_peaks_replicas_run_all_month():
    d = serving(gpu("l40s.1g", 1, "L40S", 48, 1.974), workloads=[LLM])
    (item,) = lines(d, "inference GPUs")
    assert item.quantity == 3 * 730 and item.instances_min is None


def test_with_an_average_the_floor_runs_all_month_and_the_peak_for_its_hours():
    d = serving(gpu("l40s.1g", 1, "L40S", 48, 1.974), workloads=[{**LLM, **AVERAGE}])
    (item,) = lines(d, "inference GPUs")
    # the average needs one replica (150 of 270 tokens/s); 99.9% keeps two
    assert (item.instances_min, item.instances_max) == (2, 3)
    assert item.quantity == pytest.approx(2 * 730 + 1 * PEAK_HOURS, abs=0.01)
    assert item.monthly_usd == pytest.approx(item.quantity * 1.974, abs=0.01)
    assert "floor = max(2, ceil(150 tokens/s average / 270 a replica)) = 2" in item.note
    # the projection's first month is the line, and traffic re-counts floor and peak
    (part,) = [pl.part for pl in d.lines if pl.item.workload == "w0"]
    assert part.cost(1, 1.0) == item.monthly_usd
    assert part.counts(4.0) == (3, 9)  # 600 tokens/s average, 2,400 at peak (270 a replica)
    assert projection.project(d, 0.0, 2, "seed")[0].monthly_cost_usd == d.monthly_usd


def test_under_a_commitment_the_floor_is_committed_and_the_peak_on_demand():
    d = serving(gpu("l40s.1g", 1, "L40S", 48, 1.974),
                gpu("l40s.1g", 1, "L40S", 48, 1.2, option=R1),
                workloads=[{**LLM, **AVERAGE}], preferences={"commitment": "1y"})
    (floor,) = lines(d, "inference GPUs (floor)")
    (peak,) = lines(d, "inference GPUs (peak)")
    assert (floor.purchase_option, floor.quantity, floor.unit_price_usd) == (
        "reserved_1y", 2 * 730, 1.2)
    assert (peak.purchase_option, peak.unit_price_usd) == ("on_demand", 1.974)
    assert peak.quantity == pytest.approx(PEAK_HOURS, abs=0.01)
    committed_hours = sum(pl.always_on_hours for pl in d.lines if pl.item.workload == "w0")
    assert committed_hours == 2 * 730  # a commitment covers the floor only


def test_an_average_above_the_peak_is_refused():
    with pytest.raises(ValidationError, match="avg_tokens_per_sec must not exceed"):
        MlInference.model_validate({**LLM, "name": "llm", "avg_tokens_per_sec": 601})


def test_an_average_at_the_peak_changes_nothing():
    at_peak = serving(gpu("l40s.1g", 1, "L40S", 48, 1.974),
                      workloads=[{**LLM, "avg_tokens_per_sec": 600}])
    plain = serving(gpu("l40s.1g", 1, "L40S", 48, 1.974), workloads=[LLM])
    assert at_peak.monthly_usd == plain.monthly_usd
    assert math.isclose(lines(at_peak)[0].quantity, 3 * 730)


def test_the_review_says_the_peaks_gpu_machines_take_minutes_to_join():
    from infra_mind.engine.assess import assess
    from tests.engine.test_properties import catalog as bundled

    def performance(llm):
        result = assess({"name": "rag", "availability_target": 99.9, "users": ["us"],
                         "preferences": {"providers": ["aws"], "regions": ["us-east-1"]},
                         "workloads": [{"name": "llm", **llm}]}, bundled())
        (pillar,) = [p for p in result.review if p.pillar == "performance_efficiency"]
        return " ".join(pillar.findings)

    assert "llm: the GPU machines added for the peak hours each start and load 8 GB" in \
        performance({**LLM, **AVERAGE})
    assert "GPU machines added" not in performance(LLM)


def test_the_availability_lever_names_the_gpu_machines_it_gives_up():
    """One L40S at the least instead of two was most of the 99.5% lever's saving, and its
    "gives up" named only the zone and the database."""
    from infra_mind.engine.assess import assess

    result = assess(requirements({**LLM, **AVERAGE}, availability_target=99.9,
                                 business={"monthly_budget_usd": 1000}),
                    catalog(gpu("l40s.1g", 1, "L40S", 48, 1.974), network()))
    (lever,) = [lv for lv in result.budget.levers if lv.setting == "availability_target"]
    assert "1 GPU machine serving w0 at the least instead of 2" in lever.gives_up
    assert lever.gives_up.endswith("a zone or machine failure can stop the service until it "
                                   "is restored")
