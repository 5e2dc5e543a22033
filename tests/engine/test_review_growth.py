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
from tests.factories import lecture_platform, make_row


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
    (p90,) = [f for f in cost.findings if "P90" in f]
    assert p90.startswith(
        f"On the expected growth the cost stays within the budget for the 18 months "
        f"projected; at the projection's P90 (growth faster than expected) it passes the "
        f"budget in month {month}. Of the ")
    # over the budget on the expected growth, the review says that instead
    out = review(facts(budget_exceeded_month=4, monthly_budget_usd=1500.0), [])
    assert not any("P90" in f for f in pillar(out, "cost_optimization").findings)


def cdn_transfer(option) -> float:
    return sum(i.monthly_usd for i in option.line_items if i.component == "CDN data transfer")


def test_the_budget_finding_names_what_grows_the_cost_by_the_month_it_passes():
    """The review said "passes the budget in month 4" and nothing of why: the CDN's data
    transfer is most of the bill and grows with the students."""
    result = assess(lecture_platform(4000))
    (cost,) = [p for p in result.review if p.pillar == "cost_optimization"]
    month = next(m.month for m in result.projection if m.monthly_cost_usd > 4000)
    (finding,) = [f for f in cost.findings if "passes the budget" in f]
    rise = result.projection[month - 1].monthly_cost_usd - result.projection[0].monthly_cost_usd
    head = (f"With growth the projected cost passes the budget in month {month}. Of the "
            f"${rise:,.2f} a month it rises by month {month}, the largest part is CDN data "
            f"transfer ($")
    assert finding.startswith(head)
    cdn_rise = float(finding[len(head):].split(",")[0])
    assert 0.5 * rise < cdn_rise < rise
    assert finding.endswith(f", {cdn_rise / rise:.1%}).")


def test_over_budget_the_finding_names_the_largest_costs():
    result = assess(lecture_platform(2000))
    (option,) = result.options
    (cost,) = [p for p in result.review if p.pillar == "cost_optimization"]
    share = cdn_transfer(option) / option.monthly_cost_usd
    assert share > 2 / 3  # so it is named alone
    assert cost.findings[0] == (
        f"Monthly cost ${option.monthly_cost_usd:,.2f} against a budget of $2,000.00: "
        f"${option.monthly_cost_usd - 2000:,.2f} over budget; the largest part is CDN data "
        f"transfer (${cdn_transfer(option):,.2f}, {share:.1%}).")


def test_the_largest_parts_are_named_until_two_thirds_and_three_at_most():
    def finding(parts, cost=1000.0):
        by = tuple((name, now, now) for name, now in parts)
        out = review(facts(monthly_cost_usd=cost, monthly_budget_usd=500.0,
                           cost_by_component=by), [])
        return pillar(out, "cost_optimization").findings[0].split("; ", 1)[1]

    assert finding([("app servers of api", 500.0), ("CDN data transfer", 300.0),
                    ("object storage of media", 200.0)]) == (
        "the largest parts are app servers of api ($500.00, 50.0%) and CDN data transfer "
        "($300.00, 30.0%).")
    assert finding([("a", 250.0), ("b", 250.0), ("c", 250.0), ("d", 250.0)]) == (
        "the largest parts are a ($250.00, 25.0%), b ($250.00, 25.0%) and c ($250.00, 25.0%).")
    # nothing known of the parts: the finding ends where it did
    assert review(facts(monthly_budget_usd=500.0), [])[4].findings[0].endswith(
        "$500.00 over budget.")


def test_the_budget_holds_the_parts_its_words_are_from():
    result = assess(lecture_platform(4000))
    (option,) = result.options
    b = result.budget
    month = b.over_budget_from_month
    assert month == b.parts_month == next(m.month for m in result.projection
                                          if m.monthly_cost_usd > 4000)
    # each part sums its lines, the CDN's two price tiers one part
    by_name: dict[str, float] = {}
    for i in option.line_items:
        name = i.component + ("" if i.workload == "(shared)" else f" of {i.workload}")
        by_name[name] = by_name.get(name, 0) + i.monthly_usd
    assert {p.component: p.monthly_usd for p in b.parts} == pytest.approx(by_name)
    assert b.parts[0].component == "CDN data transfer"
    # later, the parts make up the projection's month
    assert sum(p.later_usd for p in b.parts) == pytest.approx(
        result.projection[month - 1].monthly_cost_usd, abs=0.05)
    assert b.passing_note.startswith(
        f"With the stated growth the projected cost passes the budget in month {month}. Of "
        "the ")
    # within the budget all along, nothing is said and no part is kept
    roomy = assess(lecture_platform(100_000)).budget
    assert (roomy.parts_month, roomy.parts, roomy.passing_note) == (None, [], "")


def test_a_commitment_asked_for_names_what_it_leaves_on_demand():
    """A payments gateway asked for a 1-year commitment; its HA Cloud SQL instance, 60% of
    the bill, has no term price in the catalog and was priced on demand, while the review
    said "Least-cost SKUs chosen for every demand"."""
    gateway = {"name": "gateway", "users": ["SG"], "availability_target": 99.99,
               "preferences": {"providers": ["gcp"], "commitment": "1y"},
               "workloads": [
                   {"name": "api", "type": "web_service", "peak_rps": 800, "avg_rps": 250,
                    "cpu_ms_per_request": 25, "memory_gb": 2},
                   {"name": "ledger", "type": "database", "engine": "postgres",
                    "storage_gb": 1500}]}
    result = assess(gateway)
    (option,) = result.options
    (db,) = [i for i in option.line_items if i.workload == "ledger" and i.unit == "hour"]
    assert db.purchase_option == "on_demand"
    (cost,) = [p for p in result.review if p.pillar == "cost_optimization"]
    assert cost.risk == "medium"
    assert (f"The 1-year commitment asked for leaves on demand what the catalog has no 1- or "
            f"3-year price for: {db.sku} (ledger, ${db.monthly_usd:,.2f} a month), held all "
            f"month: {db.monthly_usd / option.monthly_cost_usd:.1%} of the monthly cost. Ask the "
            f"provider for its committed rate for it.") in cost.findings
    # without a commitment asked for, the finding is the commitment's own (as before)
    out = review(facts(commitment="none", uncommitted=(("db-x", "ledger", 100.0),)), [])
    assert not any("asked for" in f for f in pillar(out, "cost_optimization").findings)
