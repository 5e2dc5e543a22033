"""Review rules, growth parts and the projection band."""

from datetime import date
from pathlib import Path

import pytest

from infra_mind.catalog.model import ProductFamily, Unit
from infra_mind.engine import growth
from infra_mind.engine.assess import assess
from infra_mind.engine.facts import ArchitectureFacts, Component
from infra_mind.engine.load import load_requirements
from infra_mind.engine.result import ControlResult
from infra_mind.engine.review import PILLARS, review
from tests.factories import make_row


def facts(**over):
    base = dict(provider="aws", region="us-east-1", region_group="us", country="US",
                zones_used=2, availability_target=99.9, frameworks=("soc2",),
                residency_groups=(), capabilities={
                    "monitoring": "Amazon CloudWatch", "backups": "RDS backups",
                    "network_isolation": "NAT", "encryption_at_rest": "KMS",
                    "disaster_recovery": "copy"},
                compute_instances_min=2, monthly_cost_usd=1000.0)
    base.update(over)
    return ArchitectureFacts(**base)


def pillar(results, name):
    return next(p for p in results if p.pillar == name)


def test_six_pillars_and_a_clean_design_has_low_risk():
    out = review(facts(), [])
    assert [p.pillar for p in out] == list(PILLARS)
    assert pillar(out, "reliability").risk == "none"
    assert pillar(out, "cost_optimization").risk == "none"


def test_rules_raise_risk_with_their_reason():
    gap = ControlResult(framework="soc2", control_id="SOC2-AV-01", reference="A1.2",
                        title="Backups", status="gap", evidence="-")
    out = review(facts(zones_used=1, compute_instances_min=1, monthly_budget_usd=500.0,
                       capabilities={}, components=(Component("pg", "database", "db", False),),
                       arm64=True, has_public_endpoint=True, autoscaling_saving_usd=120.0),
                 [gap])
    assert pillar(out, "security").risk == "high"
    assert any("SOC2-AV-01" in f for f in pillar(out, "security").findings)
    rel = pillar(out, "reliability")
    assert rel.risk == "high"
    assert any("one zone" in f for f in rel.findings)
    assert any("No automated database backups" in f for f in rel.findings)
    cost = pillar(out, "cost_optimization")
    assert cost.risk == "high" and any("against a budget of $500.00" in f and "over budget" in f
                                   for f in cost.findings)
    assert any("arm64" in f for f in pillar(out, "performance_efficiency").findings)


def storage_row(price, t0=None, t1=None):
    return make_row(sku="s3", product_family=ProductFamily.OBJECT_STORAGE, unit=Unit.GB_MONTH,
                    attributes={"storage_class": "standard"}, price_usd=price, tier_start=t0,
                    tier_end=t1, as_of=date(2026, 1, 1))


def test_growth_parts():
    machines = growth.ScaledMachines(0.1, vcpu_each=2, memory_each_gib=8, vcpu_need=5,
                                     memory_need_gib=0, min_count=2)
    assert machines.count(1.0) == 3 and machines.count(0.1) == 2 and machines.count(2.0) == 5
    assert machines.cost(1, 1.0) == pytest.approx(3 * 0.1 * 730)
    assert machines.repriced(0.05).cost(1, 1.0) == pytest.approx(3 * 0.05 * 730)
    tiers = [storage_row(0.023, 0.0, 100.0), storage_row(0.02, 100.0, None)]
    stored = growth.GrowingStorage(tiers, base_gb=80, growth_gb_per_month=10, copies=1)
    assert stored.cost(1, 9.0) == pytest.approx(80 * 0.023)
    assert stored.cost(4, 1.0) == pytest.approx(100 * 0.023 + 10 * 0.02)
    assert growth.ScaledLinear(10.0).cost(3, 1.5) == 15.0
    assert not growth.Fixed(5).follows_traffic and machines.follows_traffic


def test_a_budget_the_p90_passes_is_a_risk_the_review_names():
    """saas-startup stays within its $1,500 for 18 months on its expected 8% growth, but
    its P90 reaches $1,660.72 by month 18: the review had said nothing."""
    root = Path(__file__).resolve().parents[2]
    result = assess(load_requirements(root / "examples" / "saas-startup.yaml"))
    budget = result.requirements.business.monthly_budget_usd
    assert all(m.monthly_cost_usd <= budget for m in result.projection)
    month = next(m.month for m in result.projection if m.p90 > budget)
    (cost,) = [p for p in result.review if p.pillar == "cost_optimization"]
    assert (f"On the expected growth the cost stays within the budget for the 18 months "
            f"projected; at the projection's P90 (growth faster than expected) it passes the "
            f"budget in month {month}.") in cost.findings
    # over the budget on the expected growth, the review says that instead
    out = review(facts(budget_exceeded_month=4, monthly_budget_usd=1500.0), [])
    assert not any("P90" in f for f in pillar(out, "cost_optimization").findings)
