"""Billing models as the providers bill (issue #12, item 7).

Before: GCP Cloud NAT was charged as gateways per zone ($65-98 a month) instead of per
VM-hour plus data (~$13); the ALB counted one new connection per request (800 LCU,
$4,672 a month, where ~55 is realistic with keep-alive); the projection scaled a
fixed-size worker with traffic (saas-startup: month 2 added a second worker at 8% growth).
"""

import pytest

from infra_mind.catalog.model import ProductFamily, Provider, Unit
from infra_mind.engine import network as net
from infra_mind.engine import projection
from infra_mind.engine.sizing import size_all
from tests.engine.rows import catalog, design, lines, network, requirements, row, vm

GCP = Provider.GCP


def cloud_nat(vm_hour: bool = True):
    rows = [row(ProductFamily.NAT_GATEWAY, "cloud-nat", 0.0448, provider=GCP,
                dimension="hourly", basis_note="gateway hour at the 32-VM cap"),
            row(ProductFamily.NAT_GATEWAY, "cloud-nat-data", 0.045, Unit.GB, provider=GCP,
                dimension="data")]
    if vm_hour:
        rows.append(row(ProductFamily.NAT_GATEWAY, "cloud-nat-vm", 0.0014, provider=GCP,
                        dimension="vm_hour"))
    return rows


GCP_VMS = [vm("e2-standard-2", 2, 8, 0.067, provider=GCP, family="e2", arch="x86_64")]
WORKER = {"type": "worker", "vcpu": 2, "memory_gb": 4, "egress_gb_per_month": 100}


def test_cloud_nat_is_billed_per_vm_hour_and_data_not_per_zone():
    d = design(catalog(GCP_VMS, cloud_nat()),
               requirements(WORKER, provider="gcp", compliance=["soc2"],
                            availability_target=99.9))
    assert not lines(d, "NAT gateways")  # before: one $0.0448/h gateway per zone
    (per_vm,) = lines(d, "Cloud NAT (per VM)")
    assert per_vm.quantity == pytest.approx(730)  # one VM behind it all month
    assert per_vm.monthly_usd == pytest.approx(730 * 0.0014, abs=0.01)
    (data,) = lines(d, "NAT data processed")
    assert data.quantity == 100  # the worker's own outbound traffic


def test_cloud_nat_is_capped_per_gateway_from_32_vms():
    big = {**WORKER, "vcpu": 80}  # 40 e2-standard-2
    d = design(catalog(GCP_VMS, cloud_nat()), requirements(big, provider="gcp",
                                                            compliance=["soc2"]))
    (cap,) = lines(d, "Cloud NAT (gateway cap)")
    assert cap.quantity == 730 and cap.unit_price_usd == 0.0448


def test_cloud_nat_without_a_per_vm_price_is_unpriced_not_guessed():
    d = design(catalog(GCP_VMS, cloud_nat(vm_hour=False)),
               requirements(WORKER, provider="gcp", compliance=["soc2"]))
    assert any("Cloud NAT per-VM charge" in u for u in d.unpriced)
    assert not lines(d, "Cloud NAT (gateway cap)")


def test_cloud_nat_per_vm_charge_counts_in_the_machine_choice():
    # two machines of 2 vCPU cost $0.0100 an hour less than one of 4 vCPU, but each
    # VM-hour adds $0.0110 of Cloud NAT: one larger machine is cheaper in all. Before,
    # the choice ignored NAT, so more traffic could buy a cheaper design (a property
    # test found it: fewer, larger machines after growth, a smaller NAT bill)
    vms = [vm("n2d-highcpu-2", 2, 2, 0.0400, provider=GCP, family="n2d", arch="x86_64"),
           vm("c3d-highcpu-4", 4, 8, 0.0900, provider=GCP, family="c3d", arch="x86_64")]
    rows = [*cloud_nat(vm_hour=False),
            row(ProductFamily.NAT_GATEWAY, "cloud-nat-vm", 0.0110, provider=GCP,
                dimension="vm_hour")]
    # 3.5 GiB: what two 2 GiB machines leave after their operating systems
    worker = {**WORKER, "vcpu": 4, "memory_gb": 3.5, "egress_gb_per_month": 0}
    d = design(catalog(vms, rows), requirements(worker, provider="gcp", compliance=["soc2"]))
    (machines,) = lines(d, "workers")
    assert machines.sku == "c3d-highcpu-4" and machines.quantity == 730
    without_nat = design(catalog(vms, rows), requirements(worker, provider="gcp"))
    (machines,) = lines(without_nat, "workers")
    assert machines.sku == "n2d-highcpu-2" and machines.quantity == 2 * 730


