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
    # 8 vCPUs, 16 GiB: 2 GiB each at least; mid.large (3.75 GiB) x 5 holds it
    line = workers(vcpu=8, memory_gb=16)
    assert (line.sku, line.quantity) == ("mid.large", 5 * 730)
