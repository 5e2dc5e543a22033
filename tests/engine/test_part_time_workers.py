"""A batch worker stated in vCPU-hours, held all month for its memory: the review prices
running it only for its work.

A payroll batch of 400 vCPU-hours a month with 15 GB was one 2-vCPU, 16 GB machine all
month, busy 27% of the time; started for its runs, the same machine finishes it in 200
hours for about a quarter of the price. The part-time machines have no more vCPUs in all
than the held ones: the requirements do not say how wide the work spreads (two 4-vCPU
machines for 50 hours had been offered, and a 64-vCPU machine for 4 hours for a billing
run held on 4 vCPUs).
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
    # r.large alone runs 400 / 2 = 200 h; c.xlarge x 2 (8 vCPUs, 50 h, $17.00) would
    # spread the work four times wider than the design runs it
    assert (p.sku, p.machines, p.hours) == ("r.large", 1, 200.0)
    assert p.monthly_usd == pytest.approx(200 * 0.12)
    assert p.saving_usd == pytest.approx(held - 200 * 0.12, abs=0.01)
    assert not p.on_cluster


@pytest.mark.parametrize("workload", [
    {"type": "worker", "vcpu": 0.55, "memory_gb": 15},  # stated as running all month
    {**BATCH, "vcpu_hours_per_month": 1200},  # busy 82%: held for its work, not memory
    {**BATCH, "follows_traffic": True},  # drains a queue the web tier fills
])
def test_no_word_where_the_worker_runs_all_month_or_is_busy(workload):
    assert not part_time(workload)


def test_on_a_cluster_the_batch_runs_as_a_job_on_a_pool_that_scales_to_zero():
    """A cluster's worker is priced on nodes of its own all month (its line), so the same
    saving holds for a Job on a node pool that scales to zero between runs; it had been
    left unsaid."""
    from infra_mind.engine.assess import assess

    # 12 GB: what a 16 GiB node leaves for pods holds it
    batch = {**BATCH, "memory_gb": 12}
    (p,) = part_time(batch, preferences={"kubernetes": "required"})
    assert p.on_cluster and p.machines == 1 and p.saving_usd > 0
    result = assess(requirements(batch, preferences={"kubernetes": "required"}), ROWS)
    (cost,) = [r for r in result.review if r.pillar == "cost_optimization"]
    (finding,) = [f for f in cost.findings if f.startswith("w0: 400 vCPU-hours")]
    assert ("on 1 node of its own held all month for its memory" in finding
            and "(as a Kubernetes Job, on a node pool that scales to zero between runs)"
            in finding), finding


def test_the_review_says_what_running_it_for_its_work_would_cost():
    from infra_mind.engine.assess import assess

    result = assess(requirements(BATCH), ROWS)
    (cost,) = [p for p in result.review if p.pillar == "cost_optimization"]
    assert ("w0: 400 vCPU-hours a month on 1 machine held all month for its memory, busy "
            "27% of the time. Started only for its work (on a schedule or from a job "
            "queue), 1 x r.large for about 200 h would cost $24.00 a month, $63.60 less."
            ) in cost.findings