def test_aws_nat_is_one_gateway_per_zone_plus_the_data_workers_send():
    api = {"type": "web_service", "peak_rps": 10}
    d = design(catalog(vm("c.large", 2, 4, 0.1), network()),
               requirements(api, WORKER, compliance=["soc2"], availability_target=99.9))
    (gateways,) = lines(d, "NAT gateways")
    assert d.zones_used == 2 and gateways.quantity == 2 * 730
    (data,) = lines(d, "NAT data processed")
    assert data.quantity == 100


def test_alb_capacity_counts_connections_kept_alive():
    api = {"type": "web_service", "peak_rps": 40000, "avg_rps": 20000,
           "cpu_ms_per_request": 3, "memory_gb": 2, "egress_gb_per_month": 1500}
    d = design(catalog(vm("c.xlarge", 4, 8, 0.2), network()),
               requirements(api, availability_target=99.9))
    (lcu,) = lines(d, "load balancer capacity")
    # 20,000 rps / 20 requests a connection = 1,000 new connections/s = 40 LCU; before,
    # one connection a request: 800 LCU
    new_per_s = 20000 / net.REQUESTS_PER_CONNECTION
    assert lcu.quantity == pytest.approx(new_per_s / 25 * 730)
    assert lcu.quantity / 730 == pytest.approx(40)
    assert "20 requests a connection (keep-alive)" in lcu.note


@pytest.mark.parametrize(("provider", "stated", "both"), [
    (GCP, "inbound", False),  # stated on the row
    (GCP, None, False),       # Google Cloud bills the data its load balancers receive
    (Provider.AZURE, None, True)])  # Azure: data processed both ways
def test_load_balancer_data_is_billed_the_way_the_provider_bills_it(provider, stated, both):
    extra = {"direction": stated} if stated else {}
    data = row(ProductFamily.LOAD_BALANCER, "lb-data", 0.008, Unit.GB, provider=provider,
               dimension="data", **extra)
    hourly = row(ProductFamily.LOAD_BALANCER, "lb-rule", 0.025, provider=provider,
                 dimension="hourly", rules_included=5)
    machine = vm("x2", 2, 8, 0.067, provider=provider, family="x", arch="x86_64")
    api = {"type": "web_service", "peak_rps": 300, "avg_rps": 100, "cpu_ms_per_request": 2,
           "egress_gb_per_month": 5000}
    d = design(catalog(machine, data, hourly),
               requirements(api, provider=provider.value, availability_target=99.9))
    (line,) = lines(d, "load balancer data processed")
    received = 100 * 730 * 3600 * net.AVG_REQUEST_BYTES / 1e9
    assert line.quantity == pytest.approx(received + (5000 if both else 0))


def test_a_fixed_size_worker_does_not_grow_with_traffic():
    cat = catalog(vm("c.large", 2, 4, 0.1), network())
    growth = {"growth_rate_monthly": 0.08, "horizon_months": 3}
    fixed = design(cat, requirements(WORKER, business=growth))
    months = projection.project(fixed, 0.08, 3, "seed")
    # before: 2 vCPU x 1.08 needed a second 2-vCPU machine in month 2
    assert [m.monthly_cost_usd for m in months] == [fixed.monthly_usd] * 3
    follows = design(cat, requirements({**WORKER, "follows_traffic": True}, business=growth))
    months = projection.project(follows, 0.08, 3, "seed")
    assert months[1].monthly_cost_usd > months[0].monthly_cost_usd


def test_a_nat_quote_prices_what_private_subnets_would_add_without_changing_the_design():
    d = design(catalog(GCP_VMS, cloud_nat()), requirements(WORKER, provider="gcp"))
    total = d.monthly_usd
    cost, what = net.nat_quote(catalog(GCP_VMS, cloud_nat()), d, size_all(
        requirements(WORKER, provider="gcp")))
    assert cost == pytest.approx(730 * 0.0014 + 100 * 0.045, abs=0.01)
    assert "Cloud NAT (per VM)" in what and d.monthly_usd == total
