"""A batch worker stated in vCPU-hours, held all month for its memory: the review prices
running it only for its work.

A payroll batch of 400 vCPU-hours a month with 15 GB was one 2-vCPU, 16 GB machine all
month, busy 27% of the time; started for its runs, two 4-vCPU machines finish it in 50
hours for about a third of the price.
"""

import pytest

from tests.engine.rows import catalog, design, network, requirements, vm

ROWS = catalog(vm("r.large", 2, 16, 0.12), vm("c.xlarge", 4, 8, 0.17), network())
#: 15 GB: what one 16 GiB machine, or two of 8 GiB, leave after their operating systems
BATCH = {"type": "worker", "vcpu_hours_per_month": 400, "memory_gb": 15}


def part_time(workload, **top):
    return design(ROWS, requirements(workload, **top)).part_time_workers


def test_a_mostly_idle_batch_worker_is_priced_for_its_work_only():
    (p,) = part_time(BATCH)
    held = 0.12 * 730  # r.large all month: 0.55 of its 2 vCPUs busy
    assert (p.held, p.utilisation) == (1, pytest.approx(400 / 730 / 2, abs=1e-3))
    # c.xlarge x 2 hold the 15 GB and run 400 / 8 = 50 h; r.large alone would run 200 h
    assert (p.sku, p.machines, p.hours) == ("c.xlarge", 2, 50.0)
    assert p.monthly_usd == pytest.approx(2 * 50 * 0.17)
    assert p.saving_usd == pytest.approx(held - 2 * 50 * 0.17, abs=0.01)


@pytest.mark.parametrize("workload", [
    {"type": "worker", "vcpu": 0.55, "memory_gb": 15},  # stated as running all month
    {**BATCH, "vcpu_hours_per_month": 1200},  # busy 82%: held for its work, not memory
    {**BATCH, "follows_traffic": True},  # drains a queue the web tier fills
])
def test_no_word_where_the_worker_runs_all_month_or_is_busy(workload):
    assert not part_time(workload)


def test_a_clusters_workers_share_its_nodes_and_are_left_alone():
    assert not part_time(BATCH, preferences={"kubernetes": "required"})


def test_the_review_says_what_running_it_for_its_work_would_cost():
    from infra_mind.engine.assess import assess

    result = assess(requirements(BATCH), ROWS)
    (cost,) = [p for p in result.review if p.pillar == "cost_optimization"]
    assert ("w0: 400 vCPU-hours a month on 1 machine held all month for its memory, busy "
            "27% of the time. Started only for its work (on a schedule or from a job "
            "queue), 2 x c.xlarge for about 50 h would cost $17.00 a month, $70.60 less."
            ) in cost.findings
