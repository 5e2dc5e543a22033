"""A web service only the business's own services call (``internal: true``).

An Australian payments startup's risk-scoring API, called by its checkout API alone, was
put behind the public load balancer and its WAF: its 15 requests a second were inspected
as internet traffic, 39M requests a month at $0.60 a million. An architect puts it behind
an internal load balancer (on a cluster, its service network), away from the internet.
"""

from __future__ import annotations

import pytest

from infra_mind.engine.network import SECONDS_PER_MONTH, nat_data_gb
from infra_mind.engine.requirements import KubernetesPreference, Requirements
from infra_mind.engine.sizing import size_all
from infra_mind.engine.workloads import is_user_facing
from tests.engine.rows import catalog, design, lines, network, requirements, vm
from tests.engine.test_protection import KEYS, WAF, _pci

CHECKOUT = {"type": "web_service", "peak_rps": 400, "avg_rps": 60, "cpu_ms_per_request": 35,
            "name": "checkout"}
SCORING = {"type": "web_service", "peak_rps": 80, "avg_rps": 15, "cpu_ms_per_request": 40,
           "internal": True, "name": "scoring"}
MACHINES = [vm("c.large", 2, 4, 0.1), vm("c.xlarge", 4, 8, 0.2)]


def pci_design(*workloads, **top):
    req = _pci(*workloads)
    if top:
        req = req.model_copy(update={"preferences": req.preferences.model_copy(update=top)})
    return design(catalog(network(), MACHINES, WAF, KEYS), req)


def test_an_internal_service_is_kept_off_the_public_load_balancer_and_its_waf():
    d = pci_design(CHECKOUT, SCORING)
    (inspected,) = lines(d, "WAF requests")
    # the checkout's 60 rps alone; the scoring API's 15 had been inspected too
    assert inspected.quantity == pytest.approx(60 * SECONDS_PER_MONTH / 1e6, abs=1e-3)
    assert d.capabilities["web_application_firewall"].endswith("on the load balancer of "
                                                               "checkout")
    # its own internal load balancer (two zones at 99.9%), its capacity from its requests
    (internal,) = lines(d, "internal load balancer")
    assert internal.quantity == 730
    (units,) = lines(d, "internal load balancer capacity")
    assert "15 rps at" in units.note
    (public_units,) = lines(d, "load balancer capacity")
    assert "60 rps at" in public_units.note
    scoring = [li for li in lines(d) if li.workload == "scoring"]
    assert scoring and all(li.note.endswith("internal: reached by the other services "
                                            "through an internal load balancer")
                           for li in scoring if li.component.startswith("app servers"))
    assert [w for w, _, _ in d.public_services] == ["checkout"]


def test_on_a_cluster_the_service_network_reaches_it():
    d = pci_design(CHECKOUT, SCORING, kubernetes=KubernetesPreference.REQUIRED)
    assert not lines(d, "internal load balancer")
    (app, *_) = [li for li in lines(d) if li.workload == "scoring"]
    assert app.note.endswith("internal: reached by the other services through the "
                             "cluster's service network")


def test_one_instance_is_reached_on_its_private_address():
    small = {"type": "web_service", "peak_rps": 10, "cpu_ms_per_request": 10}
    req = requirements({**small, "internal": True}, small)
    d = design(catalog(network(), MACHINES), req)  # 99.5%: one zone, one instance each
    assert not lines(d, "internal load balancer")
    (app,) = [li for li in lines(d) if li.workload == "w0"]
    assert app.note.endswith("internal: reached by the other services on its private "
                             "address, no load balancer")


def test_an_internal_services_egress_passes_nat_and_its_users_are_not_waiting():
    scoring = {**SCORING, "egress_gb_per_month": 40}
    req = Requirements.model_validate({"name": "t", "workloads": [scoring]})
    (demand,) = size_all(req)
    assert demand.resources["internal"] is True
    assert nat_data_gb([demand]) == 40  # it calls third-party APIs itself
    # a public service's demand does not say so, as before
    public = Requirements.model_validate({"name": "t", "workloads": [CHECKOUT]})
    assert "internal" not in size_all(public)[0].resources


def test_an_estate_of_internal_services_alone_has_no_public_endpoint():
    d = design(catalog(network(), MACHINES),
               requirements({k: v for k, v in SCORING.items() if k != "name"}))
    assert not d.has_public_endpoint and not d.public_services and not d.load_balancer
    assert [w for w, _, _ in d.internal_services] == ["w0"]
    # no one waits on it: where the users are does not choose its region
    req = Requirements.model_validate({"name": "t", "workloads": [SCORING]})
    assert not is_user_facing(req.workloads[0])
    assert is_user_facing(Requirements.model_validate(
        {"name": "t", "workloads": [CHECKOUT]}).workloads[0])
