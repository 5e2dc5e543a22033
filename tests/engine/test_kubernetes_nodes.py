"""A Kubernetes cluster's nodes are sized on what they leave for pods.

The examples' Kubernetes designs put 4 GiB pods on 4 GiB nodes (eu-fintech's payments API
on m6g.medium, the marketplace's seller portal) and 2 GiB pods on 2 GiB nodes: EKS keeps
674 MiB of an m6g.medium for itself, so those pods would never have been scheduled.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra_mind.engine import kubernetes
from infra_mind.engine.assess import assess
from tests.engine.test_properties import catalog

GIB_MIB = 1024


@pytest.mark.parametrize(("provider", "vcpu", "millicores"), [
    # EKS and GKE: 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% above
    ("aws", 1, 60), ("aws", 2, 70), ("aws", 4, 80), ("aws", 8, 90), ("gcp", 16, 110),
    # AKS's table, and the straight line between its sizes
    ("azure", 1, 60), ("azure", 2, 100), ("azure", 8, 180), ("azure", 64, 740),
    ("azure", 48, 580), ("azure", 96, 1060),
])
def test_reserved_cpu_is_each_providers_own(provider, vcpu, millicores):
    assert kubernetes.reserved_vcpu(provider, vcpu) * 1000 == pytest.approx(millicores)


@pytest.mark.parametrize(("provider", "sku", "memory_gib", "reserved_mib"), [
    # EKS: 11 MiB x the type's pod limit + 255 MiB, and 100 MiB kept free for eviction
    ("aws", "m6g.medium", 4, 11 * 8 + 255 + 100),
    ("aws", "m5.large", 8, 11 * 29 + 255 + 100),
    ("aws", "t4g.small", 2, 11 * 11 + 255 + 100),
    ("aws", "not-a-listed.type", 8, 11 * 110 + 255 + 100),
    # GKE's ladder: 150 GiB keeps 9.76 GiB, plus the 100 MiB (9.8577 GiB in all)
    ("gcp", "n2-highmem-20", 150, (1 + 0.8 + 0.8 + 6.72 + 0.44) * GIB_MIB + 100),
    ("gcp", "e2-micro", 0.5, 255 + 100),
    # AKS: the lesser of 20 x 250 pods + 50 and a quarter of the memory
    ("azure", "Standard_D2s_v5", 8, 2 * GIB_MIB + 100),
    ("azure", "Standard_E16s_v5", 128, 20 * 250 + 50 + 100),
])
def test_reserved_memory_is_each_providers_own(provider, sku, memory_gib, reserved_mib):
    got = kubernetes.reserved_memory_gib(provider, sku, memory_gib) * GIB_MIB
    assert got == pytest.approx(reserved_mib)


def test_every_aws_machine_the_catalog_prices_has_its_pod_limit():
    """A catalog refresh that adds an instance type must add its row to the EKS table
    (data/eks-max-pods-*.csv), or its nodes count the kubelet's default of 110 pods."""
    skus = {r.sku for r in catalog().rows() if r.provider == "aws"
            and r.product_family == "compute" and "gpu_count" not in r.attributes}
    assert skus and not skus - set(kubernetes.eks_max_pods())


def _design(provider: str, kubernetes_pref: str, memory_gb: float):
    api = {"name": "api", "type": "web_service", "peak_rps": 40, "cpu_ms_per_request": 20,
           "memory_gb": memory_gb}
    worker = {"name": "jobs", "type": "worker", "vcpu": 1, "memory_gb": memory_gb}
    return assess({"name": "nodes", "availability_target": 99.9, "users": ["us"],
                   "preferences": {"providers": [provider], "kubernetes": kubernetes_pref,
                                   "regions": [{"aws": "us-east-1", "azure": "eastus",
                                                "gcp": "us-central1"}[provider]]},
                   "workloads": [api, worker]}, catalog())


@pytest.mark.parametrize("provider", ["aws", "azure", "gcp"])
@pytest.mark.parametrize("memory_gb", [2.0, 4.0])
def test_a_pod_never_lands_on_a_node_it_does_not_fit(provider, memory_gb):
    rows = {r.sku: r for r in catalog().rows() if r.provider == provider
            and r.product_family == "compute"}
    result = _design(provider, "required", memory_gb)
    (option,) = result.options
    (api,) = [li for li in option.line_items if li.workload == "api"
              and li.component.startswith("app servers")][:1]
    row = rows[api.sku]
    left = float(row.attributes["memory_gib"]) - kubernetes.reserved_memory_gib(
        provider, api.sku, float(row.attributes["memory_gib"]))
    assert left >= memory_gb
    assert "allocatable as a Kubernetes node" in api.note
    # the same service on plain machines may use the whole machine, and says nothing of pods
    plain = _design(provider, "avoid", memory_gb).options[0]
    assert not any("allocatable" in li.note for li in plain.line_items)


