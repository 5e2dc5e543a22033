"""A design of object storage and the CDN alone (a static site, public downloads) has no
machines, databases or caches: nothing to put in private subnets, to size, or to spread
over zones; its storage service decides where the copies are.

A static site with SOC 2 paid for a NAT gateway ($32.85 on AWS, ten times the site) and
claimed "private subnets with NAT gateways"; its review said "Machines sized to peak load"
and, at 99.9%, "the design uses one zone"; SOC 2 A1.2 was a gap whose remediation asked for
a Multi-AZ database and two app instances it does not have.
"""

from __future__ import annotations

import pytest

from infra_mind.engine.assess import assess
from tests.engine.test_properties import catalog

HOMES = [("aws", "us-east-1"), ("azure", "eastus"), ("gcp", "us-central1")]
SITE = {"name": "docs", "type": "static_site", "storage_gb": 5, "egress_gb_per_month": 500}
DOWNLOADS = {"name": "downloads", "type": "object_storage", "storage_gb": 200,
             "public": True, "egress_gb_per_month": 2000}
API = {"name": "api", "type": "web_service", "peak_rps": 50, "cpu_ms_per_request": 20}


def run(provider: str, code: str, workloads: list[dict], frameworks=("soc2",)):
    return assess({"name": "storage only", "availability_target": 99.9,
                   "compliance": list(frameworks), "users": ["us"],
                   "preferences": {"providers": [provider], "regions": [code]},
                   "workloads": workloads}, catalog())


def control(result, control_id: str):
    (found,) = [c for c in result.compliance if c.control_id == control_id]
    return found


def findings(result, pillar: str) -> list[str]:
    (found,) = [p for p in result.review if p.pillar == pillar]
    return found.findings


@pytest.mark.parametrize(("provider", "code"), HOMES)
def test_no_nat_gateway_and_no_private_subnets_claimed_without_machines(provider, code):
    result = run(provider, code, [SITE, DOWNLOADS])
    assert not [li for li in result.options[0].line_items if "NAT" in li.component]
    network = control(result, "SOC2-NET-01")
    assert network.status == "met" and network.evidence.startswith("Not applicable")
    assert not any("private subnets" in f for f in findings(result, "security"))
    # an API beside the site puts machines in the network again: NAT and the claim return
    with_api = run(provider, code, [SITE, DOWNLOADS, API])
    assert [li for li in with_api.options[0].line_items if "NAT" in li.component]
    assert "private subnets" in control(with_api, "SOC2-NET-01").evidence


@pytest.mark.parametrize(("provider", "code", "met", "words"), [
    ("aws", "us-east-1", True, "at least three availability zones"),
    ("gcp", "us-central1", True, "at least two zones"),
    ("azure", "eastus", False, "locally redundant (LRS)"),
])
def test_the_storage_service_not_a_zone_count_answers_for_availability(provider, code, met,
                                                                      words):
    result = run(provider, code, [SITE, DOWNLOADS])
    recovery = control(result, "SOC2-AV-02")
    assert (recovery.status == "met") is met
    reliability = findings(result, "reliability")
    assert any(words in f for f in reliability), reliability
    assert not any("uses one zone" in f for f in reliability)
    city = {"aws": "N. Virginia", "azure": "Virginia", "gcp": "Iowa"}[provider]
    assert result.recommended.reasons[1] == f"Meets every constraint: in {city} (US)"
    if met:
        assert words in recovery.evidence
    else:
        # the remediation speaks of the storage, not of databases and app servers
        assert "ZRS" in recovery.remediation and "database" not in recovery.remediation
        assert recovery.remediation_monthly_usd is None
        assert "zone-redundant" in recovery.remediation_cost_note
    # with an API the zone count decides again, and its remediation is the control's own
    with_api = control(run(provider, code, [SITE, API]), "SOC2-AV-02")
    assert "availability zones in" in with_api.evidence


@pytest.mark.parametrize(("provider", "code"), HOMES)
def test_the_review_does_not_size_machines_the_design_lacks(provider, code):
    result = run(provider, code, [SITE], frameworks=())
    assert findings(result, "performance_efficiency") == [
        "No machines to size: object storage and the CDN scale with the requests."]
    with_api = run(provider, code, [SITE, API], frameworks=())
    assert not any("No machines" in f for f in findings(with_api, "performance_efficiency"))


def test_private_subnets_missing_from_a_design_with_machines_are_priced():
    """Without a framework the design has no private subnets; the review says so and what
    they would cost: here one NAT gateway per zone in use."""
    result = run("aws", "us-east-1", [API], frameworks=())
    (finding,) = [f for f in findings(result, "security") if "private subnets" in f]
    zones = 2  # a 99.9% web service runs one instance per zone in two zones
    nat_hour = next(r.price_usd for r in catalog().rows()
                    if r.provider == "aws" and r.region == "us-east-1"
                    and r.sku == "nat-gateway" and r.attributes.get("dimension") == "hourly")
    assert f"${nat_hour * 730 * zones:,.2f} a month: NAT gateways" in finding


def test_a_tie_in_cost_goes_to_the_region_nearer_the_users():
    """2 GB of site files cost $0.05 in Montréal and in Virginia once rounded to the cent;
    the site's users are in the US, so the origin is in the US."""
    result = assess({"name": "site", "availability_target": 99.5, "users": ["us"],
                     "preferences": {"providers": ["aws"],
                                     "regions": ["ca-central-1", "us-east-1"]},
                     "workloads": [{**SITE, "storage_gb": 2, "egress_gb_per_month": 100}]},
                    catalog())
    (option,) = result.options
    assert option.region == "us-east-1"
    # the budget's cheapest compliant option is the recommendation, not the other tied region
    budgeted = assess({"name": "site", "availability_target": 99.5, "users": ["us"],
                       "business": {"monthly_budget_usd": 50},
                       "preferences": {"providers": ["aws"],
                                       "regions": ["ca-central-1", "us-east-1"]},
                       "workloads": [{**SITE, "storage_gb": 2, "egress_gb_per_month": 100}]},
                      catalog())
    assert budgeted.budget.cheapest_compliant.region == "us-east-1"


def test_the_strategy_has_nothing_to_commit_without_hourly_parts():
    """A static site's CTO strategy said "The catalog holds no sourced commitment price for
    this design's machines": it has none."""
    from infra_mind.agents.sections import SPECS

    strategy = SPECS[("cto", "strategy")].offline
    site = run("aws", "us-east-1", [SITE, DOWNLOADS], frameworks=())
    assert strategy(site).startswith("**Nothing to commit.**")
    with_api = run("aws", "us-east-1", [SITE, API], frameworks=())
    assert not strategy(with_api).startswith("**Nothing to commit.**")


@pytest.mark.parametrize(("provider", "code"), HOMES)
def test_managed_databases_and_caches_alone_need_no_nat(provider, code):
    """A managed Postgres and cache for an on-premises app, under SOC 2: AWS and Azure
    priced NAT gateways ($65.70, $54.84) for machines the design does not have."""
    db = {"name": "erp-db", "type": "database", "storage_gb": 200}
    cache = {"name": "sessions", "type": "cache", "memory_gb": 2}
    result = run(provider, code, [db, cache])
    assert not [li for li in result.options[0].line_items if "NAT" in li.component]
    network = control(result, "SOC2-NET-01")
    assert network.status == "met" and "no machines, so no NAT gateway" in network.evidence
    without = run(provider, code, [db, cache], frameworks=())
    security = " ".join(findings(without, "security"))
    assert "Private subnets with NAT would add" not in security
    assert "behind NAT" not in security
    assert "Databases and caches are not kept to private addresses" in security
