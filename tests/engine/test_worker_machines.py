"""A worker's memory is shared out among no more machines than it has vCPUs of work.

A UK florist's jobs worker, 60 vCPU-hours a month (0.08 vCPU) with 2 GB, was three 1 GiB
machines (0.75 GiB each after the operating system): a process split to fill machines that
run a twelfth of a vCPU. A retail ETL of 27 vCPUs and 256 GB was 34 one-vCPU machines. Each
machine now holds at least the memory of one vCPU of the work (2 GB; 256 / 28 GB).
"""

from tests.engine.rows import catalog, design, lines, network, requirements, vm

#: tiny machines are the cheapest way to add memory; c5 and r5 are not burstable
ROWS = catalog(vm("tiny.small", 1, 1, 0.004, family="c5"), vm("mid.large", 2, 4, 0.017,
               family="c5"), vm("big.xlarge", 4, 32, 0.20, family="r5"), network())


def workers(**worker):
    (line,) = lines(design(ROWS, requirements({"type": "worker", **worker})), "workers")
    return line


def test_a_small_worker_keeps_its_memory_on_one_machine():
    line = workers(vcpu_hours_per_month=60, memory_gb=2)
    assert (line.sku, line.quantity) == ("mid.large", 730)
    assert "each machine holds >= 2 GiB of the 2" in line.note


def test_memory_is_shared_out_by_the_vcpus_of_work():
    # 2 vCPUs, 3 GiB: up to two machines, each with >= 1.5 GiB; tiny ones leave 0.75
    line = workers(vcpu=2, memory_gb=3)
    assert (line.sku, line.quantity) == ("mid.large", 730)
    # 8 vCPUs, 16 GiB: eight processes of 2 GiB; a mid.large (2 vCPUs, 3.75 GiB after the
    # operating system) holds one of them, so eight machines ($0.136 an hour), not the five
    # whose totals (10 vCPUs, 18.75 GiB) looked enough; two big.xlarge ($0.40) hold four
    # each for more
    line = workers(vcpu=8, memory_gb=16)
    assert (line.sku, line.quantity) == ("mid.large", 8 * 730)
    assert "ceil(8 processes / 1))" in line.note
    assert "each machine holds >= 2 GiB of the 16 (1 process of 2 GiB)" in line.note


def test_cost_does_not_fall_when_the_work_grows():
    # found by the engine's property test: 4 vCPUs with 32 GiB had gone on machines that
    # hold one 8 GiB process each, three of them for four processes, and cost less than
    # 2 vCPUs with the same memory
    two, four = workers(vcpu=2, memory_gb=32), workers(vcpu=4, memory_gb=32)
    assert four.monthly_usd >= two.monthly_usd