def test_a_batch_gpu_job_is_not_an_always_on_service_that_calls_for_a_cluster():
    """A radiology team's API, its always-on classifier and a 72-hour monthly retraining
    run were counted three always-on services, and designed on Kubernetes."""
    retrain = {"name": "retrain", "type": "worker", "vcpu": 8, "memory_gb": 64,
               "gpu": {"count": 1, "memory_gb": 40, "hours_per_month": 72}}
    req = {"name": "radiology", "users": ["us"], "preferences": {"providers": ["aws"]},
           "workloads": [
               {"name": "api", "type": "web_service", "peak_rps": 20, "avg_rps": 5,
                "cpu_ms_per_request": 50},
               {"name": "classifier", "type": "worker", "vcpu": 4, "memory_gb": 16,
                "gpu": {"count": 1, "memory_gb": 16}},
               retrain]}

    def control_plane(requirements):
        return [li for li in assess(requirements, catalog()).options[0].line_items
                if li.component == "Kubernetes control plane"]

    assert control_plane(req) == []
    all_month = {**req, "workloads": [*req["workloads"][:2],
                                      {**retrain, "gpu": {**retrain["gpu"],
                                                          "hours_per_month": 730}}]}
    (plane,) = control_plane(all_month)
    assert plane.note.endswith("preferences.kubernetes: auto, and 3 always-on services (at "
                               "least 3) share the cluster: api, classifier, retrain")


def test_the_review_says_why_a_cluster_what_its_plane_costs_and_the_design_without_it():
    """"Is Kubernetes worth it for us?" had no figure to answer with: the review said only
    that a cluster adds upgrades to run. It now says why the design has one, what the
    control plane costs, and what the same services cost on machines without it."""
    doc = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples"
                          / "marketplace-platform.yaml").read_text(encoding="utf-8"))
    result = assess(doc, catalog())
    first = result.options[0]
    plane = next(li for li in first.line_items if li.component == "Kubernetes control plane")
    pinned = {**doc, "preferences": {**doc.get("preferences", {}), "kubernetes": "avoid",
                                     "providers": [first.provider], "regions": [first.region]}}
    without = assess(pinned, catalog()).options[0]
    assert not any(li.component == "Kubernetes control plane" for li in without.line_items)
    less = round(first.monthly_cost_usd - without.monthly_cost_usd, 2)
    assert less > 0
    (ops,) = [p for p in result.review if p.pillar == "operational_excellence"]
    (finding,) = [f for f in ops.findings if f.startswith("Kubernetes adds")]
    assert (f"Why a cluster: preferences.kubernetes: auto, and 4 always-on services (at least "
            f"3) share the cluster: buyer-api, seller-portal, search-indexer, payouts-worker. "
            f"Its control plane costs ${plane.monthly_usd:,.2f} a month. The same services on "
            f"machines behind the load balancer (preferences.kubernetes: avoid) would cost "
            f"${less:,.2f} a month less ("
            f"{less / first.monthly_cost_usd:.1%} of the total).") in finding


def test_cpu_batch_work_is_not_an_always_on_service_that_calls_for_a_cluster():
    """A smart-meter firm's ingest API, its dashboard API and a nightly billing run (240
    vCPU-hours a month, 16 GB) were counted three always-on services and designed on
    Kubernetes; the billing run keeps even two vCPUs busy 8% of the month."""
    billing = {"name": "billing-batch", "type": "worker", "vcpu_hours_per_month": 240,
               "memory_gb": 16}
    req = {"name": "gridpulse", "users": ["us"], "availability_target": 99.9,
           "preferences": {"providers": ["aws"]},
           "workloads": [
               {"name": "ingest-api", "type": "web_service", "peak_rps": 600,
                "avg_rps": 230, "cpu_ms_per_request": 4},
               {"name": "dashboard-api", "type": "web_service", "peak_rps": 40,
                "avg_rps": 5, "cpu_ms_per_request": 50},
               billing]}
    result = assess(req, catalog())
    first = result.options[0]
    assert not [li for li in first.line_items if li.component == "Kubernetes control plane"]
    # the operational review says why there is no cluster
    (ops,) = [p for p in result.review if p.pillar == "operational_excellence"]
    assert ("No Kubernetes cluster (preferences.kubernetes: auto): 2 always-on services "
            "(ingest-api, dashboard-api), fewer than the 3 at which sharing a cluster pays "
            "for its control plane and its upgrades; they run on machines of their own. "
            "Batch work (billing-batch) is not counted: it keeps its machines busy under "
            "half the month.") in ops.findings
    # the review prices running it for its work instead of holding its machine
    (cost,) = [p for p in result.review if p.pillar == "cost_optimization"]
    assert any(f.startswith("billing-batch: 240 vCPU-hours a month on 1 machine held all "
                            "month for its memory") for f in cost.findings), cost.findings
    # the same work spread over the month (1,460 vCPU-hours: 2 vCPU with 16 GB, its two
    # vCPUs busy all month) is an always-on service, and the third makes a cluster
    steady = {**req, "workloads": [*req["workloads"][:2],
                                   {**billing, "vcpu_hours_per_month": 1460}]}
    (plane,) = [li for li in assess(steady, catalog()).options[0].line_items
                if li.component == "Kubernetes control plane"]
    assert plane.note.endswith("share the cluster: ingest-api, dashboard-api, billing-batch")
