from datetime import date

import pytest

from infra_mind.catalog.model import ProductFamily, Provider, Unit
from infra_mind.catalog.store import Catalog
from infra_mind.engine.pricing import (
    OS_MEMORY_GIB,
    choose_machines,
    machine_candidates,
    tiered_cost,
    tiered_lines,
)
from tests.factories import make_row


def egress(t0, t1, price):
    return make_row(sku="internet-egress", product_family=ProductFamily.EGRESS, unit=Unit.GB,
                    attributes={"free_gb_per_month": 100}, tier_start=t0, tier_end=t1,
                    price_usd=price)


TIERS = [egress(0.0, 10240.0, 0.09), egress(10240.0, 51200.0, 0.085),
         egress(51200.0, None, 0.07)]


def test_free_allowance_then_tiers_in_order():
    lines = tiered_lines(TIERS, 12000, workload="w", component="egress")
    assert [(li.quantity, li.unit_price_usd) for li in lines] == [(10140.0, 0.09),
                                                                   (1760.0, 0.085)]
    assert "after 100 free" in lines[0].note
    assert tiered_cost(TIERS, 12000) == round(10140 * 0.09 + 1760 * 0.085, 2)
    assert tiered_lines(TIERS, 80, workload="w", component="e") == []


def machine(sku, vcpu, mem, price, family="m5", arch="x86_64"):
    return make_row(sku=sku, price_usd=price, attributes={
        "vcpu": vcpu, "memory_gib": mem, "arch": arch, "family": family})


@pytest.fixture()
def catalog():
    return Catalog([
        machine("m.large", 2, 8, 0.10), machine("m.xlarge", 4, 16, 0.20),
        machine("c.large", 2, 4, 0.08, "c5"), machine("r.large", 2, 16, 0.13, "r5"),
        machine("g.large", 2, 8, 0.07, "m7g", "arm64"),
        machine("t3.large", 2, 8, 0.05, "t3"),  # burstable: 0.6 vCPU sustained
        machine("worse.large", 2, 4, 0.09, "x1"),  # dominated by c.large
    ], generated_at=date(2026, 11, 28))


def test_candidates_drop_dominated_and_count_burstable_baselines(catalog):
    cands = {c.row.sku: c for c in machine_candidates(catalog, Provider.AWS, "us-east-1")}
    assert "worse.large" not in cands
    assert "m.large" not in cands  # g.large has as much for less
    # a burstable machine counts its baseline (t3.large: 30% of 2 vCPUs) as what it
    # sustains, and all its vCPUs for a peak
    assert (cands["t3.large"].vcpu, cands["t3.large"].peak_vcpu) == (0.6, 2.0)
    no_arm = {c.row.sku for c in machine_candidates(catalog, Provider.AWS, "us-east-1",
                                                    allow_arm=False)}
    assert "g.large" not in no_arm and "m.large" in no_arm


def test_choose_machines_counts_and_cost(catalog):
    cands = machine_candidates(catalog, Provider.AWS, "us-east-1", allow_arm=False)
    # 5 vCPU with >= 3.5 GiB each: c.large x3 = 0.24/h beats m.xlarge x2 = 0.40/h
    choice = choose_machines(cands, vcpu=5, memory_per_instance_gib=3.5, min_count=2)
    assert (choice.row.sku, choice.count) == ("c.large", 3)
    assert choice.monthly_usd == pytest.approx(3 * 0.08 * 730)
    # 15 GiB per instance: r.large x2 (0.26/h) or m.xlarge x1 (0.20/h)
    choice = choose_machines(cands, vcpu=4, memory_per_instance_gib=15)
    assert (choice.row.sku, choice.count) == ("m.xlarge", 1)
    choice = choose_machines(cands, vcpu=2, memory_per_instance_gib=15)
    assert (choice.row.sku, choice.count) == ("r.large", 1)
    # total memory drives the count, on what each machine leaves after the OS
    choice = choose_machines(cands, vcpu=1, memory_per_instance_gib=0, total_memory_gib=40)
    assert choice.count * (choice.row.attributes["memory_gib"] - OS_MEMORY_GIB) >= 40
    assert choose_machines(cands, vcpu=1, memory_per_instance_gib=64) is None


def test_a_machine_leaves_its_service_its_memory_less_the_operating_systems(catalog):
    cands = {c.row.sku: c for c in machine_candidates(catalog, Provider.AWS, "us-east-1",
                                                      allow_arm=False)
             if c.burst is None}
    assert cands["c.large"].memory_gib == 4 - OS_MEMORY_GIB
    # a 4 GiB service does not run on a 4 GiB machine: the next with room is 8 GiB
    choice = choose_machines(list(cands.values()), vcpu=1, memory_per_instance_gib=4)
    assert choice.row.attributes["memory_gib"] == 8
    # 32 GiB in total is not two 16 GiB machines but three
    choice = choose_machines(list(cands.values()), vcpu=1, memory_per_instance_gib=0,
                             total_memory_gib=31.5)
    assert (choice.row.sku, choice.count) == ("r.large", 2)
    choice = choose_machines(list(cands.values()), vcpu=1, memory_per_instance_gib=0,
                             total_memory_gib=32)
    assert (choice.row.sku, choice.count) == ("r.large", 3)
