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


#: r5a.large and r5a.2xlarge in us-east-1, as the property test met them
R5A = catalog(vm("r5a.large", 2, 16, 0.113, family="r5a"),
              vm("r5a.2xlarge", 8, 64, 0.452, family="r5a"), network())


def test_cost_does_not_fall_when_the_work_grows():
    # found by the engine's property test: 4 vCPUs with 32 GiB had gone on three r5a.large
    # (15.75 GiB each after the operating system), which hold one 8 GiB process each, and
    # cost less than 2 vCPUs with the same memory on one r5a.2xlarge
    def on_r5a(vcpu: float):
        (line,) = lines(design(R5A, requirements({"type": "worker", "vcpu": vcpu,
                                                  "memory_gb": 32})), "workers")
        return line

    two, four = on_r5a(2), on_r5a(4)
    assert (two.sku, two.quantity) == ("r5a.2xlarge", 730)
    assert four.monthly_usd >= two.monthly_usd
    assert four.quantity != 3 * 730  # three r5a.large: four processes on three machines
