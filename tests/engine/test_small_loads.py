"""Small things cost little: burstable machines, small managed database tiers, and no
load balancer where one instance meets the target (issue #12, item 5).

Before: a $100/month nonprofit site came out at $91.45 with an ALB, an app VM and a
self-managed MySQL on c6g.large: databases had a 2-vCPU / 4-GiB floor, burstable machines
were excluded for app servers, and every public service got a load balancer.
"""

import pytest

from infra_mind.catalog.burstable import burst_of
from infra_mind.catalog.model import ProductFamily, Provider, Unit
from infra_mind.engine.pricing import Candidate, autoscaled_counts
from tests.engine.rows import catalog, design, lines, network, requirements, row, vm


def db(sku: str, vcpu: float, memory: float, price: float, engine: str = "mysql",
       deployment: str = "single"):
    return row(ProductFamily.DATABASE, sku, price, engine=engine, deployment=deployment,
               vcpu=vcpu, memory_gib=memory)


CAT = catalog(
    vm("t4g.micro", 2, 1, 0.0084), vm("t4g.small", 2, 2, 0.0168),
    vm("c7g.medium", 1, 2, 0.0363), vm("m7g.large", 2, 8, 0.0816),
    db("db.t4g.micro", 2, 1, 0.016), db("db.m6g.large", 2, 8, 0.152),
    db("db.t4g.micro", 2, 1, 0.032, deployment="ha"),
    db("db.m6g.large", 2, 8, 0.304, deployment="ha"),
    row(ProductFamily.DATABASE_STORAGE, "rds-gp3-storage", 0.115, Unit.GB_MONTH,
        engine="mysql", deployment="single"),
    row(ProductFamily.DATABASE_STORAGE, "rds-gp3-storage", 0.23, Unit.GB_MONTH,
        engine="mysql", deployment="ha"),
    network())

#: A nonprofit's site: 6 requests/s at peak, 2 on average, 50 ms of CPU each, and a 5 GB
#: MySQL database.
SITE = {"type": "web_service", "peak_rps": 6, "avg_rps": 2, "cpu_ms_per_request": 50,
        "memory_gb": 1, "egress_gb_per_month": 60}
DB = {"type": "database", "engine": "mysql", "storage_gb": 5}


def test_a_nonprofit_site_costs_tens_of_dollars_not_ninety():
    d = design(CAT, requirements(SITE, DB, availability_target=99.5))
    (app,) = lines(d, "app servers")
    # a 1 GiB site on a 2 GiB machine: a 1 GiB machine leaves 0.75 after the OS
    assert app.sku == "t4g.small" and (app.instances_min, app.instances_max) == (1, 1)
    assert "burstable" in app.note and "20% of each vCPU" in app.note
    (database,) = [li for li in lines(d) if li.workload == "w1" and li.unit == "hour"]
    assert database.sku == "db.t4g.micro" and database.component == "managed mysql (single)"
    assert not [li for li in lines(d) if "load balancer" in li.component]
    assert "health-checked public endpoint, no load balancer" in app.note
    assert d.capabilities["encryption_in_transit"].startswith("TLS terminated on the instance")
    assert 15 <= d.monthly_usd <= 40, d.monthly_usd


def test_the_load_balancer_stays_where_one_instance_is_not_enough():
    two_zones = design(CAT, requirements(SITE, availability_target=99.9))
    assert lines(two_zones, "load balancer")
    private = design(CAT, requirements(SITE, compliance=["soc2"]))
    assert lines(private, "load balancer")
    busy = design(CAT, requirements({**SITE, "peak_rps": 100, "avg_rps": 40}))
    (app,) = lines(busy, "app servers")
    assert app.instances_max > 1 and lines(busy, "load balancer")


def test_a_burstable_machine_is_counted_on_its_baseline_for_the_average():
    t4g_small = vm("t4g.small", 2, 2, 0.0168)
    burst = burst_of(t4g_small)
    c = Candidate(burst.sustained_vcpu, 2, 0.0168, t4g_small, burst.peak_vcpu, burst)
    # 20% of 2 vCPUs = 0.4 sustained: 1.0 vCPU on average needs 3, the peak only 1
    assert autoscaled_counts(c, vcpu_peak=2.0, vcpu_avg=1.0, min_count=1) == (3, 3)
    # a peak beyond what the floor bursts to: the machines above it for the peak only
    # (they had been held all month, as if credits carried a peak they cannot)
    assert autoscaled_counts(c, vcpu_peak=7.0, vcpu_avg=0.1, min_count=1) == (1, 4)
    # within the floor's burst: one count
    assert autoscaled_counts(c, vcpu_peak=3.9, vcpu_avg=0.1, min_count=2) == (2, 2)


def test_a_shared_core_fleet_adds_machines_for_the_peak_hours_only():
    """GCP's shared-core machines burst for moments only (peak = baseline): a German
    booking API peaking at 60 rps x 30 ms (3 vCPU at the 60% target) for 4 hours a day
    was three e2-medium all month ($94.54); two, and a third for the peak hours, carry it."""
    cat = catalog(vm("e2-medium", 2, 4, 0.04316778, family="e2", provider=Provider.GCP),
                  network(Provider.GCP))
    api = {"type": "web_service", "peak_rps": 60, "avg_rps": 8, "cpu_ms_per_request": 30}
    (app,) = lines(design(cat, requirements(api, provider="gcp", availability_target=99.9)),
                   "app servers")
    assert (app.instances_min, app.instances_max) == (2, 3)
    assert app.quantity == pytest.approx(2 * 730 + 4 * 730 / 24, abs=0.01)
    assert app.monthly_usd == pytest.approx(68.28, abs=0.01)
    assert app.note.endswith("floor = max(2, ceil(0.40 vCPU avg / 1 baseline)) = 2; peak = "
                             "ceil(3.00 vCPU peak / 1) = 3 for 4 h a day")


@pytest.mark.parametrize(("provider", "sku", "vcpu", "sustained", "peak"), [
    (Provider.AWS, "t3.micro", 2, 0.2, 2.0),       # 10% of each vCPU, bursts on credits
    (Provider.AWS, "t4g.large", 2, 0.6, 2.0),      # 30%
    (Provider.AZURE, "Standard_B1ms", 1, 0.2, 1.0),  # 20% of one vCPU, banked credits
    (Provider.AZURE, "Standard_B2s", 2, 0.4, 2.0),
    (Provider.GCP, "e2-micro", 2, 0.25, 0.25),     # shared core: no sustained burst
    (Provider.GCP, "e2-medium", 2, 1.0, 1.0),
])
def test_published_baselines(provider, sku, vcpu, sustained, peak):
    b = burst_of(vm(sku, vcpu, 1, 0.01, family=sku.split(".")[0], provider=provider))
    assert (b.sustained_vcpu, b.peak_vcpu) == pytest.approx((sustained, peak))


def test_a_burstable_family_without_a_sourced_baseline_is_never_chosen():
    cat = catalog(vm("t3.nano2", 2, 4, 0.001, family="t3"), vm("c7g.medium", 1, 2, 0.0363),
                  network())
    (app,) = lines(design(cat, requirements(SITE)), "app servers")
    assert app.sku == "c7g.medium"


def test_a_database_with_stated_sustained_cpu_skips_a_tier_whose_baseline_is_lower():
    d = design(CAT, requirements({**DB, "vcpu": 1, "memory_gb": 1}))
    (database,) = [li for li in lines(d) if li.unit == "hour"]
    assert database.sku == "db.m6g.large"  # db.t4g.micro sustains only 0.2 vCPU


def test_burstable_machines_are_for_small_loads_only():
    # 30 vCPU at average: t4g.small's baseline would need 75 of them; an autoscaled fleet of
    # ordinary machines serves it without CPU-credit accounting
    big = {**SITE, "peak_rps": 600, "avg_rps": 360}
    (app,) = lines(design(CAT, requirements(big)), "app servers")
    assert not app.sku.startswith("t4g") and app.instances_max > app.instances_min


def test_a_managed_database_is_billed_its_smallest_storage_allocation():
    d = design(CAT, requirements(DB))
    (storage,) = lines(d, "database storage")
    assert storage.quantity == 20  # 5 GB stored; RDS allocates at least 20 GiB
    assert "billed at the 20 GB minimum allocation" in storage.note


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_an_azure_database_with_a_standby_is_never_burstable(engine):
    """Azure flexible servers offer no high availability on the Burstable tier; a small
    database at 99.9% had two B1ms priced as primary and standby (real catalog)."""
    from infra_mind.engine.assess import assess
    from tests.engine.test_properties import catalog as real_catalog

    def db_line(target: float):
        req = {"name": "small", "availability_target": target,
               "preferences": {"providers": ["azure"], "regions": ["eastus"]},
               "workloads": [{"name": "db", "type": "database", "engine": engine,
                              "storage_gb": 10}]}
        (option,) = assess(req, real_catalog()).options
        return next(li for li in option.line_items if li.component.startswith("managed"))

    ha = db_line(99.9)
    assert ha.component == f"managed {engine} (HA)"
    assert not ha.sku.startswith("Standard_B") and "burstable" not in ha.note
    single = db_line(99.5)  # without a standby the Burstable tier is the right size
    assert single.sku.startswith("Standard_B") and "burstable" in single.note
